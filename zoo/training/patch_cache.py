"""The patch cache of a distillation corpus: log-mel patches computed once, and teachers' outputs, memory-mapped.

Every file is cut into 3 s log-mel patches with the zoo front end and the
patching of `zoo.tag` (hop 3 s, final partial patch repeated); at most
`max_patches_per_file` evenly spaced patches are kept per file. The patches,
and later each teacher's probabilities and branch outputs, are stored once as
`.npy` files under the cache root (default `<cache_dir()>/distill`), each
renamed into place only when complete, so later students reuse them.
"""

import contextlib
import hashlib
import json
import time
from pathlib import Path

import keras
import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.atomic import atomic_path, temporary
from musiczoo_runtime.contract import (
    DEFAULT_WEIGHTS,
    FRONTEND_CONFIG,
    N_MELS,
    PATCH_FRAMES,
    PATCH_SECONDS,
    cache_dir,
    frame_seconds,
)
from musiczoo_runtime.errors import ZooError
from zoo.inference.api import patch_function
from zoo.models.catalog import card
from zoo.models.loading import load
from zoo.models.weights import sha256_of
from musiczoo_runtime.audio import BLOCK_SECONDS, open_file
from zoo.signal.streaming import stream_patches
from zoo.training.corpus import MAX_PATCHES_PER_FILE, TEACHER, corpus_rows

BRANCHES = ("timbral", "temporal")
CACHE_VERSION = 1


def default_cache():
    """The default cache root: `distill` under `musiczoo_runtime.contract.cache_dir()`."""
    return cache_dir() / "distill"


def file_patches(path, hop_seconds=PATCH_SECONDS):
    """The tagging patches of an audio file, streamed through the zoo front end.

    Returns:
        (list of (start frame, patch `[187, 96]`), log-mel frames in the file).
    """
    counter = {}
    found = list(stream_patches(open_file(path), hop_seconds, "repeat", BLOCK_SECONDS, counter))
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
    def for_corpus(cls, corpus, cache_root=None, hop_seconds=PATCH_SECONDS,
              max_patches_per_file=MAX_PATCHES_PER_FILE, log=print):
        """Returns the cache of `corpus`, computing the log-mel patches only if no identical cache exists.

        Args:
            corpus: corpus folder (see `corpus_rows`).
            cache_root: folder holding the caches (outside the repository); None for `default_cache()`.
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
        folder = Path(cache_root or default_cache()) / key
        if (folder / "index.json").exists():
            cache = cls(folder)
            current = {row["path"]: row for row in rows}  # descriptive columns may have been corrected
            for row in cache.rows:
                row.update({k: v for k, v in current[row["path"]].items() if v is not None})
            return cache
        folder.mkdir(parents=True, exist_ok=True)
        log(f"computing log-mel patches of {len(rows)} files into {folder}")
        file_index, starts = [], []
        with temporary(folder, "logmel.raw") as raw:  # scratch: removed at the end, or by the next run if killed
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
                    row["duration"] = row["duration"] or float(frame_seconds(n_frames))
                    if number % 50 == 0:
                        log(f"  {number + 1}/{len(rows)} files, {len(file_index)} patches")
            if not file_index:
                raise ZooError(f"no file of the corpus {corpus} could be decoded")
            shape = (len(file_index), PATCH_FRAMES, N_MELS)
            _save_npy_atomically(folder / "logmel.npy", shape, np.float32, lambda array: _copy_raw(raw, array))
        for name, values in (("file_index", np.asarray(file_index, np.int32)),
                             ("starts", np.asarray(starts, np.int64))):
            _save_npy_atomically(folder / f"{name}.npy", values.shape, values.dtype,
                                 lambda array, values=values: np.copyto(array, values))
        with atomic_path(folder / "index.json") as tmp:
            tmp.write_text(json.dumps({"settings": settings, "corpus": str(corpus), "rows": rows}, indent=1),
                           encoding="utf-8")
        return cls(folder)

    def indices(self, split):
        """Patch indices `[n]` of a split ('train', 'validation' or 'test')."""
        return np.flatnonzero(self.split == split)

    def teacher_outputs(self, teacher=TEACHER, weights=DEFAULT_WEIGHTS, batch_size=64, log=print):
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
        stem = f"{teacher}.{weights_id(teacher, weights)}"
        paths = {name: self.folder / "teachers" / f"{stem}.{name}.npy" for name in names}
        if not all(path.exists() for path in paths.values()):
            log(f"computing {teacher} {weights} outputs for {len(self.logmel)} patches")
            extractor = keras.Model(model.inputs, outputs)
            function = patch_function(extractor)
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
    """Context manager: `.npy` memmaps for teacher outputs, each through `atomic_path`, renamed into place
    only if all complete."""

    def __init__(self, paths, n, outputs):
        self.paths, self.n, self.outputs = paths, n, outputs

    def __enter__(self):
        self.arrays, self.stack = {}, contextlib.ExitStack()
        for (name, path), output in zip(self.paths.items(), self.outputs):
            tmp = self.stack.enter_context(atomic_path(path))
            dtype = np.float32 if name == "probabilities" else np.float16
            self.arrays[name] = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype,
                                                          shape=(self.n, *output.shape[1:]))
        return self.arrays

    def __exit__(self, kind, value, traceback):
        for array in self.arrays.values():
            array.flush()
        self.arrays.clear()  # the memmaps close before their files are renamed (or removed)
        return self.stack.__exit__(kind, value, traceback)


def weights_id(model, weights):
    """A short stable id of a weight tag or file (its sha256 prefix)."""
    if checks.is_weight_file(weights):
        return sha256_of(weights)[:12]
    return f"{weights}-{card(model, weights).sha256[:12]}"

