"""Max-pool before the batch norm: a rewrite of the converted ONNX graph that ONNX Runtime runs faster.

The musicnn branches and the vgg / crnn blocks compute `MaxPool(s * Relu(Conv(x)) + b)`
with the batch norm's per-channel scale `s` and shift `b` applied to the full
convolution output, which the max-pool then shrinks (by 30x to 96x over the mel
axis in the musicnn branches). Per channel, `s * v + b` is monotone in `v`
(increasing for s >= 0, decreasing for s < 0, and so is float rounding), so

    MaxPool(s * Relu(z) + b) = |s| * MaxPool(Relu(z)) + b            for s >= 0
                             = |s| * MaxPool(Clip(-z, max=0)) + b    for s < 0  (-Relu(z) = min(-z, 0))

and `-z` is the convolution with negated weights and bias. The rewrite splits
the convolution's channels by the sign of `s`, keeps each group's activation
fused into its convolution, pools, applies `|s|` and `b` to the pooled tensor,
and restores the channel order. Outputs agree with the graph as converted
within float32 rounding (`tests/test_onnx_export.py` checks every weight set
against Keras); `benchmarks/onnx_network.py` measures the speed.
"""

import numpy as np

LOWEST = float(np.finfo(np.float32).min)
BLOCK = 16  # channels per block of ONNX Runtime's NCHWc layout (AVX-512); groups are padded to whole blocks


def _consumers(graph):
    found = {}
    for node in graph.node:
        for name in node.input:
            found.setdefault(name, []).append(node)
    return found


def _chains(graph, arrays):
    """(conv, relu, mul, add, pool) chains with constant weights and per-channel scale and shift, each
    intermediate tensor used once and none a graph output."""
    consumers, outputs = _consumers(graph), {output.name for output in graph.output}

    def sole(node, op_type):
        users = consumers.get(node.output[0], [])
        ok = len(users) == 1 and users[0].op_type == op_type and node.output[0] not in outputs
        return users[0] if ok else None

    for conv in [node for node in graph.node if node.op_type == "Conv"]:
        relu = sole(conv, "Relu")
        mul = relu and sole(relu, "Mul")
        add = mul and sole(mul, "Add")
        pool = add and sole(add, "MaxPool")
        if not pool or len(pool.output) > 1 or len(conv.input) < 3:
            continue
        channels = arrays.get(conv.input[1], np.zeros(0)).shape[:1]
        constants = [arrays.get(name) for name in (conv.input[2], mul.input[1], add.input[1])]
        if any(a is None for a in constants) or any(a.size != channels[0] for a in constants[1:]):
            continue
        if any(a.ndim != 4 or a.shape[1] != a.size for a in constants[1:]):
            continue
        yield conv, relu, mul, add, pool


def pool_before_batch_norm(model):
    """Rewrites every Conv -> Relu -> Mul -> Add -> MaxPool chain of an ONNX model in place (see the module).

    Args:
        model: onnx.ModelProto with constant weights as initializers.

    Returns:
        Number of chains rewritten.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    chains = list(_chains(graph, arrays))

    def constant(name, value, dtype=np.float32):
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    for conv, relu, mul, add, pool in chains:
        weights, bias = arrays[conv.input[1]], arrays[conv.input[2]]
        scale = arrays[mul.input[1]].reshape(-1)
        base, out = conv.output[0], pool.output[0]
        groups, order = [], []
        for label, channels, sign in (("pos", np.flatnonzero(scale >= 0), 1.0),
                                      ("neg", np.flatnonzero(scale < 0), -1.0)):
            if not len(channels):
                continue
            conv_out, pooled = f"{base}_{label}", f"{base}_{label}_pooled"
            pad = -len(channels) % BLOCK
            w = np.concatenate([sign * weights[channels], np.zeros((pad, *weights.shape[1:]), weights.dtype)])
            bb = np.concatenate([sign * bias[channels], np.zeros(pad, bias.dtype)])
            group = [helper.make_node("Conv", [conv.input[0], constant(f"{base}_{label}_w", w),
                                               constant(f"{base}_{label}_b", bb)],
                                      [conv_out + "_z"], name=f"{conv.name}_{label}")]
            group[0].attribute.extend(conv.attribute)
            if sign > 0:
                group.append(helper.make_node("Relu", [conv_out + "_z"], [conv_out]))
            else:
                group.append(helper.make_node("Clip", [conv_out + "_z", constant(f"{base}_lowest", LOWEST),
                                                       constant(f"{base}_zero", 0.0)], [conv_out]))
            pool_node = helper.make_node("MaxPool", [conv_out], [pooled], name=f"{pool.name}_{label}")
            pool_node.attribute.extend(pool.attribute)
            groups += [*group, pool_node]
            order.append((pooled, np.concatenate([channels, np.full(pad, -1)])))
        pooled = order[0][0]
        if len(order) == 2 or any((c < 0).any() for _, c in order):
            pooled = f"{base}_pooled"
            groups.append(helper.make_node("Concat", [name for name, _ in order], [pooled], axis=1))
            positions = np.concatenate([channels for _, channels in order])
            inverse = np.argsort(positions)[(positions < 0).sum():]
            groups.append(helper.make_node("Gather", [pooled, constant(f"{base}_order", inverse, np.int64)],
                                           [f"{base}_ordered"], axis=1))
            pooled = f"{base}_ordered"
        shape = arrays[mul.input[1]].shape
        groups += [helper.make_node("Mul", [pooled, constant(f"{base}_scale", np.abs(scale).reshape(shape))],
                                    [f"{base}_scaled"]),
                   helper.make_node("Add", [f"{base}_scaled", add.input[1]], [out])]
        position = list(graph.node).index(conv)
        for node in (conv, relu, mul, add, pool):
            graph.node.remove(node)
        for offset, node in enumerate(groups):
            graph.node.insert(position + offset, node)
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)
    return len(chains)
