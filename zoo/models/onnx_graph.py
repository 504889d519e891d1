"""A catalog network as an ONNX graph: log-mel patches in, probabilities and every feature layer out.

The network alone converts (tf2onnx, opset 17); the Kapre front end does not
(its RFFT stays a TensorFlow op), so the graph takes the log-mel patches
`[batch, 187, 96]` that `zoo.signal` computes, or that the README's librosa
recipe computes outside the zoo. The model's metadata carries what a user of
the file needs without the zoo: the tag list, the front-end parameters
(`musiczoo_runtime.contract.FRONTEND_CONFIG`), the output names and shapes, and the sha256
of the weight file it was made from. After conversion the graph's batch norms
move behind their max-pools (`zoo.models.onnx_pooling`), which ONNX Runtime
runs faster. tf2onnx and onnx are imported only here, when a graph is converted.
"""

import json

from musiczoo_runtime.contract import FRONTEND_CONFIG, N_MELS, PATCH_FRAMES, PATCH_SECONDS
from musiczoo_runtime.errors import ZooError
from zoo.models.catalog import card
from zoo.models.onnx_pooling import pool_before_batch_norm

OPSET = 17
REVISION = 2  # of the conversion (tf2onnx, then zoo.models.onnx_pooling); part of the cache key of converted graphs
INPUT = "logmel"
PROBABILITIES = "probabilities"
BATCH = "batch"
META = "musiczoo."  # prefix of the metadata keys


def output_names(info):
    """The graph's outputs in order: `probabilities`, then every feature layer of the card `info`."""
    return [PROBABILITIES, *info.feature_layers]


def metadata(info, version):
    """The model's metadata as strings (ONNX metadata values are strings; lists and dicts are JSON).

    Args:
        info: the `WeightsCard` of the converted weights.
        version: the musiczoo version that converted it.
    """
    return {
        f"{META}model": info.name,
        f"{META}weights": info.weights,
        f"{META}weights_sha256": info.sha256,
        f"{META}version": version,
        f"{META}conversion": f"tf2onnx opset {OPSET}, max-pool before batch norm (revision {REVISION})",
        f"{META}tags": json.dumps(list(info.tags)),
        f"{META}frontend": json.dumps(FRONTEND_CONFIG),
        f"{META}input": json.dumps({"name": INPUT, "shape": [BATCH, PATCH_FRAMES, N_MELS],
                                    "seconds": PATCH_SECONDS}),
        f"{META}outputs": json.dumps(output_names(info)),
        f"{META}feature_layers": json.dumps(info.feature_layers),
        f"{META}frame_layers": json.dumps(info.frame_layers),
        f"{META}license": json.dumps(info.license),
        f"{META}citation": info.citation,
    }


def _rename(graph, names):
    """Renames the graph's outputs to `names` (in order) wherever those tensors are produced or used."""
    mapping = {output.name: name for output, name in zip(graph.output, names)}
    for node in graph.node:
        node.output[:] = [mapping.get(n, n) for n in node.output]
        node.input[:] = [mapping.get(n, n) for n in node.input]
    for output in graph.output:
        output.name = mapping[output.name]
    for value in [*graph.input, *graph.output]:
        for dim in value.type.tensor_type.shape.dim[:1]:
            dim.dim_param = BATCH


def convert(name, weights, version):
    """Converts a catalog network with pretrained weights to ONNX.

    Args:
        name: catalog name.
        weights: weight tag ("mtt", "msd").
        version: the musiczoo version, recorded in the metadata.

    Returns:
        onnx.ModelProto: input `logmel [batch, 187, 96]` float32; outputs
        `probabilities [batch, tags]` and one per feature layer (the shapes
        the Keras layers have), metadata as in `metadata`.

    Raises:
        ZooError: unknown model or weights (a weight file path has no card to describe it).
    """
    import keras
    import tensorflow as tf
    import tf2onnx
    from onnx import helper

    from zoo.models.loading import load

    info = card(name, weights)
    if info.tags is None:
        raise ZooError(f"ONNX conversion needs pretrained weights ({', '.join(info.available_weights)}), "
                       f"not {weights!r}")
    net = load(name, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    network = keras.Model(net.inputs, [net.output, *(net.get_layer(layer).output for layer in info.feature_layers)])
    function = tf.function(lambda x: network(x, training=False))
    spec = (tf.TensorSpec([None, PATCH_FRAMES, N_MELS], tf.float32, name=INPUT),)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    _rename(proto.graph, output_names(info))
    pool_before_batch_norm(proto)
    proto.graph.name = f"{name}_{weights}"
    proto.producer_name, proto.producer_version = "musiczoo", version
    proto.doc_string = f"{info.description} Weights: {weights} ({info.tag_space_description})."
    helper.set_model_props(proto, metadata(info, version))
    return proto
