"""musiczoo: musically motivated neural networks for music audio, from waveform to tags.

Public API: `load`, `list_models`, `card`, `decode_predictions`, `tag`, `tag_many`,
`extract`, `extract_many`, `export`, `evaluate`, `ZooError`. The package is laid out by
concern: `contract` (shared facts) <- `signal` <- `models` <- `inference` <-
`training` / `deploy` <- `cli`. The API is imported on first use, so that
`import zoo.contract` (and `musiczoo --help`) does not load TensorFlow.
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.errors import ZooError  # noqa: E402

__version__ = "0.2.0"

_API = {
    "load": "zoo.models.loading",
    "list_models": "zoo.models.catalog",
    "card": "zoo.models.catalog",
    "decode_predictions": "zoo.models.catalog",
    "tag": "zoo.inference.api",
    "tag_many": "zoo.inference.api",
    "extract": "zoo.inference.api",
    "extract_many": "zoo.inference.api",
    "export": "zoo.deploy.savedmodel",
    "evaluate": "zoo.training.evaluate",
}

__all__ = ["ZooError", "__version__", *_API]


def __getattr__(name):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
