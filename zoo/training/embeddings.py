"""Clip embeddings for probes: each clip's rows of a feature layer pooled by mean and max, cached on disk.

One cache entry per (file content, model, weights, layer): `cache_dir()/embeddings/<model>/<weights key>/<layer>/
<sha256 of the file>.npy`, holding `[2, dim]` float32 (row 0 the mean, row 1 the max over the clip's patches,
or over its frames for a frame-level layer). A second probe, a second run or a layer already extracted costs
no extraction; only the missing (file, layer) pairs go through `zoo.extract_many`, batched across files.
"""

import hashlib
import sys

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.contract import cache_dir
from musiczoo_runtime.errors import ZooError, file_error

POOLING = ("mean", "max")
RANDOM_SEED = 0  # the random initialisation of `weights=None`, fixed so that its floor is reproducible


def content_hash(path):
    """SHA-256 hex digest of a file's bytes.

    Raises:
        ZooError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise file_error(path, error, "it cannot be read") from None
    return digest.hexdigest()


def weights_key(weights):
    """The cache folder name of `weights`: its tag, `none-seed<N>` for random weights, a file's content hash."""
    if weights is None:
        return f"none-seed{RANDOM_SEED}"
    if checks.is_weight_file(weights):
        return "file-" + content_hash(weights)[:16]
    return str(weights)


def entry_path(model, weights, layer, digest):
    """Where the pooled embedding of one file's `layer` is cached."""
    return cache_dir() / "embeddings" / model / weights_key(weights) / layer / f"{digest}.npy"


def pool(rows):
    """`[rows, ...]` -> `[2, dim]`: mean and max over the rows (anything after the first axis flattened)."""
    rows = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
    return np.stack([rows.mean(axis=0), rows.max(axis=0)])


def _save(path, pooled):
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, pooled)


def _extract(files, model, weights, layers, batch_size, runtime):
    """Yields (path, Features or ZooError) for `files`, random weights made reproducible by a fixed seed."""
    from zoo.inference.api import extract_many

    if weights is None:
        import keras

        from zoo.inference.api import network_function

        network_function.cache_clear()  # the random network is built afresh from the seed
        keras.utils.set_random_seed(RANDOM_SEED)
        runtime = "tensorflow"
    yield from extract_many(files, model, weights, layers, batch_size=batch_size, runtime=runtime)


def embed(paths, model, weights, layers, batch_size=8, runtime="auto", progress=True):
    """Pooled embeddings of every file for every layer, from the cache or extracted once.

    Args:
        paths: audio files.
        model: catalog name.
        weights: weight tag, `.weights.h5` file, or None (random initialisation, seed `RANDOM_SEED`).
        layers: feature layer names.
        batch_size: patches per forward pass, shared across files.
        runtime: "auto", "tensorflow" or "onnx" (random weights always run on TensorFlow).
        progress: a tqdm bar on stderr while extracting.

    Returns:
        (embeddings, failures, extracted): embeddings maps each good path to its list of `[2, dim]`
        arrays in `layers` order; failures maps each bad path to its ZooError;
        extracted counts files that went through the network (0 when everything was cached).
    """
    from tqdm import tqdm

    digests, failures = {}, {}
    for path in paths:
        try:
            digests[path] = content_hash(path)
        except ZooError as error:
            failures[path] = error
    pooled = {path: {} for path in digests}
    missing = {}
    for path, digest in digests.items():
        for layer in layers:
            cached = entry_path(model, weights, layer, digest)
            if cached.is_file():
                pooled[path][layer] = np.load(cached)
            else:
                missing.setdefault(path, []).append(layer)
    if missing:
        wanted = sorted({layer for needs in missing.values() for layer in needs}, key=layers.index)
        files = list(missing)
        bar = tqdm(total=len(files), desc=f"extracting {model} {weights_key(weights)}", unit="file",
                   file=sys.stderr, disable=not progress)
        for path, features in _extract(files, model, weights, wanted, batch_size, runtime):
            bar.update(1)
            if isinstance(features, ZooError):
                failures[path] = features
                continue
            for layer in wanted:
                pooled[path][layer] = pool(features.layers[layer])
                _save(entry_path(model, weights, layer, digests[path]), pooled[path][layer])
        bar.close()
    embeddings = {path: [pooled[path][layer] for layer in layers] for path in paths if path not in failures}
    return embeddings, failures, len(missing)


def feature_matrix(embeddings, paths):
    """`[clips, layers * 2 * dim]`: each clip's pooled layers side by side, in `paths` order."""
    return np.stack([np.concatenate([np.ravel(array) for array in embeddings[path]]) for path in paths])
