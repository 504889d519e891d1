"""`evaluate`: frozen-embedding probes of a catalog model on a labelled collection, with k-fold intervals.

Writes `results.json` (scores, per-class F1, confusion, the whole protocol), `confusion.png` and `summary.md`
into the output folder, each atomically.

Default layers (`TRANSFER_LAYERS`), one choice per model, after musicnn's advice that its pooled layer and
taggram transfer best: the temporally pooled layer and the penultimate dense layer for the musicnn family and
multiscale, the last two pooling blocks for vgg, the per-frame features and the last recurrent state for crnn.
"""

import json
import platform
import time
from pathlib import Path

import numpy as np

from zoo import __version__
from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.checks import positive_integer
from musiczoo_runtime.contract import DEFAULT_MODEL, DEFAULT_WEIGHTS
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.machine import cpu_name
from zoo.models.catalog import card
from zoo.training.embeddings import POOLING, RANDOM_SEED, embed, feature_matrix, weights_key
from zoo.training.probes import PROBES, cross_validate, folds, read_clips

TRANSFER_LAYERS = {
    "timbral": ("max_pool", "penultimate"),
    "temporal": ("max_pool", "penultimate"),
    "timbral_temporal": ("max_pool", "penultimate"),
    "multiscale": ("max_pool", "penultimate"),
    "vgg": ("pool4", "pool5"),
    "crnn": ("frame_features", "gru2"),
}
DEFAULT_FOLDS = 5
DEFAULT_SEED = 0


def transfer_layers(model):
    """The layers `evaluate` probes by default for `model` (its last feature layer if none was chosen)."""
    return list(TRANSFER_LAYERS.get(model) or list(card(model, None).feature_layers)[-1:])


