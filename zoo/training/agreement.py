"""How closely a model's tags agree with a teacher's, on the test split of a distillation corpus.

Protocol (patch level, 3 s patches of the corpus's test split):
- macro ROC-AUC of the model's probabilities against the teacher's tags
  binarised at 0.5, over the tags that have both classes in the split
  (the number used is reported);
- the same with each tag binarised at its own top-10 % quantile of the
  teacher's probabilities (so every tag has positives);
- mean absolute difference of the probabilities;
- parameter count and inference speed in patches/s relative to the teacher.

Run it as `musiczoo agreement --corpus $CORPUS --cache $CACHE --teacher-weights mtt
--models timbral temporal crnn vgg --json results.json`.
"""

import time

import numpy as np

from musiczoo_runtime.contract import DEFAULT_WEIGHTS
from musiczoo_runtime.errors import ZooError
from zoo.inference.api import patch_function
from zoo.models.catalog import spec
from zoo.models.loading import load
from zoo.training.corpus import MAX_PATCHES_PER_FILE, TEACHER
from zoo.training.patch_cache import PatchCache, file_patches

TOP_FRACTION = 0.10
SPEED_PATCHES = 128
BATCH_SIZE = 32


def roc_auc(scores, labels):
    """ROC-AUC of `scores` `[n]` for boolean `labels` `[n]` (ties count half).

    Returns:
        float in [0, 1], or nan when `labels` hold a single class.
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def macro_roc_auc(scores, labels):
    """Mean ROC-AUC over the columns of `scores` / `labels` `[n, tags]` that hold both classes.

    Returns:
        (macro ROC-AUC or nan, number of tags used).
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ZooError(f"scores and labels must both be [n, tags]; got {scores.shape} and {labels.shape}")
    values = [roc_auc(scores[:, j], labels[:, j]) for j in range(scores.shape[1])]
    used = [v for v in values if not np.isnan(v)]
    return (float(np.mean(used)) if used else float("nan")), len(used)


def top_fraction_labels(teacher, fraction=TOP_FRACTION):
    """Booleans `[n, tags]`: each tag positive where the teacher's probability is in its top `fraction`."""
    teacher = np.asarray(teacher)
    return teacher >= np.quantile(teacher, 1.0 - fraction, axis=0, keepdims=True)


def agreement(student, teacher):
    """Agreement metrics of student probabilities with teacher probabilities, both `[patches, tags]`.

    Returns:
        dict with roc_auc_at_0.5, tags_used_at_0.5, roc_auc_top10, tags_used_top10,
        mean_abs_difference and patches.
    """
    student, teacher = np.asarray(student, np.float64), np.asarray(teacher, np.float64)
    if student.shape != teacher.shape:
        raise ZooError(f"student and teacher probabilities differ in shape: {student.shape} vs {teacher.shape}")
    auc_half, used_half = macro_roc_auc(student, teacher >= 0.5)
    auc_top, used_top = macro_roc_auc(student, top_fraction_labels(teacher))
    return {
        "roc_auc_at_0.5": round(auc_half, 4),
        "tags_used_at_0.5": used_half,
        "roc_auc_top10": round(auc_top, 4),
        "tags_used_top10": used_top,
        "mean_abs_difference": round(float(np.mean(np.abs(student - teacher))), 4),
        "patches": int(len(student)),
    }


def predict(model, patches, batch_size=BATCH_SIZE):
    """Probabilities `[n, tags]` of a log-mel-input model over patches `[n, frames, 96]` (any float dtype)."""
    function = patch_function(model, frames=None)
    out = [function(np.asarray(patches[i:i + batch_size], np.float32)).numpy()
           for i in range(0, len(patches), batch_size)]
    return np.concatenate(out)


def patches_per_second(model, patches, batch_size=BATCH_SIZE, repeats=3):
    """Best-of-`repeats` inference speed of a log-mel-input model, in patches per second."""
    function = patch_function(model, frames=None)
    batches = [np.asarray(patches[i:i + batch_size], np.float32) for i in range(0, len(patches), batch_size)]
    function(batches[0])
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            function(batch).numpy()
        best = max(best, len(patches) / (time.perf_counter() - start))
    return best


