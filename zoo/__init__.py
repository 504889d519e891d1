"""musiczoo: musically motivated neural networks for music audio, from waveform to tags.

Public API: `load`, `list_models`, `card`, `tag`, `extract`, `export`, `ZooError`
(and `tag_many`, `extract_many` for collections).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.errors import ZooError  # noqa: E402
from zoo.export import export  # noqa: E402
from zoo.features import extract, extract_many, tag, tag_many  # noqa: E402
from zoo.registry import card, list_models, load  # noqa: E402

__version__ = "0.1.0"

__all__ = ["ZooError", "card", "export", "extract", "extract_many", "list_models", "load", "tag", "tag_many",
           "__version__"]
