"""musiczoo-runtime: the musiczoo models' tags and features on ONNX Runtime, without TensorFlow.

Public API: `tag`, `tag_many`, `extract`, `extract_many` (as in `zoo`, returning the same `Taggram` and
`Features`), `list_models`, `ZooError`. This package is also the TensorFlow-free ground floor the full
`zoo` package imports (contract, errors, atomic writing, checks, audio decoding, patching, result types,
writers, the command line's input and output handling): one code base, two distributions (README).
The API is imported on first use, so `import musiczoo_runtime` loads neither ONNX Runtime nor soundfile.
"""


from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.lazy import lazy_api

__version__ = "0.2.0"

_API = {
    "tag": "musiczoo_runtime.inference",
    "tag_many": "musiczoo_runtime.inference",
    "extract": "musiczoo_runtime.inference",
    "extract_many": "musiczoo_runtime.inference",
}

__all__ = ["ZooError", "__version__", "list_models", *_API]


def list_models():
    """The models this runtime ships graphs for, in catalog order."""
    from musiczoo_runtime.graphs import index

    return list(index())


__getattr__, __dir__ = lazy_api("musiczoo_runtime", _API, globals())
