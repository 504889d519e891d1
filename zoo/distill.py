"""Knowledge distillation: train a zoo model to reproduce a teacher's tags on unlabeled audio.

Usage (a corpus from `weights/build_corpus.py`, or any folder of audio files):

    python -m zoo.distill --corpus /work/corpus --student timbral --teacher-weights mtt --out weights/

Steps, each cached outside the repository (default `~/.cache/musiczoo/distill`,
`MUSICZOO_CACHE` moves it) so later students reuse them:
1. every file is cut into 3 s log-mel patches with the zoo front end and the
   patching of `zoo.tag` (hop 3 s, final partial patch repeated); at most
   `max_patches_per_file` evenly spaced patches are kept per file; the
   patches are stored once as a memory-mapped `.npy`;
2. the teacher's probabilities per patch (the soft targets) and the outputs
   of its front-end branches (`timbral`, `temporal`) are cached likewise;
3. the student starts from the teacher's layers of the same name: equal
   shapes are copied, and layers that only differ by the dropped front-end
   branch (mid-end input, back-end batch norm and dense) take the teacher's
   rows of the channels the student keeps;
4. when the student's front-end branch is copied whole it stays frozen, so
   only the rest is trained, on the cached branch outputs (an exact shortcut:
   the branch computes the same values in the student); otherwise the whole
   student trains on the log-mel patches;
5. binary cross-entropy on the soft targets, Adam, early stopping on the
   validation loss (best weights restored), an optional time budget;
6. agreement with the teacher on the test split (`zoo.agreement`), then the
   weight file `<student>.<tag>.weights.h5` and its manifest entry (added to
   `<out>/manifest.json` when it lists the student, else `<student>.<tag>.card.json`).

Splits come from the corpus manifest (`split` column) or, for a plain folder,
from the sha256 of each file's path: by track, never by patch.
"""

import argparse
import contextlib
import csv
import hashlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

import keras
import numpy as np

from zoo import agreement
from zoo import audio as audio_io
from zoo.atomic import atomic_path
from zoo.batches import RowBatches
from zoo.errors import ZooError
from zoo.frontend import FRONTEND_CONFIG, N_MELS, frames_in
from zoo.pipeline import PATCH_SECONDS, stream_patches
from zoo.registry import build, card, load, tag_spaces
from zoo.weights import file_fields, load_weights, save_weights, sha256_of, weighted_layers

TEACHER = "timbral_temporal"
BRANCHES = ("timbral", "temporal")
DEFAULT_CACHE = Path(os.environ.get("MUSICZOO_CACHE", Path.home() / ".cache" / "musiczoo")) / "distill"
MAX_PATCHES_PER_FILE = 20
SPLITS = (("train", 80), ("validation", 90), ("test", 100))
CACHE_VERSION = 1
BATCH_SIZE = 32


def split_of(track):
    """Deterministic split of a track id: 'train' (80 %), 'validation' (10 %) or 'test' (10 %) by its sha256."""
    bucket = int(hashlib.sha256(str(track).encode("utf-8")).hexdigest()[:8], 16) % 100
    return next(name for name, limit in SPLITS if bucket < limit)


def corpus_rows(corpus):
    """The files of a corpus: rows with path, track, split, source, license, duration (may be None).

    Args:
        corpus: a folder with `manifest.csv` (as written by build_corpus.py), or any folder of audio
            files (each file is its own track, its split comes from its relative path).

    Raises:
        ZooError: the folder is missing or holds no audio.
    """
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise ZooError(f"corpus folder {corpus} does not exist")
    listing = corpus / "manifest.csv"
    if listing.exists():
        with open(listing, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        missing = {"path", "track"} - set(rows[0] if rows else {})
        if missing:
            raise ZooError(f"{listing} lacks the column(s) {', '.join(sorted(missing))}")
        for row in rows:
            row["path"] = str(corpus / row["path"]) if not Path(row["path"]).is_absolute() else row["path"]
            row["split"] = row.get("split") or split_of(row["track"])
            row["duration"] = float(row["duration"]) if row.get("duration") else None
    else:
        paths = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in audio_io.EXTENSIONS and p.is_file())
        rows = []
        for path in paths:
            relative = path.relative_to(corpus).as_posix()
            rows.append({"path": str(path), "track": relative, "split": split_of(relative),
                         "source": relative.split("/")[0] if "/" in relative else corpus.name,
                         "license": "unknown", "duration": None})
    if not rows:
        raise ZooError(f"no audio files in {corpus} (supported: {', '.join(audio_io.EXTENSIONS)})")
    bad = sorted({row["split"] for row in rows} - {name for name, _ in SPLITS})
    if bad:
        raise ZooError(f"{listing}: unknown split(s) {', '.join(bad)}; use train, validation or test")
    return rows


