"""The package's layers, lowest first: a module imports modules of its own layer or a lower one only.

tests/test_layout.py enforces the order; `sentence()` states it where a reader looks (the README,
docs/contributing.md and this package's docstring, written by `python -m docsgen.readme` and checked by
tests/test_docs.py), so the statement and the rule cannot drift apart.
"""

GROUND_FLOOR = "musiczoo_runtime"  # below every layer, outside zoo/ (runtime/): the TensorFlow-free base
LAYERS = (
    ("zoo",),  # the package's own top-level modules: the lazy API, progress
    ("zoo.signal", "zoo.outputs"),  # outputs: the figure and audio writers, file names from tags
    ("zoo.models", "zoo.reference"),  # reference: the original musicnn pipeline, checked against models
    ("zoo.inference",),
    ("zoo.training", "zoo.deploy", "zoo.explain", "zoo.scale"),
    ("zoo.cli",),
)
COMMAND_MODULES = ("zoo.__main__", "zoo.agreement", "zoo.distill")  # `python -m zoo` and its deprecated aliases


def ranks():
    """Module or package name -> its layer (0 = lowest); `python -m zoo` and the aliases sit with `zoo.cli`."""
    named = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}
    return named | dict.fromkeys(COMMAND_MODULES, len(LAYERS) - 1)


def sentence():
    """The layering in one line of Markdown, lowest first: "`musiczoo_runtime` <- `zoo` <- `signal` <- ..."."""
    steps = [" / ".join(f"`{name.rpartition('.')[2]}`" for name in layer) for layer in LAYERS]
    return " <- ".join([f"`{GROUND_FLOOR}` (TensorFlow-free)", *steps])
