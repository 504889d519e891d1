"""Network speed under TensorFlow and ONNX Runtime: patches/s per model x batch size x runtime, side by side.

Usage:
    .venv/bin/python benchmarks/onnx_network.py [--batch 1 8 32] [--rounds 3] [--seconds 1.5] [--write]

Both runtimes run the same real log-mel patches (the bundled clip) with the
functions `zoo.tag` uses (`zoo.inference.runtimes.tensorflow_function` and
`onnx_function`), alternating call by call in one process for `--rounds` x
`--seconds` each; each cell is the batch size over the fastest call. The ONNX session settings are
compared on `timbral_temporal` too (spin-waiting threads, graph optimisation
level). `--write` stores the table, with the CPU's name, as the measurements
`runtime="auto"` decides from (`zoo/inference/runtime_choice.json`).
"""

import argparse
import json
import os
import platform
import subprocess
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import zoo  # noqa: E402
from musiczoo_runtime.atomic import atomic_path  # noqa: E402
from zoo.inference import runtimes  # noqa: E402
from musiczoo_runtime import machine, patching  # noqa: E402
from musiczoo_runtime.audio import read_file  # noqa: E402
from zoo.signal.streaming import LogmelStream  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                       "traveling_minstrels.ogg")


def real_patches(count):
    """`count` log-mel patches `[count, 187, 96]` of the bundled clip (hop 1 s, cycled)."""
    audio, _ = read_file(EXAMPLE)
    stream = LogmelStream()
    logmel = np.concatenate([stream.push(audio), stream.finish()])
    patches = patching.cut(logmel, patching.patch_starts(len(logmel), 62, "drop"), 187)
    return patches[np.arange(count) % len(patches)]


def best_rates(functions, batch, rounds, seconds):
    """{label: patches/s of the fastest call}, the functions called alternately, one call each in turn,
    for `rounds * seconds` per function after one warm-up call each.

    On a machine shared with other jobs the load changes from second to second;
    alternating single calls exposes every function to the same load, and the
    fastest call of many is the one least slowed by it (as `timeit` reports).
    """
    for function in functions.values():
        function(batch)
    times = {label: [] for label in functions}
    start = time.perf_counter()
    while time.perf_counter() - start < rounds * seconds * len(functions):
        for label, function in functions.items():
            began = time.perf_counter()
            function(batch)
            times[label].append(time.perf_counter() - began)
    return {label: len(batch) / min(values) for label, values in times.items()}


def session_variants(batch, rounds, seconds):
    """timbral_temporal under ONNX Runtime with the zoo's session settings and with the library defaults."""
    import onnxruntime

    path = runtimes.onnx_path("timbral_temporal", "mtt")
    variants = {}
    for label, spinning, level in (("zoo: no spinning, all optimisations", "0", "ORT_ENABLE_ALL"),
                                   ("spinning (ONNX Runtime default)", "1", "ORT_ENABLE_ALL"),
                                   ("no spinning, extended optimisations", "0", "ORT_ENABLE_EXTENDED")):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = machine.cores()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        options.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, level)
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        variants[label] = lambda x, session=session: session.run(["probabilities"], {"logmel": x})
    return best_rates(variants, batch, rounds, seconds)


def branch_rates(batch, rounds, seconds):
    """timbral_temporal's timbral and temporal branches alone (log-mel -> branch output), under both runtimes,
    converted as the whole network is."""
    import keras
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    from zoo.models.loading import load
    from zoo.models.onnx_graph import OPSET
    from zoo.models.onnx_pooling import pool_before_batch_norm

    net = load("timbral_temporal", include_frontend=False)
    rates = {}
    for layer in ("timbral", "temporal"):
        part = keras.Model(net.inputs, net.get_layer(layer).output)
        function = tf.function(lambda x, part=part: part(x, training=False))
        spec = (tf.TensorSpec([None, 187, 96], tf.float32, name="logmel"),)
        proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
        pool_before_batch_norm(proto)  # as zoo.models.onnx_graph.convert does
        session = onnxruntime.InferenceSession(proto.SerializeToString(), runtimes.session_options(),
                                               providers=["CPUExecutionProvider"])
        rates[layer] = best_rates({"tensorflow": lambda x, f=function: f(x).numpy(),
                                   "onnx": lambda x, s=session: s.run(None, {"logmel": x})}, batch, rounds, seconds)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--write", action="store_true", help="store the table for runtime='auto'")
    args = parser.parse_args()
    import onnxruntime
    import tensorflow as tf

    cpu = machine.cpu_name()
    load = os.getloadavg()[0]
    print(f"CPU: {cpu} ({platform.machine()}), load average {load:.2f} at the start")
    print(f"TensorFlow {tf.__version__}, ONNX Runtime {onnxruntime.__version__}, "
          f"ONNX Runtime intra-op threads {machine.cores()}\n")
    patches = real_patches(max(args.batch))
    table = {}
    print("| model | batch | TensorFlow patches/s | ONNX Runtime patches/s | ONNX / TF |")
    print("|---|---|---|---|---|")
    for name in args.models or zoo.list_models(pretrained="mtt"):
        functions = {"tensorflow": runtimes.tensorflow_function(name, "mtt"),
                     "onnx": runtimes.onnx_function(name, "mtt")}
        for size in args.batch:
            best = best_rates(functions, patches[:size], args.rounds, args.seconds)
            table.setdefault(name, {})[str(size)] = {key: round(value, 2) for key, value in best.items()}
            print(f"| {name} | {size} | {best['tensorflow']:.1f} | {best['onnx']:.1f} | "
                  f"{best['onnx'] / best['tensorflow']:.2f}x |", flush=True)
    print(f"\ntimbral_temporal's branches alone, batch 8 (load {os.getloadavg()[0]:.2f}):")
    print("| branch | TensorFlow patches/s | ONNX Runtime patches/s | ONNX / TF |\n|---|---|---|---|")
    for layer, best in branch_rates(patches[:8], args.rounds, args.seconds).items():
        print(f"| {layer} | {best['tensorflow']:.1f} | {best['onnx']:.1f} | {best['onnx'] / best['tensorflow']:.2f}x |")
    print(f"\nONNX Runtime session settings, timbral_temporal, batch 8 (load {os.getloadavg()[0]:.2f}):")
    for label, value in session_variants(patches[:8], args.rounds, args.seconds).items():
        print(f"  {label}: {value:.1f} patches/s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.write:
        stored = json.loads(runtimes.CHOICE_TABLE.read_text()) if runtimes.CHOICE_TABLE.exists() else {"cpus": {}}
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        stored["cpus"][cpu] = {**table, "_measured": {
            "command": "benchmarks/onnx_network.py --write", "date": time.strftime("%Y-%m-%d"), "commit": commit,
            "load_average": round(load, 2), "tensorflow": tf.__version__, "onnxruntime": onnxruntime.__version__}}
        with atomic_path(runtimes.CHOICE_TABLE) as tmp:
            tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        print(f"wrote {runtimes.CHOICE_TABLE}")


if __name__ == "__main__":
    main()
