"""The front end in ONNX operators against Kapre's: accuracy, speed alone, and whole waveform-in graphs.

Usage:
    .venv/bin/python benchmarks/onnx_frontend.py [--batch 8] [--rounds 3] [--seconds 1.5] [--models M ...]

On the bundled clip's patch windows (`musiczoo_runtime.patching.patch_windows`, hop 1 s):
1. accuracy of the ONNX log-mel against Kapre's (the zoo's patches): largest difference and the share of
   bins above 1e-4, for a float32 and a float64 DFT (`zoo.models.onnx_frontend.DFT_DTYPES`);
2. the front end alone, patches/s: Kapre (the un-centred front end as a tf.function) against ONNX Runtime;
3. per model: the waveform-in graph under ONNX Runtime against what `runtime="onnx"` runs today (Kapre's
   front end, then the log-mel graph under ONNX Runtime), one batch of whole windows each.
Calls alternate one by one in one process (`onnx_network.best_rates`); each figure is the fastest call.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from onnx_network import EXAMPLE, best_rates  # noqa: E402

import zoo  # noqa: E402
from zoo.inference import runtimes  # noqa: E402
from zoo.models.onnx_frontend import DFT_DTYPE, DFT_DTYPES, frontend_model, with_frontend  # noqa: E402
from zoo.models.onnx_graph import OPSET  # noqa: E402
from musiczoo_runtime import machine, patching  # noqa: E402
from musiczoo_runtime.audio import read_file  # noqa: E402
from zoo.signal.streaming import LogmelStream  # noqa: E402


def windows_and_patches():
    """The clip's windows (hop 1 s, whole ones only) `[n, 48128]` and the zoo's patches for them `[n, 187, 96]`."""
    audio, _ = read_file(EXAMPLE)
    starts, windows = patching.patch_windows(audio, 1.0, "drop")
    stream = LogmelStream()
    logmel = np.concatenate([stream.push(audio), stream.finish()])
    return np.stack(windows), patching.cut(logmel, starts)


def kapre_frontend():
    """Kapre's front end without centring, `[batch, 48128]` -> `[batch, 187, 96]`, as a tf.function."""
    import tensorflow as tf

    from zoo.signal.logmel import logmel_frontend

    model = logmel_frontend(center=False)
    function = tf.function(model, input_signature=[tf.TensorSpec([None, None], tf.float32)])
    return lambda x: function(x).numpy()


def onnx_runner(proto, input_name="waveform", outputs=None):
    """An ONNX Runtime session on `proto` with the zoo's settings, as a function of one input."""
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString(), runtimes.session_options(),
                                           providers=["CPUExecutionProvider"])
    return lambda x: session.run(outputs, {input_name: x})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--models", nargs="+")
    args = parser.parse_args()
    import onnx
    import onnxruntime
    import tensorflow as tf

    print(f"CPU: {machine.cpu_name()}, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"TensorFlow {tf.__version__}, ONNX Runtime {onnxruntime.__version__}, batch {args.batch}, "
          f"shipped DFT: {DFT_DTYPE}\n")
    windows, patches = windows_and_patches()
    batch = windows[np.arange(args.batch) % len(windows)]
    kapre = kapre_frontend()
    frontends = {"Kapre (TensorFlow)": kapre}
    print("| front end | max abs difference to Kapre | bins above 1e-4 |\n|---|---|---|")
    for dtype in DFT_DTYPES:
        run = onnx_runner(frontend_model(OPSET, dtype))
        got = np.concatenate([run(windows[i:i + 8])[0] for i in range(0, len(windows), 8)])
        difference = np.abs(got - patches)
        print(f"| ONNX, {dtype} DFT | {difference.max():.2g} | {(difference > 1e-4).sum()} of {difference.size} "
              f"({(difference > 1e-4).mean():.3%}) |")
        frontends[f"ONNX, {dtype} DFT"] = lambda x, run=run: run(x)[0]
    print(f"\nFront end alone, batch {args.batch}, patches/s:")
    for label, rate in best_rates(frontends, batch, args.rounds, args.seconds).items():
        print(f"  {label}: {rate:.1f}")
    print("\n| model | Kapre + log-mel graph (ONNX Runtime) | waveform graph, float32 DFT | float64 DFT | "
          "waveform / Kapre + log-mel |\n|---|---|---|---|---|")
    for name in args.models or zoo.list_models(pretrained="mtt"):
        network = onnx.load(str(runtimes.onnx_path(name, "mtt")))
        logmel_graph = onnx_runner(network, "logmel", ["probabilities"])
        functions = {"split": lambda x, g=logmel_graph: g(kapre(x)),
                     **{dtype: onnx_runner(with_frontend(network, dtype), outputs=["probabilities"])
                        for dtype in DFT_DTYPES}}
        rates = best_rates(functions, batch, args.rounds, args.seconds)
        print(f"| {name} | {rates['split']:.1f} | {rates['float32']:.1f} | {rates['float64']:.1f} | "
              f"{rates[DFT_DTYPE] / rates['split']:.2f}x |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
