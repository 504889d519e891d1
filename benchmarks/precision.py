"""Reduced precision: bfloat16 against float32 tagging, speed and top-3 agreement, in one process.

Usage:
    .venv/bin/python benchmarks/precision.py [--rounds 2] [--real DIR]

Tags the file set of `benchmarks/throughput.py` with `zoo.tag_many` (TensorFlow runtime) in
float32 and in bfloat16 (Keras mixed_bfloat16: float32 weights, bfloat16
arithmetic), alternating, `--rounds` times each after a warm-up, and reports
audio-seconds per second, the speed-up, the share of files whose top-3 tags
are identical and the largest per-patch probability difference. It also
times the largest single convolution of `timbral_temporal` (7x38, 204
filters, one input channel) in both precisions, which shows where the time goes.
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from throughput import make_files  # noqa: E402


def conv_times(batch=8, seconds=2.0):
    """Milliseconds of the timbral 7x38 convolution on a batch, float32 and bfloat16."""
    x = tf.random.normal([batch, 193, 96, 1])
    kernel = tf.random.normal([7, 38, 1, 204])
    times = {}
    for dtype in (tf.float32, tf.bfloat16):
        conv = tf.function(lambda a, k: tf.nn.conv2d(a, k, 1, "VALID"))
        a, k = tf.cast(x, dtype), tf.cast(kernel, dtype)
        conv(a, k)
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conv(a, k).numpy()
            runs += 1
        times[dtype.name] = 1000 * (time.perf_counter() - start) / runs
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--real", metavar="DIR", help="folder of real music to add to the set")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        paths = make_files(Path(folder), args.real)
        audio_seconds = sum(soundfile.info(p).duration for p in paths)
        print(f"{len(paths)} files, {audio_seconds / 60:.1f} min of audio\n")
        results, rates = {}, {"float32": 0.0, "bfloat16": 0.0}
        for precision in rates:  # warm-up: builds both networks
            list(zoo.tag_many(paths[:1], precision=precision, runtime="tensorflow"))
        for _ in range(args.rounds):
            for precision in rates:
                start = time.perf_counter()
                results[precision] = [r for _, r in zoo.tag_many(paths, precision=precision, runtime="tensorflow")]
                rates[precision] = max(rates[precision], audio_seconds / (time.perf_counter() - start))
        same_top3 = sum([t for t, _ in a.top(3)] == [t for t, _ in b.top(3)]
                        for a, b in zip(results["float32"], results["bfloat16"]))
        difference = max(np.abs(a.probabilities - b.probabilities).max()
                         for a, b in zip(results["float32"], results["bfloat16"]))
    print(f"{'precision':<10} {'audio s / s':>11}")
    for precision, rate in rates.items():
        print(f"{precision:<10} {rate:>11.1f}")
    print(f"speed-up bfloat16 / float32: {rates['bfloat16'] / rates['float32']:.2f}x")
    print(f"identical top-3 tags: {same_top3}/{len(paths)} files; max per-patch probability diff {difference:.3f}")
    ms = conv_times()
    print(f"timbral 7x38 conv, batch 8: float32 {ms['float32']:.1f} ms, bfloat16 {ms['bfloat16']:.1f} ms")


if __name__ == "__main__":
    main()
