"""musiczoo: musically motivated neural networks for music audio, from waveform to tags.

Public API: `load`, `list_models`, `card`, `tag`, `extract`, `ZooError`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.errors import ZooError  # noqa: E402
from zoo.features import extract, tag  # noqa: E402
from zoo.registry import card, list_models, load  # noqa: E402

__version__ = "0.1.0"

__all__ = ["ZooError", "card", "extract", "list_models", "load", "tag", "__version__"]
