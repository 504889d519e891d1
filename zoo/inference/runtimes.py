"""The engine that runs a network on log-mel patches: TensorFlow (Keras), ONNX Runtime, or the faster one.

`network(model, weights, outputs, runtime, precision, batch_size)` returns the
patch function the pipeline calls, `[batch, 187, 96]` -> a list of arrays, one
per output. Under ONNX Runtime no Keras model is built: the network's ONNX
graph is converted once per weight file and cached under
`musiczoo_runtime.contract.cache_dir()`, keyed by the file's sha256 (and the musiczoo
version and conversion revision that made the graph), written atomically. `auto` takes the
runtime that is faster for this model and batch size on this CPU: from the
table `runtime_choice.json` that `benchmarks/onnx_network.py` measured, or,
on a CPU the table does not know, from a short calibration on first use,
cached beside the ONNX graphs.
"""

import json
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from zoo import __version__
from musiczoo_runtime import checks
from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.choices import PRECISIONS, RUNTIMES
from musiczoo_runtime.contract import N_MELS, PATCH_FRAMES, PATCH_SECONDS, cache_dir
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.machine import cores, cpu_name
from zoo.models.catalog import card

CHOICE_TABLE = Path(__file__).with_name("runtime_choice.json")
CALIBRATION_SECONDS = 2.0  # per runtime, split over the alternating rounds, on first use of `auto` on a CPU the table lacks


def patch_function(network, frames=PATCH_FRAMES):
    """A log-mel Keras network as a tf.function `[batch, frames, 96]` -> its outputs as float32, in inference mode.

    Args:
        network: a Keras model on log-mel input.
        frames: frames per input (None for any length).
    """
    import tensorflow as tf

    spec = tf.TensorSpec([None, frames, N_MELS], tf.float32)
    return tf.function(lambda x: tf.nest.map_structure(lambda y: tf.cast(y, tf.float32), network(x, training=False)),
                       input_signature=[spec])


def tensorflow_function(model, weights, outputs=None, precision="float32"):
    """A catalog model on log-mel patches (with its top) returning the `outputs` layers, as a tf.function.

    `precision="bfloat16"` computes under Keras' mixed_bfloat16 policy (float32
    weights, bfloat16 arithmetic); it is meant for CPUs with bfloat16 matrix
    units (AMX) and is slower on the machine of benchmarks/RESULTS.md.

    Args:
        model: catalog name.
        weights: weight tag or file.
        outputs: tuple of layer names, or None for the probabilities.
        precision: "float32" or "bfloat16".
    """
    import keras

    from zoo.models.loading import load

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        net = load(model, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    finally:
        keras.config.set_dtype_policy(previous)
    if outputs is not None:
        net = keras.Model(net.inputs, [net.get_layer(name).output for name in outputs])
    return patch_function(net)


def onnx_path(model, weights, input="logmel"):
    """The cached ONNX graph of `model` with pretrained `weights`, converted on first use.

    Args:
        model: catalog name.
        weights: weight tag.
        input: "logmel" (the network alone, `logmel [batch, 187, 96]`) or "waveform" (the front end
            in ONNX operators before it, `zoo.models.onnx_frontend`), made from the log-mel graph.

    Returns:
        Path `cache_dir()/onnx/<musiczoo version>-<conversion revision>/<model>.<weights sha256>.onnx`,
        or `....<weights sha256>.waveform-<front-end revision>.onnx`.

    Raises:
        ZooError: unknown model, weights or input, or weights given as a file (they have no card).
    """
    from zoo.models.catalog import weights_file
    from zoo.models.onnx_frontend import INPUTS
    from zoo.models.onnx_frontend import REVISION as FRONTEND_REVISION
    from zoo.models.onnx_graph import REVISION, convert

    if input not in INPUTS:
        raise ZooError(f"the ONNX graph's input must be one of {', '.join(INPUTS)}, not {input!r}")
    if checks.is_weight_file(weights):
        raise ZooError(f"runtime='onnx' takes pretrained weight tags, not the file {weights}: "
                       "use runtime='tensorflow' for weight files")
    info = card(model, weights)
    weights_file(model, weights)  # the file on disk must still be the one the manifest names, cached graph or not
    folder = cache_dir() / "onnx" / f"{__version__}-{REVISION}"
    path = folder / f"{model}.{info.sha256}.onnx"
    if not path.exists():
        proto = convert(model, weights, __version__)
        with atomic_path(path) as tmp:
            tmp.write_bytes(proto.SerializeToString())
    if input == "logmel":
        return path
    waveform_path = folder / f"{model}.{info.sha256}.waveform-{FRONTEND_REVISION}.onnx"
    if not waveform_path.exists():
        import onnx

        from zoo.models.onnx_frontend import with_frontend

        proto = with_frontend(onnx.load(str(path)))
        with atomic_path(waveform_path) as tmp:
            tmp.write_bytes(proto.SerializeToString())
    return waveform_path


def session_options(threads=None):
    """ONNX Runtime session options: `threads` intra-op threads (None: one per available core), no spin-waiting.

    Spinning threads would take the core the pipeline's reader thread decodes on
    (benchmarks/RESULTS.md measures both settings).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def session(path, threads=None):
    """An ONNX Runtime CPU session on the graph at `path`, with `session_options(threads)`."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])


def onnx_function(model, weights, outputs=None, threads=None):
    """A catalog model under ONNX Runtime: `[batch, 187, 96]` -> list of arrays, one per output.

    Args:
        model: catalog name.
        weights: weight tag.
        outputs: tuple of layer names, or None for the probabilities.
        threads: intra-op threads (None: one per available core).
    """
    from zoo.models.onnx_graph import INPUT, PROBABILITIES

    path = onnx_path(model, weights)
    try:
        runner = session(path, threads)
    except Exception:  # noqa: BLE001 - an unreadable cached graph is rebuilt once; a second failure surfaces
        path.unlink(missing_ok=True)
        runner = session(onnx_path(model, weights), threads)
    names = [PROBABILITIES] if outputs is None else list(outputs)
    return lambda patches: runner.run(names, {INPUT: np.asarray(patches, np.float32)})


def _measure(functions, batch, rounds=3):
    """Best patches per second of each function on `batch`, the functions taking turns loop by loop.

    Alternating keeps a shared machine's changing load from favouring whichever runtime ran first.

    Args:
        functions: {runtime name: patch function}.
        batch: float32 array `[batch, 187, 96]`.

    Returns:
        {runtime name: patches per second}.
    """
    best = dict.fromkeys(functions, 0.0)
    for function in functions.values():
        function(batch)  # warm-up (tracing, memory planning)
    for _ in range(rounds):
        for name, function in functions.items():
            count, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < CALIBRATION_SECONDS / rounds:
                function(batch)
                count += len(batch)
            best[name] = max(best[name], count / elapsed)
    return best


def _calibrations():
    """This machine's cached calibrations: (their file, {cpu: {model: {batch size: speeds}}})."""
    path = cache_dir() / "onnx" / "calibration.json"
    return path, json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@lru_cache(maxsize=1)
def _table():
    """Patches per second by CPU, model, batch size and runtime.

    This machine's calibrations fill only what the shipped table lacks: a benchmark's
    measurement (quiet machine, many rounds) is never replaced by a one-second calibration.
    """
    _, table = _calibrations()
    shipped = json.loads(CHOICE_TABLE.read_text(encoding="utf-8"))["cpus"] if CHOICE_TABLE.exists() else {}
    for cpu, rows in shipped.items():
        table.setdefault(cpu, {}).update(rows)
    return table


def _calibrate(model, weights, batch_size):
    """Measures both runtimes on this CPU for one model and batch size and caches the result."""
    batch = np.random.default_rng(0).uniform(0.0, 3.0, (batch_size, PATCH_FRAMES, N_MELS)).astype(np.float32)
    speeds = _measure({"tensorflow": tensorflow_function(model, weights), "onnx": onnx_function(model, weights)},
                      batch)
    path, stored = _calibrations()
    stored.setdefault(cpu_name(), {}).setdefault(model, {})[str(batch_size)] = speeds
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(stored, indent=1), encoding="utf-8")
    _table.cache_clear()
    return speeds


