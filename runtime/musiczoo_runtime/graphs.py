"""The shipped waveform-in ONNX graphs: which exist (graphs/index.json), their files, checked by sha256, and
ONNX Runtime sessions over them.

Each graph takes `waveform [batch, samples]` (float32 windows of the reflect-padded 16 kHz recording, cut by
`musiczoo_runtime.patching.patch_windows`) and returns `probabilities [batch, tags]` and every feature layer
of the weights' card; its metadata names them (`musiczoo.outputs`, `musiczoo.frame_layers`, ...). The
graphs are made by runtime/make_graphs.py from the full musiczoo's conversion.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from musiczoo_runtime import checks
from musiczoo_runtime.errors import ZooError

FOLDER = Path(__file__).resolve().parent / "graphs"
INPUT = "waveform"
PROBABILITIES = "probabilities"


@lru_cache(maxsize=1)
def index():
    """The catalog of shipped graphs: model -> {params, description, weights: {tag: {file, sha256,
    weights_sha256, tags}}}."""
    return json.loads((FOLDER / "index.json").read_text())


def entry(model, weights):
    """The index entry of `model` with `weights`.

    Raises:
        ZooError: unknown model, or weights it has no graph for.
    """
    if model not in index():
        raise ZooError(f"unknown model {model!r}: choose from {', '.join(index())}")
    available = index()[model]["weights"]
    if weights not in available:
        if checks.is_weight_file(weights):
            raise ZooError(f"musiczoo-runtime runs the shipped weight sets ({', '.join(available)}), not the file "
                           f"{weights}: use the full musiczoo for weight files")
        raise ZooError(f"{model} has no weights {weights!r}: choose from {', '.join(available)}")
    return available[weights]


class Graph:
    """One shipped graph under ONNX Runtime.

    Attributes:
        model, weights: what it computes.
        tags: tag names `[tags]`.
        feature_layers: layer name -> dimension, in the graph's output order.
        frame_layers: frame-level layer -> input frames per output step (the others are per patch).
    """

    def __init__(self, model, weights, threads=None):
        import onnxruntime

        info = entry(model, weights)
        path = FOLDER / info["file"]
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise ZooError(f"{path} does not match its sha256 in {FOLDER / 'index.json'}: the installation is "
                           "damaged; reinstall musiczoo-runtime")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.model, self.weights = model, weights
        self.tags = json.loads(meta["musiczoo.tags"])
        self.feature_layers = json.loads(meta["musiczoo.feature_layers"])
        self.frame_layers = json.loads(meta["musiczoo.frame_layers"])

    def run(self, outputs, windows):
        """The graph's `outputs` (names) for a batch of equally long windows `[batch, samples]` float32."""
        return self.session.run(list(outputs), {INPUT: windows})


@lru_cache(maxsize=8)
def graph(model, weights, threads=None):
    """The `Graph` of `model` with `weights`, loaded once per argument set."""
    return Graph(model, weights, threads)
