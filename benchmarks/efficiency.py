"""Compute efficiency: each model's forward pass in GFLOP/s, as a fraction of this process's matmul peak.

Usage:
    .venv/bin/python benchmarks/efficiency.py [--batch 32 8] [--repeats 3]

FLOPs are counted from layer shapes (multiply and add = 2 FLOPs) for the
layers that hold nearly all the work: Conv1D, Conv2D, Dense and GRU. The
peak is the best rate of a 4096 x 4096 float32 matrix multiply measured in
the same process just before. Each figure is the best of `--repeats` timed
runs of at least 2 seconds, after warm-up.
"""

import argparse
import math
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from musiczoo_runtime.contract import N_MELS, frames_in  # noqa: E402
from zoo.inference.api import network_function  # noqa: E402


def layer_flops(layer):
    """Multiply-add FLOPs of one layer for one example (0 for layers without arithmetic worth counting)."""
    kind = type(layer).__name__
    if kind not in ("Conv1D", "Conv2D", "Dense", "GRU"):
        return 0
    out_shape, in_shape = layer.output.shape, layer.input.shape
    if kind in ("Conv1D", "Conv2D"):
        kernel = math.prod(layer.kernel_size)
        return 2 * kernel * (in_shape[-1] // layer.groups) * layer.filters * math.prod(out_shape[1:-1])
    if kind == "Dense":
        return 2 * in_shape[-1] * layer.units * math.prod(in_shape[1:-1])
    steps, features, units = in_shape[1], in_shape[-1], layer.units
    return 2 * 3 * (features + units) * units * steps


def model_flops(model):
    """FLOPs of one forward pass of one example."""
    return sum(layer_flops(layer) for layer in model.layers)


def best_rate(function, argument, work, repeats, min_seconds=2.0):
    """Best `work` units per second over `repeats` runs of at least `min_seconds` each."""
    function(argument)
    function(argument)
    best = 0.0
    for _ in range(repeats):
        runs, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < min_seconds or runs == 0:
            np.asarray(function(argument))
            runs += 1
        best = max(best, runs * work / elapsed)
    return best


def matmul_peak(repeats, size=4096):
    """GFLOP/s of a large float32 matrix multiply."""
    a = tf.random.normal([size, size])
    multiply = tf.function(lambda x: tf.reduce_sum(tf.matmul(x, x)))
    return best_rate(multiply, a, 2 * size ** 3 / 1e9, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=None)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, "
          f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}")
    peak = matmul_peak(args.repeats)
    print(f"float32 matmul peak: {peak:.1f} GFLOP/s\n")
    print(f"{'model':<17} {'GFLOP/patch':>11} {'batch':>5} {'patches/s':>9} {'GFLOP/s':>8} {'of peak':>7}")
    for name in args.models or zoo.list_models():
        weights = (zoo.card(name, None)["available_weights"] or [None])[0]
        net = zoo.load(name, weights=weights, include_frontend=False)
        flops = model_flops(net)
        function = (network_function(name, weights) if weights
                    else tf.function(lambda x, net=net: net(x, training=False)))
        for batch in args.batch:
            x = np.random.default_rng(0).uniform(0, 3, (batch, frames_in(3.0), N_MELS)).astype(np.float32)
            patches = best_rate(function, x, batch, args.repeats)
            achieved = patches * flops / 1e9
            print(f"{name:<17} {flops / 1e9:>11.3f} {batch:>5} {patches:>9.1f} {achieved:>8.1f} "
                  f"{achieved / peak:>7.1%}", flush=True)


if __name__ == "__main__":
    main()
