"""musiczoo: musically motivated neural networks for music audio, from waveform to tags.

Public API: `load`, `list_models`, `card`, `decode_predictions`, `tag`, `tag_many`,
`extract`, `extract_many`, `export`, `evaluate`, `ZooError`. The package is laid out by
concern, its layers lowest first (`zoo.layers`): `musiczoo_runtime` (TensorFlow-free) <- `zoo`
<- `signal` / `outputs` <- `models` / `reference` <- `inference` <- `training` / `deploy` / `explain` /
`scale` <- `cli`. The API is imported on first use, so that
`import musiczoo_runtime.contract` (and `musiczoo --help`) does not load TensorFlow.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musiczoo_runtime.errors import ZooError  # noqa: E402
from musiczoo_runtime.lazy import lazy_api  # noqa: E402

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

__getattr__, __dir__ = lazy_api("zoo", _API, globals())
