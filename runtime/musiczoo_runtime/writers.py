"""Writing results: the JSON record of a taggram (the command line's schema) and features as `.npz`."""

from pathlib import Path

import numpy as np

from musiczoo_runtime.atomic import atomic_path


def taggram_record(path, taggram):
    """The JSON-ready record of one tagged file: file, model, weights, duration and every clip-level tag.

    Args:
        path: the file's path (as given).
        taggram: its `musiczoo_runtime.results.Taggram`.
    """
    return {"file": str(path), "model": taggram.model, "weights": taggram.weights,
            "duration": round(taggram.duration, 3),
            "tags": {tag: round(float(p), 6) for tag, p in zip(taggram.tags, taggram.clip_probabilities)}}


def error_record(path, message):
    """The JSON-ready record of a file that failed."""
    return {"file": str(path), "error": message}


def save_features(features, path):
    """Writes `Features` as one `.npz` (each layer, and `<layer>_times`), atomically.

    Args:
        features: a `musiczoo_runtime.results.Features`.
        path: the `.npz` file to write (its folder is created).
    """
    arrays = dict(features.layers)
    arrays.update({f"{name}_times": times for name, times in features.times.items()})
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