def choose(model, weights, batch_size):
    """The faster runtime for `model` at `batch_size` on this CPU: "tensorflow" or "onnx".

    Reads the measured table (the nearest measured batch size), or calibrates
    once on a CPU or model the table lacks.
    """
    rows = _table().get(cpu_name(), {}).get(model)
    if not rows:
        speeds = _calibrate(model, weights, batch_size)
    else:
        nearest = min(rows, key=lambda size: (abs(np.log(int(size) / batch_size)), int(size)))
        speeds = rows[nearest]
    return max(("tensorflow", "onnx"), key=lambda runtime: speeds[runtime])


def resolve(model, weights, runtime, precision, batch_size):
    """The concrete runtime ("tensorflow" or "onnx") that `runtime` means for this call.

    Raises:
        ZooError: unknown runtime or precision, or bfloat16 asked of ONNX Runtime.
    """
    if runtime not in RUNTIMES:
        raise ZooError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if precision not in PRECISIONS:
        raise ZooError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    untagged = weights is None or checks.is_weight_file(weights)
    if precision == "bfloat16" or untagged:
        if runtime == "onnx":
            raise ZooError("runtime='onnx' runs float32 networks with pretrained weight tags; "
                           "use runtime='tensorflow' for bfloat16, random weights (None) or a weight file")
        return "tensorflow"
    return choose(model, weights, batch_size) if runtime == "auto" else runtime


def network(model, weights, outputs=None, runtime="auto", precision="float32", batch_size=8, threads=None):
    """The patch function of a catalog model under `runtime`: `[batch, 187, 96]` -> its outputs.

    Args:
        model: catalog name.
        weights: weight tag (or a `.weights.h5` file, TensorFlow only).
        outputs: tuple of layer names, or None for the probabilities.
        runtime: "tensorflow", "onnx" or "auto" (the faster on this CPU at `batch_size`).
        precision: "float32" or "bfloat16" (TensorFlow only).
        batch_size: patches per call (what `auto` decides for).
        threads: ONNX Runtime's intra-op threads (None: every core); TensorFlow's thread pools belong to
            the process (`zoo.scale.beam_io.limit_threads`).

    Returns:
        callable taking a float32 array `[batch, 187, 96]`.
    """
    if resolve(model, weights, runtime, precision, batch_size) == "onnx":
        return onnx_function(model, weights, outputs, threads)
    return tensorflow_function(model, weights, outputs, precision)