def _versions():
    import keras
    import sklearn
    import tensorflow as tf

    return {"musiczoo": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "scikit-learn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version()}


def evaluate(data, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, out_dir=None, layers=None, layout="auto",
             n_folds=DEFAULT_FOLDS, seed=DEFAULT_SEED, batch_size=8, runtime="auto", progress=True):
    """Scores a model's frozen embeddings on labelled clips with linear and MLP probes under k-fold CV.

    Args:
        data: a folder or CSV in any layout `musiczoo finetune` reads, or a CSV with a header
            `path,label,group` (or `artist`): then no group is on both sides of a fold.
        model: catalog name.
        weights: weight tag, `.weights.h5` file, or None for the random-initialisation floor.
        out_dir: where results.json, confusion.png and summary.md go (None: nothing written).
        layers: feature layers (default `transfer_layers(model)`); each clip's rows are pooled by mean and max.
        layout: "auto" or one of `zoo.training.datasets.LAYOUTS`.
        n_folds: cross-validation folds.
        seed: fold shuffling and MLP initialisation.
        batch_size, runtime: as in `zoo.extract_many`.
        progress: a progress bar on stderr.

    Returns:
        dict: the contents of results.json.

    Raises:
        ZooError: unreadable data, an unknown layer, too few clips per class for the folds, or every file bad.
    """
    positive_integer(n_folds, "folds")
    if n_folds < 2:
        raise ZooError(f"folds must be at least 2, not {n_folds}")
    info = card(model, None)
    layers = list(layers or transfer_layers(model))
    unknown = [name for name in layers if name not in info.feature_layers]
    if unknown:
        raise ZooError(f"{model} has no feature layer {unknown[0]!r}; choose from {', '.join(info.feature_layers)}")
    clips = read_clips(data, layout)
    started = time.perf_counter()
    embeddings, failures, extracted = embed(clips.paths, model, weights, layers, batch_size, runtime, progress)
    extraction_seconds = time.perf_counter() - started
    keep = [i for i, path in enumerate(clips.paths) if path in embeddings]
    if not keep:
        raise ZooError(f"{data}: no file could be read ({len(failures)} failed; first: {next(iter(failures.values()))})")
    paths = [clips.paths[i] for i in keep]
    labels = [clips.labels[i] for i in keep]
    groups = None if clips.groups is None else [clips.groups[i] for i in keep]
    splits = folds(labels, groups, n_folds, seed)
    started = time.perf_counter()
    scores = cross_validate(feature_matrix(embeddings, paths), labels, splits, seed)
    probe_seconds = time.perf_counter() - started
    classes, counts = np.unique(labels, return_counts=True)

    results = {
        "task": {"data": str(data), "layout": clips.layout, "clips": len(paths),
                 "classes": dict(zip(classes.tolist(), counts.tolist())), "chance": float(counts.max() / len(paths)),
                 "groups": None if groups is None else len(set(groups)),
                 "skipped": [{"path": str(path), "error": str(error)} for path, error in failures.items()]},
        "model": model, "weights": None if weights is None else str(weights),
        "scores": scores,
        "protocol": {
            "layers": layers, "feature_dimension": int(sum(2 * info.feature_layers[name] for name in layers)),
            "pooling": list(POOLING), "standardised": True, "probes": PROBES, "folds": n_folds, "seed": seed,
            "cross_validation": "StratifiedKFold" if groups is None else "StratifiedGroupKFold",
            "random_weights_seed": RANDOM_SEED if weights is None else None,
            "versions": _versions(), "cpu": cpu_name(),
        },
        "timing": {"extraction_seconds": round(extraction_seconds, 2), "files_extracted": extracted,
                   "probe_seconds": round(probe_seconds, 2)},
    }
    if out_dir is not None:
        write(results, Path(out_dir))
    return results


def write(results, out_dir):
    """results.json, confusion.png and summary.md in `out_dir`, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot_confusion(results, out_dir / "confusion.png")
    with atomic_path(out_dir / "summary.md") as tmp:
        tmp.write_text(summary(results), encoding="utf-8")


def plot_confusion(results, path):
    """One panel per probe: out-of-fold predictions over all folds, rows normalised to the true class."""
    from zoo.outputs.figures import plt, save_figure

    classes = list(results["task"]["classes"])
    size = max(4.0, 0.45 * len(classes) + 2.5)
    figure, axes = plt.subplots(1, len(results["scores"]), figsize=(size * len(results["scores"]), size),
                                squeeze=False)
    for axis, (name, score) in zip(axes[0], results["scores"].items()):
        counts = np.asarray(score["confusion"], dtype=float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (row, column), count in np.ndenumerate(counts):
            axis.text(column, row, int(count), ha="center", va="center", fontsize=7,
                      color="white" if shares[row, column] > 0.6 else "black")
        axis.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
        axis.set_yticks(range(len(classes)), classes, fontsize=8)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        accuracy = score["accuracy"]
        axis.set_title(f"{name}: accuracy {accuracy['mean']:.3f} "
                       f"[{accuracy['low']:.3f}, {accuracy['high']:.3f}]", fontsize=9)
    weights = weights_key(None) if results["weights"] is None else results["weights"]
    figure.suptitle(f"{results['model']} ({weights}), {', '.join(results['protocol']['layers'])}: "
                    f"{results['protocol']['folds']}-fold out-of-fold predictions", fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.95))  # room for the title above the panels' own
    save_figure(figure, path, dpi=110, bbox_inches="tight")


def summary(results):
    """A short Markdown page of the scores and the protocol."""
    task, protocol = results["task"], results["protocol"]
    lines = [f"# {results['model']} ({results['weights'] or 'random initialisation'}) on {task['data']}", "",
             f"{task['clips']} clips, {len(task['classes'])} classes (chance {task['chance']:.3f}); "
             f"{protocol['folds']}-fold {protocol['cross_validation']}, seed {protocol['seed']}; layers "
             f"{', '.join(protocol['layers'])} pooled by {' and '.join(protocol['pooling'])}, standardised.", "",
             "| probe | accuracy (95% interval) | macro-F1 (95% interval) |", "| --- | --- | --- |"]
    for name, score in results["scores"].items():
        cells = [f"{score[key]['mean']:.3f} [{score[key]['low']:.3f}, {score[key]['high']:.3f}]"
                 for key in ("accuracy", "macro_f1")]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines += ["", "Per-class F1 (logistic / mlp):", ""]
    for label in task["classes"]:
        lines.append(f"- {label}: " + " / ".join(f"{score['per_class_f1'][label]:.3f}"
                                                 for score in results["scores"].values()))
    if task["skipped"]:
        lines += ["", f"Skipped {len(task['skipped'])} file(s):", ""]
        lines += [f"- {item['error']}" for item in task["skipped"]]
    lines += ["", f"CPU: {protocol['cpu']}; versions: " + ", ".join(f"{k} {v}" for k, v in protocol["versions"].items()),
              ""]
    return "\n".join(lines)