def file_patches(path, hop_seconds=PATCH_SECONDS):
    """The tagging patches of an audio file, streamed through the zoo front end.

    Returns:
        (list of (start frame, patch `[187, 96]`), log-mel frames in the file).
    """
    counter = {}
    found = list(stream_patches(audio_io.open_file(path), hop_seconds, "repeat", audio_io.BLOCK_SECONDS, counter))
    return found, counter["frames"]


def _spread(count, limit):
    """Indices of at most `limit` evenly spaced items out of `count`."""
    if limit is None or count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def _save_npy_atomically(path, shape, dtype, fill):
    """Creates `path` as a `.npy` of `shape`, filled by `fill(memmap)`, renamed into place only when done."""
    with atomic_path(path) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
        fill(array)
        array.flush()
        del array


def _copy_raw(raw, array):
    """Copies a raw float32 file into `array` (a memmap of the same shape), block by block."""
    source = np.memmap(raw, dtype=np.float32, mode="r", shape=array.shape)
    for start in range(0, len(array), 1024):
        array[start:start + 1024] = source[start:start + 1024]


class PatchCache:
    """Log-mel patches of a corpus computed once, plus cached teacher outputs, all memory-mapped.

    Attributes:
        folder: the cache folder of this corpus and patching.
        rows: the corpus files (see `corpus_rows`), each with `patches` kept and `skipped` reason.
        logmel: `[patches, 187, 96]` float32 memmap.
        file_index: `[patches]` row of each patch.
        starts: `[patches]` start frame of each patch in its file.
        split: `[patches]` split name of each patch.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        index = json.loads((self.folder / "index.json").read_text(encoding="utf-8"))
        self.rows = index["rows"]
        self.settings = index["settings"]
        self.file_index = np.load(self.folder / "file_index.npy")
        self.starts = np.load(self.folder / "starts.npy")
        self.logmel = np.load(self.folder / "logmel.npy", mmap_mode="r")
        self.split = np.asarray([self.rows[i]["split"] for i in self.file_index])

    @classmethod
    def build(cls, corpus, cache_root=DEFAULT_CACHE, hop_seconds=PATCH_SECONDS,
              max_patches_per_file=MAX_PATCHES_PER_FILE, log=print):
        """Returns the cache of `corpus`, computing the log-mel patches only if no identical cache exists.

        Args:
            corpus: corpus folder (see `corpus_rows`).
            cache_root: folder holding the caches (outside the repository).
            hop_seconds: seconds between patch starts (3.0: the tagging default).
            max_patches_per_file: keep at most this many evenly spaced patches per file (None: all).
            log: progress printer.
        """
        rows = [row for row in corpus_rows(corpus) if Path(row["path"]).is_file()]
        if not rows:
            raise ZooError(f"none of the files listed by the corpus {corpus} exist")
        settings = {"version": CACHE_VERSION, "frontend": FRONTEND_CONFIG, "patch_seconds": PATCH_SECONDS,
                    "hop_seconds": hop_seconds, "last_patch": "repeat", "max_patches_per_file": max_patches_per_file}
        identity = [[r["path"], r["track"], r["split"], Path(r["path"]).stat().st_size] for r in rows]
        key = hashlib.sha256(json.dumps([settings, identity]).encode()).hexdigest()[:16]
        folder = Path(cache_root) / key
        if (folder / "index.json").exists():
            cache = cls(folder)
            current = {row["path"]: row for row in rows}  # descriptive columns may have been corrected
            for row in cache.rows:
                row.update({k: v for k, v in current[row["path"]].items() if v is not None})
            return cache
        folder.mkdir(parents=True, exist_ok=True)
        log(f"computing log-mel patches of {len(rows)} files into {folder}")
        raw = folder / "logmel.partial"
        file_index, starts = [], []
        with open(raw, "wb") as handle:
            for number, row in enumerate(rows):
                try:
                    found, n_frames = file_patches(row["path"], hop_seconds)
                except ZooError as error:
                    row["skipped"], row["patches"] = str(error), 0
                    log(f"  skipped: {error}")
                    continue
                keep = _spread(len(found), max_patches_per_file)
                for i in keep:
                    handle.write(np.ascontiguousarray(found[i][1], np.float32).tobytes())
                    file_index.append(number)
                    starts.append(found[i][0])
                row["patches"] = len(keep)
                row["duration"] = row["duration"] or n_frames * FRONTEND_CONFIG["hop_length"] / 16000
                if number % 50 == 0:
                    log(f"  {number + 1}/{len(rows)} files, {len(file_index)} patches")
        if not file_index:
            raise ZooError(f"no file of the corpus {corpus} could be decoded")
        shape = (len(file_index), frames_in(PATCH_SECONDS), N_MELS)
        _save_npy_atomically(folder / "logmel.npy", shape, np.float32, lambda array: _copy_raw(raw, array))
        raw.unlink()
        np.save(folder / "file_index.npy", np.asarray(file_index, np.int32))
        np.save(folder / "starts.npy", np.asarray(starts, np.int64))
        with atomic_path(folder / "index.json") as tmp:
            tmp.write_text(json.dumps({"settings": settings, "corpus": str(corpus), "rows": rows}, indent=1),
                           encoding="utf-8")
        return cls(folder)

    def indices(self, split):
        """Patch indices `[n]` of a split ('train', 'validation' or 'test')."""
        return np.flatnonzero(self.split == split)

    def teacher_outputs(self, teacher=TEACHER, weights="mtt", batch_size=64, log=print):
        """The teacher's per-patch probabilities and front-end branch outputs, computed once.

        Args:
            teacher: catalog name of the teacher.
            weights: its weight tag or a path to a weight file.
            batch_size: patches per forward pass.
            log: progress printer.

        Returns:
            dict: "probabilities" `[patches, tags]` float32, and for each branch the
            teacher has ("timbral", "temporal"), its output `[patches, 187, F]` float16; memmaps.
        """
        model = load(teacher, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
        names = ["probabilities"] + [b for b in BRANCHES if b in {layer.name for layer in model.layers}]
        outputs = [model.output] + [model.get_layer(name).output for name in names[1:]]
        stem = f"{teacher}.{_weights_id(teacher, weights)}"
        paths = {name: self.folder / "teachers" / f"{stem}.{name}.npy" for name in names}
        if not all(path.exists() for path in paths.values()):
            log(f"computing {teacher} {weights} outputs for {len(self.logmel)} patches")
            extractor = keras.Model(model.inputs, outputs)
            function = _inference_function(extractor)
            n = len(self.logmel)
            with _OutputFiles(paths, n, outputs) as arrays:
                started = time.perf_counter()
                for start in range(0, n, batch_size):
                    values = function(np.asarray(self.logmel[start:start + batch_size]))
                    for name, value in zip(names, values):
                        arrays[name][start:start + batch_size] = value.numpy()
                    if (start // batch_size) % 50 == 0:
                        log(f"  {start + batch_size}/{n} patches, {time.perf_counter() - started:.0f} s")
        return {name: np.load(path, mmap_mode="r") for name, path in paths.items()}


class _OutputFiles:
    """Context manager: `.npy` memmaps for teacher outputs, renamed into place only if all complete."""

    def __init__(self, paths, n, outputs):
        self.paths, self.n, self.outputs = paths, n, outputs

    def __enter__(self):
        self.arrays, self.tmps = {}, {}
        for (name, path), output in zip(self.paths.items(), self.outputs):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.tmps[name] = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
            dtype = np.float32 if name == "probabilities" else np.float16
            self.arrays[name] = np.lib.format.open_memmap(self.tmps[name], mode="w+", dtype=dtype,
                                                          shape=(self.n, *output.shape[1:]))
        return self.arrays

    def __exit__(self, kind, value, traceback):
        for array in self.arrays.values():
            array.flush()
        self.arrays.clear()
        for name, tmp in self.tmps.items():
            if kind is None:
                os.replace(tmp, self.paths[name])
            else:
                tmp.unlink(missing_ok=True)
        return False


def _weights_id(model, weights):
    """A short stable id of a weight tag or file (its sha256 prefix)."""
    if isinstance(weights, (str, Path)) and str(weights).endswith(".h5"):
        return sha256_of(weights)[:12]
    return f"{weights}-{card(model, weights)['sha256'][:12]}"


def _inference_function(model):
    """`model` in inference mode as a tf.function taking any float batch."""
    import tensorflow as tf

    return tf.function(lambda x: model(tf.cast(x, tf.float32), training=False))


def _channel_maps(teacher, student):
    """Teacher channel index of every student channel, keyed by the teacher's width, for musicnn layouts.

    The front-end features are the concatenated branches; the mid-end appends three 64-filter
    convolutions; the back-end pools max then mean. A student keeping some branches keeps
    their channels and all mid-end channels.

    Returns:
        {teacher width: student->teacher index array}, empty when the two do not share the layout.
    """
    teacher_names = {layer.name for layer in teacher.layers}
    student_names = {layer.name for layer in student.layers}
    if "midend" not in teacher_names or "midend" not in student_names:
        return {}
    offset, front = 0, []
    for branch in BRANCHES:
        if branch not in teacher_names:
            continue
        width = teacher.get_layer(branch).output.shape[-1]
        if branch in student_names:
            front.append(np.arange(offset, offset + width))
        offset += width
    front = np.concatenate(front)
    midend_width = teacher.get_layer("midend").output.shape[-1]
    midend = np.concatenate([front, np.arange(offset, midend_width)])
    return {offset: front, 2 * midend_width: np.concatenate([midend, midend_width + midend])}


def transfer(teacher, student):
    """Initialises `student` from `teacher` layers of the same name.

    Equal shapes are copied; a variable differing on one axis whose teacher width is a known
    musicnn feature layout takes the rows of the channels the student keeps.

    Returns:
        {layer name: "copied" or "sliced"} of the layers set.
    """
    maps = _channel_maps(teacher, student)
    source = {layer.name: layer for layer in weighted_layers(teacher)}
    done = {}
    for layer in weighted_layers(student):
        if layer.name not in source or len(source[layer.name].weights) != len(layer.weights):
            continue
        values, how = [], "copied"
        for mine, theirs in zip(layer.weights, source[layer.name].weights):
            value = np.asarray(theirs.numpy())
            if tuple(mine.shape) != value.shape:
                differ = [a for a, (m, t) in enumerate(zip(mine.shape, value.shape)) if m != t]
                index = maps.get(value.shape[differ[0]]) if len(mine.shape) == value.ndim and len(differ) == 1 else None
                if index is None or len(index) != mine.shape[differ[0]]:
                    break
                value, how = np.take(value, index, axis=differ[0]), "sliced"
            values.append(value)
        else:
            layer.set_weights(values)
            done[layer.name] = how
    return done


def _frozen_cut(student, transferred, cached):
    """The cached branch layer below which every weighted student layer was copied whole, or None."""
    names = {layer.name for layer in student.layers}
    for branch in BRANCHES:
        if branch in names and branch in cached:
            below = weighted_layers(keras.Model(student.inputs, student.get_layer(branch).output))
            if all(transferred.get(layer.name) == "copied" for layer in below):
                return branch
    return None


class _TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch during which `minutes` ran out.

    Whole epochs only, so a budgeted run equals an `epochs=N` run with the same N.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.started = time.perf_counter()
        self.hit = False

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds is not None and time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = self.hit = True


def corpus_summary(cache):
    """Hours, sources, licenses and patches per split of the files a cache holds."""
    used = [row for row in cache.rows if row.get("patches")]
    sources = {}
    for row in used:
        entry = sources.setdefault(row.get("source") or "unknown", {"hours": 0.0, "files": 0, "licenses": []})
        entry["hours"] += (row["duration"] or 0) / 3600
        entry["files"] += 1
        if row.get("license", "unknown") not in entry["licenses"]:
            entry["licenses"].append(row.get("license", "unknown"))
    for entry in sources.values():
        entry["hours"] = round(entry["hours"], 3)
    patches = {name: int((cache.split == name).sum()) for name, _ in SPLITS}
    return {
        "hours": round(sum(e["hours"] for e in sources.values()), 3),
        "patch_hours": round(len(cache.logmel) * PATCH_SECONDS / 3600, 3),
        "files": len(used),
        "tracks": len({row["track"] for row in used}),
        "patches": patches,
        "max_patches_per_file": cache.settings["max_patches_per_file"],
        "sources": sources,
        "mir1k": any(row.get("source") == "mir1k" for row in used),
    }


@contextlib.contextmanager
def _op_determinism():
    """Enables TensorFlow's deterministic ops for a block, then restores the process's previous setting."""
    from tensorflow.python.framework import config  # the public API can only enable it

    was_enabled = config.is_op_determinism_enabled()
    config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_enabled:
            config.disable_op_determinism()


def distill(corpus, student, teacher_weights="mtt", out="weights", *, teacher=TEACHER, cache=DEFAULT_CACHE,
            epochs=40, batch_size=BATCH_SIZE, learning_rate=1e-3, patience=4, max_minutes=None, seed=0,
            max_patches_per_file=MAX_PATCHES_PER_FILE, init=None, command=None, log=print):
    """Distils `teacher` (with `teacher_weights`) into the catalog model `student` on a corpus.

    Args:
        corpus: corpus folder (see `corpus_rows`).
        student: catalog name of the student.
        teacher_weights: teacher weight tag ("mtt", "msd"); also the student's tag.
        out: folder of the weight file (and of `manifest.json` if it has one).
        teacher: catalog name of the teacher.
        cache: cache root folder (outside the repository).
        epochs: most epochs; early stopping usually ends sooner.
        batch_size: patches per step.
        learning_rate: Adam learning rate.
        patience: epochs without a better validation loss before stopping.
        max_minutes: training time budget, checked at epoch ends (None: no limit).
        seed: seed of initialisation, dropout and shuffling.
        max_patches_per_file: see `PatchCache.build`.
        init: a weight file of the student to continue from (after the teacher's layers are copied).
        command: the command line recorded in the manifest entry.
        log: progress printer.

    Returns:
        the manifest entry written (dict).
    """
    if teacher_weights not in tag_spaces():
        raise ZooError(f"--teacher-weights must be a tag space ({', '.join(tag_spaces())}), not {teacher_weights!r}")
    keras.utils.set_random_seed(seed)
    with _op_determinism():
        patches = PatchCache.build(corpus, cache, max_patches_per_file=max_patches_per_file, log=log)
        train, validation, test = (patches.indices(name) for name, _ in SPLITS)
        if len(train) == 0 or len(validation) == 0:
            raise ZooError(f"the corpus needs train and validation patches; it has {len(train)} and {len(validation)}")
        targets = patches.teacher_outputs(teacher, teacher_weights, log=log)
        teacher_model = load(teacher, weights=teacher_weights, include_frontend=False)
        model = build(student, classes=targets["probabilities"].shape[1], include_top=True, include_frontend=False)
        transferred = transfer(teacher_model, model)
        continued = None
        if init is not None:
            load_weights(model, init)
            continued = {"file": Path(init).name, "sha256": sha256_of(init)}
        cut = _frozen_cut(model, transferred, targets)
        if cut:
            trained = keras.Model(model.get_layer(cut).output, model.output)
            inputs = targets[cut]
        else:
            trained, inputs = model, patches.logmel
        log(f"{student}: {len(transferred)} layers from the teacher "
            f"({sum(v == 'sliced' for v in transferred.values())} sliced); training "
            f"{'above the frozen ' + cut + ' branch' if cut else 'every layer'} on {len(train)} patches")
        trained.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.BinaryCrossentropy())
        budget = _TimeBudget(max_minutes)
        stopper = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
        history = trained.fit(
            RowBatches(inputs, train, batch_size, targets["probabilities"], seed=seed),
            validation_data=RowBatches(inputs, validation, batch_size, targets["probabilities"]),
            epochs=epochs, callbacks=[stopper, budget], verbose=2,
        )
        minutes = (time.perf_counter() - budget.started) / 60
        evaluated = test if len(test) else validation
        metrics = agreement.compare({student: model}, teacher_model, patches.logmel[evaluated],
                                    targets["probabilities"][evaluated])[student]
        metrics["split"] = "test" if len(test) else "validation"
        log(f"{student} vs {teacher} {teacher_weights}: {metrics}")
        path = Path(out) / f"{student}.{teacher_weights}.weights.h5"
        save_weights(model, path, {"teacher": teacher, "teacher_weights": teacher_weights, "kind": "distilled"})
        check = load(student, weights=str(path), include_frontend=False)
        if not all(np.array_equal(a, b) for a, b in zip(check.get_weights(), model.get_weights())):
            raise ZooError(f"{path} does not load back into {student} identically")
        losses = history.history.get("val_loss", [])
        training = {
            "epochs_run": len(history.history.get("loss", [])),
            "best_epoch": int(np.argmin(losses)) + 1 if losses else None,
            "best_val_loss": round(float(np.min(losses)), 5) if losses else None,
            "minutes": round(minutes, 1),
            "stopped_by_time_budget": budget.hit,
            "trained_layers": f"above the frozen {cut} branch" if cut else "all",
            "initialised_from_teacher": transferred,
            "continued_from": continued,
            "batch_size": batch_size, "learning_rate": learning_rate, "patience": patience, "seed": seed,
        }
        entry = _entry(student, teacher, teacher_weights, path, metrics, corpus_summary(patches), training, command)
        _write_entry(Path(out), student, teacher_weights, entry)
        return entry


def _entry(student, teacher, tag, path, metrics, summary, training, command):
    """The manifest entry of distilled weights (same structure as the ported entries, plus teacher and corpus)."""
    sources = ", ".join(f"{name} {s['hours']:.2f} h" for name, s in sorted(summary["sources"].items()))
    mir1k = (" Includes MIR-1K (Hsu and Jang 2010; research use only, not redistributed): the weights carry "
             "its research-use terms." if summary["mir1k"] else "")
    parent = card(teacher, tag)
    return {
        **file_fields(path),
        "tag_space": tag,
        "kind": "distilled",
        "teacher": {"model": teacher, "weights": tag, "sha256": parent["sha256"]},
        "source": {
            "recipe": "weights/build_corpus.py, then python -m zoo.distill",
            "command": command,
            "distilled_by": "zoo/distill.py",
        },
        "license": {
            "name": parent["license"]["name"] + (" + research use only (MIR-1K in the training audio)"
                                                 if summary["mir1k"] else ""),
            "file": parent["license"]["file"],
            "attribution": f"Distilled by musiczoo from {teacher} {tag} ({parent['license']['attribution']}). "
                           f"Training audio: freely licensed recordings (licenses per source in corpus.sources)."
                           + mir1k,
        },
        "training_data": f"No labels: the teacher's per-patch probabilities on {summary['hours']:.2f} h of unlabeled "
                         f"audio ({summary['files']} files, {summary['patch_hours']:.2f} h in 3 s patches; "
                         f"{sources}).{mir1k}",
        "corpus": summary,
        "metrics": {
            **{key: metrics[key] for key in ("roc_auc_at_0.5", "tags_used_at_0.5", "roc_auc_top10",
                                             "tags_used_top10", "mean_abs_difference", "patches")},
            "protocol": f"agreement with the teacher {teacher} {tag}, not accuracy on labels: macro ROC-AUC of the "
                        f"student's probabilities against the teacher's tags binarised at 0.5 (tags with one class "
                        f"skipped) and at each tag's top-10% quantile, and mean absolute probability difference, "
                        f"over the 3 s patches of the corpus {metrics['split']} split (split by track)",
        },
        "cost": {"params": metrics["params"], "patches_per_second": metrics["patches_per_second"],
                 "relative_speed_vs_teacher": metrics["relative_speed"]},
        "training": training,
        "frontend": dict(FRONTEND_CONFIG),
        "description": f"{student} distilled from {teacher} {tag} on unlabeled freely licensed music.",
    }


def _write_entry(out, student, tag, entry):
    """Adds the entry to `out/manifest.json` under the student's weights, or writes a card next to the file."""
    listing = out / "manifest.json"
    if listing.exists():
        data = json.loads(listing.read_text(encoding="utf-8"))
        if student in data.get("models", {}):
            data["models"][student]["weights"][tag] = entry
            with atomic_path(listing) as tmp:
                tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            return listing
    card_path = out / f"{student}.{tag}.card.json"
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return card_path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Distil a teacher's tags into a zoo model on unlabeled audio.")
    parser.add_argument("--corpus", required=True, help="corpus folder (manifest.csv) or any folder of audio")
    parser.add_argument("--student", required=True, help="catalog name of the model to train")
    parser.add_argument("--teacher", default=TEACHER)
    parser.add_argument("--teacher-weights", default="mtt", help="tag space of the teacher (and of the result)")
    parser.add_argument("--out", default="weights", help="folder for the weight file and manifest entry")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="patch and teacher cache, outside the repo")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--max-minutes", type=float,
                        help="training time budget in minutes (training stops after the epoch that exceeds it)")
    parser.add_argument("--max-patches-per-file", type=int, default=MAX_PATCHES_PER_FILE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", help="a weight file of the student to continue training from")
    args = parser.parse_args(argv)
    command = "python -m zoo.distill " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    try:
        distill(args.corpus, args.student, args.teacher_weights, args.out, teacher=args.teacher, cache=args.cache,
                epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                patience=args.patience, max_minutes=args.max_minutes, seed=args.seed, init=args.init,
                max_patches_per_file=args.max_patches_per_file, command=command)
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
