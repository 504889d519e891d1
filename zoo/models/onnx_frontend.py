"""The log-mel front end as standard ONNX operators, and the waveform-in graph it makes with a network's graph.

Input contract of the waveform-in graphs: `waveform [batch, samples]`, float32,
16 kHz, the samples of ONE patch's window of the recording after the
recording was reflect-padded by 256 samples at its two ends (once, as
`zoo.tag` pads the whole recording; `musiczoo_runtime.patching.patch_windows` cuts
them). The graph frames the window without centring: `1 + (samples - 512) //
256` frames (48,128 samples give the patch's 187; samples >= 512), then
repeat-pads those frames to 187 as `musiczoo_runtime.patching.repeat_to` does (a
short final window gives exactly the zoo's partial patch) and crops longer
windows to 187. Every row of a batch has the same length: batch the whole
windows, and run a short final window on its own.

Steps (the Kapre front end's, `zoo.signal.logmel`): the frames gathered into
`[batch, frames, 512]`; the real DFT of each as a `MatMul` by a fixed basis,
the periodic Hann window (tf.signal.hann_window, as Kapre's) times the cosine
and sine of the 257 bins, in float32 or float64 (`DFT_DTYPE`); `re^2 + im^2`;
a `MatMul` by the mel matrix that Kapre builds
(`kapre.backend.filterbank_mel`); rounding to float16 with saturation at
65504; `log10(1 + 10000 mel)`. onnx, kapre and TensorFlow are imported only
when a graph is built.
"""

import json
import math

import numpy as np

from musiczoo_runtime.contract import (
    FLOAT16_MAX,
    HOP_LENGTH,
    LOG_SCALE,
    N_FFT,
    N_MELS,
    PATCH_FRAMES,
    PATCH_WINDOW_SAMPLES,
)

REVISION = 1  # of the front-end graph; part of the cache key of waveform-in graphs
DFT_DTYPES = ("float32", "float64")
DFT_DTYPE = "float32"  # benchmarks/onnx_frontend.py measures both: float64 halves the bins off Kapre's, at a cost
INPUT = "waveform"
LOGMEL = "logmel"
INPUTS = (INPUT, LOGMEL)  # the two kinds of graph: waveform in (this module's front end first) or log-mel in
PREFIX = "frontend/"
BINS = N_FFT // 2 + 1


def dft_basis():
    """The windowed real-DFT basis `[512, 2 * 257]` float64: cosines, then minus sines, times Kapre's window.

    Kapre's window is tf.signal.hann_window (periodic, float32); the basis is built in float64 from it.
    """
    import tensorflow as tf

    from zoo.signal.logmel import STFT_WINDOW

    window = getattr(tf.signal, STFT_WINDOW)(N_FFT, dtype=tf.float32).numpy().astype(np.float64)
    angle = 2.0 * np.pi * np.outer(np.arange(N_FFT), np.arange(BINS)) / N_FFT
    return np.concatenate([np.cos(angle), -np.sin(angle)], axis=1) * window[:, None]


def mel_matrix():
    """The mel filterbank `[257, 96]` float32, from the function Kapre's ApplyFilterbank calls."""
    import kapre

    from zoo.signal.logmel import MEL_FILTERBANK

    return np.asarray(kapre.backend.filterbank_mel(**MEL_FILTERBANK), dtype=np.float32)


