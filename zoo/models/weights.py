"""The weight manifest, sha256 verification, and name-addressed weight files.

A weight file is HDF5 with one dataset per variable at `<layer name>/<variable
name>`, so one file serves every variant of a model (with or without top or
front end, any input length): layers are matched by their stable names.
"""

import hashlib
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np

from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.errors import ZooError

WEIGHTS_ENV = "MUSICZOO_WEIGHTS_DIR"
WEIGHTS_PACKAGE = "zoo.pretrained"  # the repository's weights/ folder, installed as package data


def weights_dir():
    """The folder of the weight files and manifest: `$MUSICZOO_WEIGHTS_DIR`, else the installed `zoo.pretrained`."""
    if os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV])
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ZooError(f"the package data {WEIGHTS_PACKAGE} (musiczoo's weights) is not installed: reinstall "
                       f"musiczoo, or set {WEIGHTS_ENV} to a folder holding manifest.json and the weight files")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def manifest():
    """The parsed `manifest.json` of `weights_dir()` (tag spaces, models, weight cards)."""
    path = weights_dir() / "manifest.json"
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise ZooError(f"the weight manifest {path} is missing: reinstall musiczoo, or set {WEIGHTS_ENV} "
                       "to a folder holding manifest.json and the weight files") from None


_hashed = {}  # (real path, size, mtime_ns, inode) -> sha256 of the files this process verified


def sha256_of(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_fields(path):
    """The manifest fields that identify a weight file: name, sha256 and size in bytes."""
    return {"file": path.name, "sha256": sha256_of(path), "size": path.stat().st_size}


def verify_file(path, expected_sha256, expected_size=None):
    """Refuses a weight file whose size or sha256 differs from its manifest entry.

    Cheap to call at every load: a file's hash is kept per process under its size, modification
    time and inode, and computed again when any of them changes.

    Raises:
        ZooError: the file is missing, truncated or altered.
    """
    path = Path(path)
    if not path.exists():
        raise ZooError(f"weight file {path} is missing: restore it with `git checkout -- {path}`")
    if expected_size is not None and path.stat().st_size != expected_size:
        raise ZooError(
            f"weight file {path} has {path.stat().st_size} bytes, the manifest says {expected_size}: "
            f"it is truncated or altered; restore it with `git checkout -- {path}`"
        )
    status = path.stat()
    key = (os.path.realpath(path), status.st_size, status.st_mtime_ns, status.st_ino)
    actual = _hashed.get(key) or _hashed.setdefault(key, sha256_of(path))  # hashed again once the file changes
    if actual != expected_sha256:
        raise ZooError(
            f"weight file {path} has sha256 {actual}, the manifest says {expected_sha256}: "
            f"it is corrupt or altered; restore it with `git checkout -- {path}`"
        )


def _variable_key(layer, variable):
    return f"{layer.name}/{variable.name}"


def weighted_layers(model):
    """Layers of `model` that own variables, in graph order (nested models are entered)."""
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            found.extend(weighted_layers(layer))
        elif layer.weights:
            found.append(layer)
    return found


def save_weights(model, path, attributes=None):
    """Writes every variable of `model` by layer name, atomically.

    Args:
        model: a Keras model whose weighted layers have unique names.
        path: destination `.weights.h5` file.
        attributes: optional dict stored as HDF5 attributes of the root group.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w", locking=False) as store:  # atomic_path holds the lock
        for key, value in (attributes or {}).items():
            store.attrs[key] = value
        for layer in weighted_layers(model):
            for variable in layer.weights:
                key = _variable_key(layer, variable)
                if key in store:
                    raise ZooError(f"two variables of {model.name} are both named {key}")
                store.create_dataset(key, data=np.asarray(variable.numpy()))


def read_weights(path):
    """All variables of a name-addressed weight file: `{"layer/variable": array}`, each checked.

    Raises:
        ZooError: the file is not readable HDF5 (truncated, corrupt, another format), or a value
            is not a finite numeric array.
    """
    arrays = {}
    try:
        with h5py.File(path, "r") as store:
            store.visititems(lambda key, item: arrays.__setitem__(key, item[()])
                             if isinstance(item, h5py.Dataset) else None)
    except OSError:  # h5py's error for anything that is not intact HDF5
        raise ZooError(f"weight file {path} cannot be read as HDF5: it is truncated, "
                       "corrupt, or not a file written by zoo.models.weights.save_weights") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.number):
            raise ZooError(f"weight file {path}: {key} is not a numeric array, so the file is not a zoo weight file")
        if not np.all(np.isfinite(value)):
            raise ZooError(f"weight file {path}: {key} holds NaN or infinite values; the weights are unusable")
    return arrays


def load_weights(model, path, allow_unused=False):
    """Sets every variable of `model` from a name-addressed weight file.

    Args:
        model: the Keras model to fill.
        path: `.weights.h5` file written by `save_weights`.
        allow_unused: accept stored variables `model` lacks (the top of a
            headless model); otherwise every stored variable must be used.

    Raises:
        ZooError: a layer of the model has no stored value, a shape differs,
            or a stored layer is unused and not allowed to be.
    """
    stored = read_weights(path)
    used = set()
    for layer in weighted_layers(model):
        values = []
        for variable in layer.weights:
            key = _variable_key(layer, variable)
            if key not in stored:
                raise ZooError(f"{path} has no value for {key}: the file does not match this model")
            if tuple(stored[key].shape) != tuple(variable.shape):
                raise ZooError(
                    f"{path}: {key} has shape {stored[key].shape}, the model expects {tuple(variable.shape)}"
                )
            values.append(stored[key])
            used.add(key)
        layer.set_weights(values)
    unused = sorted(k for k in stored if k not in used)
    if unused and not allow_unused:
        raise ZooError(f"{path} holds variables this model does not use: {', '.join(unused[:5])}")