def compare(models, teacher_model, logmel, teacher_probabilities):
    """Agreement rows for log-mel-input models against a teacher on the same patches.

    Args:
        models: {label: keras model} to measure.
        teacher_model: the teacher (for the relative speed).
        logmel: test patches `[n, 187, 96]`.
        teacher_probabilities: the teacher's probabilities `[n, tags]`.

    Returns:
        {label: metrics dict with params, patches_per_second and relative_speed}.
    """
    sample = logmel[: min(SPEED_PATCHES, len(logmel))]
    teacher_speed = patches_per_second(teacher_model, sample)
    rows = {}
    for label, model in models.items():
        speed = patches_per_second(model, sample)
        rows[label] = {
            **agreement(predict(model, logmel), teacher_probabilities),
            "params": int(model.count_params()),
            "patches_per_second": round(speed, 1),
            "relative_speed": round(speed / teacher_speed, 2),
        }
    return rows


def clip_level(models, teacher_model, paths, max_patches=20):
    """Clip-level agreement: each model runs once over a clip's whole log-mel; the teacher is averaged over patches.

    Args:
        models: {label: log-mel-input model built with input_seconds=None}.
        teacher_model: the patch teacher.
        paths: audio files (e.g. the test split's).
        max_patches: use at most this many 3 s patches (from the start) of each clip.

    Returns:
        {label: agreement metrics over clips}.
    """
    sequences, teacher_clips = [], []
    for path in paths:
        patches = np.stack([patch for _, patch in file_patches(path)[0][:max_patches]])
        sequences.append(patches.reshape(-1, patches.shape[-1]))  # 3 s hops: consecutive patches tile the clip
        teacher_clips.append(predict(teacher_model, patches).mean(axis=0))
    teacher_clips = np.stack(teacher_clips)
    return {label: agreement(np.concatenate([predict(model, s[None]) for s in sequences]), teacher_clips)
            for label, model in models.items()}


def markdown(results):
    """A Markdown table of `{teacher weights: {label: metrics}}`."""
    lines = [
        "| model | tag space | ROC-AUC vs teacher @0.5 (tags) | ROC-AUC vs teacher top-10% | mean abs. diff. "
        "| parameters | speed vs teacher |",
        "|---|---|---|---|---|---|---|",
    ]
    for space, rows in results.items():
        for label, r in rows.items():
            lines.append(
                f"| {label} | {space} | {r['roc_auc_at_0.5']:.4f} ({r['tags_used_at_0.5']}) | {r['roc_auc_top10']:.4f} "
                f"| {r['mean_abs_difference']:.4f} | {r['params']:,} | {r['relative_speed']:.2f}x |"
            )
    return "\n".join(lines)


def measure(corpus, cache=None, teacher=TEACHER, spaces=(DEFAULT_WEIGHTS,),
            models=("timbral", "temporal", "crnn", "vgg"), clip_models=(), max_patches_per_file=MAX_PATCHES_PER_FILE,
            log=print):
    """Agreement of catalog models with the teacher on a corpus's test split, for each tag space.

    Args:
        corpus: corpus folder (see `zoo.training.corpus.corpus_rows`).
        cache: patch cache root (None for the default).
        teacher: catalog name of the teacher.
        spaces: tag spaces (teacher weight tags) to measure.
        models: catalog names (measured with their pretrained weights of each space) or "NAME=PATH.h5".
        clip_models: models also measured clip by clip, one pass over each whole test clip.
        max_patches_per_file: as in `PatchCache.for_corpus`.
        log: printer of skipped models.

    Returns:
        ({space: {model: metrics}} per patch, {space: {model: metrics}} per clip).
    """
    cached = PatchCache.for_corpus(corpus, cache, max_patches_per_file=max_patches_per_file)
    test = cached.indices("test")
    if len(test) == 0:
        raise ZooError(f"the corpus {corpus} has no test patches")
    results, clips = {}, {}
    for space in spaces:
        teacher_model = load(teacher, weights=space, include_frontend=False)
        targets = cached.teacher_outputs(teacher, space)["probabilities"]
        measured = {}
        for entry in models:
            name, _, path = entry.partition("=")
            if not path and space not in spec(name).weights:
                log(f"{name} has no {space} weights: skipped")
                continue
            measured[name] = load(name, weights=path or space, include_frontend=False)
        results[space] = compare(measured, teacher_model, cached.logmel[test], targets[test])
        whole = {name: load(name, weights=space, include_frontend=False, input_seconds=None)
                 for name in clip_models if space in spec(name).weights}
        if whole:
            files = sorted({cached.rows[i]["path"] for i in cached.file_index[test]})
            clips[space] = clip_level(whole, teacher_model, files)
    return results, clips