def frontend_nodes(dft_dtype=DFT_DTYPE):
    """The front end's nodes and initializers, `waveform [batch, samples]` -> `logmel [batch, 187, 96]`.

    Args:
        dft_dtype: "float32" or "float64": the precision of the DFT and the power spectrum (the
            mel product and what follows are float32, as Kapre's).

    Returns:
        (list of onnx.NodeProto, list of onnx.TensorProto); every internal name starts with `PREFIX`.
    """
    from onnx import TensorProto, helper, numpy_helper

    if dft_dtype not in DFT_DTYPES:
        raise ValueError(f"dft_dtype must be one of {DFT_DTYPES}, not {dft_dtype!r}")
    onnx_dtype = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}[dft_dtype]

    def name(text):
        return PREFIX + text

    constants = {
        "basis": dft_basis().astype(dft_dtype),
        "mel": mel_matrix(),
        "n_fft": np.array([N_FFT], np.int64),
        "hop": np.array([HOP_LENGTH], np.int64),
        "hop_scalar": np.array(HOP_LENGTH, np.int64),
        "offsets": np.arange(N_FFT, dtype=np.int64)[None],
        "axis1": np.array([1], np.int64),
        "split": np.array([BINS, BINS], np.int64),
        "float16_max": np.array(FLOAT16_MAX, np.float32),
        "scale": np.array(LOG_SCALE, np.float32),
        "one": np.array(1.0, np.float32),
        "ln10": np.array(math.log(10.0), np.float32),
        "patch_frames": np.array(PATCH_FRAMES, np.int64),
        "zero": np.array(0, np.int64),
        "step": np.array(1, np.int64),
    }
    initializers = [numpy_helper.from_array(value, name(key)) for key, value in constants.items()]
    node = helper.make_node
    nodes = [
        # frame f holds samples [256 f, 256 f + 512): 1 + (samples - 512) // 256 frames, gathered
        node("Shape", [INPUT], [name("samples")], start=1, end=2),
        node("Sub", [name("samples"), name("n_fft")], [name("tail")]),
        node("Div", [name("tail"), name("hop")], [name("last_frame")]),
        node("Squeeze", [name("last_frame")], [name("last")]),
        node("Add", [name("last"), name("step")], [name("frame_count")]),
        node("Range", [name("zero"), name("frame_count"), name("step")], [name("frame_index")]),
        node("Mul", [name("frame_index"), name("hop_scalar")], [name("frame_start")]),
        node("Unsqueeze", [name("frame_start"), name("axis1")], [name("frame_column")]),
        node("Add", [name("frame_column"), name("offsets")], [name("sample_index")]),  # [frames, 512]
        node("Cast", [INPUT], [name("signal")], to=onnx_dtype),
        node("Gather", [name("signal"), name("sample_index")], [name("frames")], axis=1),  # [batch, frames, 512]
        node("MatMul", [name("frames"), name("basis")], [name("spectrum")]),  # [batch, frames, 514]
        node("Split", [name("spectrum"), name("split")], [name("real"), name("imaginary")], axis=2),
        node("Mul", [name("real"), name("real")], [name("real2")]),
        node("Mul", [name("imaginary"), name("imaginary")], [name("imaginary2")]),
        node("Add", [name("real2"), name("imaginary2")], [name("power_dft")]),
        node("Cast", [name("power_dft")], [name("power")], to=TensorProto.FLOAT),  # [batch, frames, 257]
        node("MatMul", [name("power"), name("mel")], [name("melspec")]),  # [batch, frames, 96]
        node("Min", [name("melspec"), name("float16_max")], [name("saturated")]),
        node("Cast", [name("saturated")], [name("half")], to=TensorProto.FLOAT16),
        node("Cast", [name("half")], [name("stored")], to=TensorProto.FLOAT),
        node("Mul", [name("stored"), name("scale")], [name("scaled")]),
        node("Add", [name("scaled"), name("one")], [name("shifted")]),
        node("Log", [name("shifted")], [name("ln")]),
        node("Div", [name("ln"), name("ln10")], [name("frames_logmel")]),
        # repeat-pad (or crop) the frames to 187: frame i of the patch is frame i mod frames
        node("Range", [name("zero"), name("patch_frames"), name("step")], [name("positions")]),
        node("Mod", [name("positions"), name("frame_count")], [name("indices")]),
        node("Gather", [name("frames_logmel"), name("indices")], [LOGMEL], axis=1),
    ]
    return nodes, initializers


def input_contract():
    """The waveform input's description for the metadata (a JSON-ready dict)."""
    return {
        "name": INPUT,
        "shape": ["batch", "samples"],
        "dtype": "float32",
        "samples": PATCH_WINDOW_SAMPLES,
        "contract": "16 kHz mono; reflect-pad the whole recording by n_fft/2 = 256 samples at both ends once; "
                    "the patch starting at frame s is padded samples [256 s, 256 s + 48128); a shorter final "
                    "window (>= 512 samples) gives 1 + (samples - 512) // 256 frames, repeat-padded to 187; "
                    "patch starts as musiczoo_runtime.patching.patch_starts (hop in frames, int(seconds * 16000 / 256))",
    }


def frontend_model(opset, dft_dtype=DFT_DTYPE):
    """The front end alone as an ONNX model: `waveform [batch, samples]` -> `logmel [batch, 187, 96]`.

    Args:
        opset: the ONNX opset (at least 15).
        dft_dtype: as in `frontend_nodes`.
    """
    from onnx import TensorProto, helper

    nodes, initializers = frontend_nodes(dft_dtype)
    graph = helper.make_graph(
        nodes, "musiczoo_frontend",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info(LOGMEL, TensorProto.FLOAT, ["batch", PATCH_FRAMES, N_MELS])],
        initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="musiczoo")


def with_frontend(network):
    """A copy of a log-mel-in network graph (`zoo.models.onnx_graph.convert`) with the front end before it.

    Args:
        network: onnx.ModelProto with input `logmel [batch, 187, 96]`.

    Returns:
        onnx.ModelProto: input `waveform [batch, samples]` (see the module's contract), the same
        outputs, the metadata's `musiczoo.input` and `musiczoo.conversion` describing the front end.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.ModelProto()
    model.CopyFrom(network)
    graph = model.graph
    nodes, initializers = frontend_nodes()
    old_nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*nodes, *old_nodes])
    graph.initializer.extend(initializers)
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", "samples"]))
    meta = {entry.key: entry.value for entry in model.metadata_props}
    meta["musiczoo.input"] = json.dumps(input_contract())
    meta["musiczoo.conversion"] += (f"; front end in ONNX operators (Conv DFT, mel MatMul, float16 rounding, "
                                    f"log10; revision {REVISION})")
    del model.metadata_props[:]
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model
