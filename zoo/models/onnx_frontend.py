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

Steps (the Kapre front end's, `zoo.signal.logmel`): frames as pairs of
consecutive 256-sample blocks (the hop is half the frame); the periodic Hann
window (tf.signal.hann_window, as Kapre's); the real DFT in two stages of
`MatMul`s by fixed cosine/sine matrices (32 x 16 points, a twiddle between:
a fifth of a direct 512-point DFT's multiplications, and fewer float32
roundings per bin), in float32 or float64 (`DFT_DTYPE`); `re^2 + im^2`; a
`MatMul` by the mel matrix that Kapre builds
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

REVISION = 2  # of the front-end graph; part of the cache key of waveform-in graphs
DFT_DTYPES = ("float32", "float64")
# benchmarks/onnx_frontend.py: a float64 DFT leaves 0.033% of the bins one float16 step off Kapre's (its own
# rounding), float32 0.053%, and float32 runs the front end 4.4x faster
DFT_DTYPE = "float32"
INPUT = "waveform"
LOGMEL = "logmel"
INPUTS = (INPUT, LOGMEL)  # the two kinds of graph: waveform in (this module's front end first) or log-mel in
PREFIX = "frontend/"
BINS = N_FFT // 2 + 1
FIRST, SECOND = 32, 16  # the DFT's two stages: N_FFT = FIRST * SECOND
OUTER_BINS = BINS // FIRST + 1  # second-stage outputs kept: bins up to FIRST * OUTER_BINS - 1 >= 256


def stft_window():
    """Kapre's STFT window `[512]` (tf.signal.hann_window, periodic), float32 values as float64."""
    import tensorflow as tf

    from zoo.signal.logmel import STFT_WINDOW

    return getattr(tf.signal, STFT_WINDOW)(N_FFT, dtype=tf.float32).numpy().astype(np.float64)


def dft_factors():
    """The constants of the two-stage DFT of `frontend_nodes`, float64.

    A frame's sample n = 16 a + b (a < 32, b < 16) and bin k = k1 + 32 k2: a 32-point DFT over a for each
    b, a twiddle e^(-2 pi i b k1 / 512), then a 16-point DFT over b for k2 < 9 (bins 0..287, of which
    0..256 are kept).

    Returns:
        dict: `window [32, 16]` (index a, b), `stage1_cos` and `stage1_sin [32, 32]` (a x k1; the sine
        negated), `twiddle_cos` and `twiddle_sin [16, 32]` (b x k1), `stage2 [32, 18]` (rows: real then
        imaginary part over b; columns: real then imaginary part over k2).
    """
    a = np.arange(FIRST)
    inner = 2.0 * np.pi * np.outer(a, a) / FIRST
    twiddle = 2.0 * np.pi * np.outer(np.arange(SECOND), a) / N_FFT
    outer = 2.0 * np.pi * np.outer(np.arange(SECOND), np.arange(OUTER_BINS)) / SECOND
    cos, sin = np.cos(outer), np.sin(outer)
    return {
        "window": stft_window().reshape(FIRST, SECOND),
        "stage1_cos": np.cos(inner),
        "stage1_sin": -np.sin(inner),
        "twiddle_cos": np.cos(twiddle),
        "twiddle_sin": np.sin(twiddle),
        "stage2": np.block([[cos, -sin], [sin, cos]]),
    }


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
        **{key: value.astype(dft_dtype) for key, value in dft_factors().items()},
        "mel": mel_matrix(),
        "hop": np.array([HOP_LENGTH], np.int64),
        "one_block": np.array([1], np.int64),
        "all_but_last": np.array([-1], np.int64),
        "no_end": np.array([np.iinfo(np.int64).max], np.int64),
        "axis1": np.array([1], np.int64),
        "blocks_shape": np.array([0, -1, HOP_LENGTH], np.int64),
        "frames_shape": np.array([0, 0, FIRST, SECOND], np.int64),
        "outer_halves": np.array([OUTER_BINS, OUTER_BINS], np.int64),
        "bins_shape": np.array([0, 0, FIRST * OUTER_BINS], np.int64),
        "bins_start": np.array([0], np.int64),
        "bins_end": np.array([BINS], np.int64),
        "last_axis": np.array([2], np.int64),
        "float16_max": np.array(FLOAT16_MAX, np.float32),
        "scale": np.array(LOG_SCALE, np.float32),
        "one": np.array(1.0, np.float32),
        "ln10": np.array(math.log(10.0), np.float32),
        "patch_frames": np.array(PATCH_FRAMES, np.int64),
        "zero": np.array(0, np.int64),
        "step": np.array(1, np.int64),
        "zero_1d": np.array([0], np.int64),
    }
    initializers = [numpy_helper.from_array(value, name(key)) for key, value in constants.items()]
    node = helper.make_node
    nodes = [
        # frame f is blocks f and f + 1 of 256 samples (N_FFT == 2 * HOP_LENGTH): 1 + (samples - 512) // 256
        node("Shape", [INPUT], [name("samples")], start=1, end=2),
        node("Div", [name("samples"), name("hop")], [name("block_count")]),
        node("Mul", [name("block_count"), name("hop")], [name("used")]),
        node("Slice", [INPUT, name("zero_1d"), name("used"), name("axis1")], [name("whole_blocks")]),
        node("Reshape", [name("whole_blocks"), name("blocks_shape")], [name("blocks")]),  # [batch, frames + 1, 256]
        node("Slice", [name("blocks"), name("zero_1d"), name("all_but_last"), name("axis1")], [name("first_half")]),
        node("Slice", [name("blocks"), name("one_block"), name("no_end"), name("axis1")], [name("second_half")]),
        node("Concat", [name("first_half"), name("second_half")], [name("frames_flat")], axis=2),
        node("Shape", [name("frames_flat")], [name("frames_dim")], start=1, end=2),
        node("Squeeze", [name("frames_dim")], [name("frame_count")]),
        # sample n = 16 a + b of a frame at [a, b]: a 32-point DFT over a, a twiddle, a 16-point DFT over b
        node("Reshape", [name("frames_flat"), name("frames_shape")], [name("frames_a_b")]),  # [batch, frames, 32, 16]
        node("Cast", [name("frames_a_b")], [name("frames")], to=onnx_dtype),
        node("Mul", [name("frames"), name("window")], [name("windowed")]),
        node("Transpose", [name("windowed")], [name("windowed_b_a")], perm=[0, 1, 3, 2]),
        node("MatMul", [name("windowed_b_a"), name("stage1_cos")], [name("y_real")]),  # [batch, frames, 16, 32]
        node("MatMul", [name("windowed_b_a"), name("stage1_sin")], [name("y_imag")]),
        node("Mul", [name("y_real"), name("twiddle_cos")], [name("rc")]),
        node("Mul", [name("y_imag"), name("twiddle_sin")], [name("is")]),
        node("Add", [name("rc"), name("is")], [name("z_real")]),
        node("Mul", [name("y_imag"), name("twiddle_cos")], [name("ic")]),
        node("Mul", [name("y_real"), name("twiddle_sin")], [name("rs")]),
        node("Sub", [name("ic"), name("rs")], [name("z_imag")]),
        node("Concat", [name("z_real"), name("z_imag")], [name("z")], axis=2),  # [batch, frames, 32, 32 (k1)]
        node("Transpose", [name("z")], [name("z_t")], perm=[0, 1, 3, 2]),
        node("MatMul", [name("z_t"), name("stage2")], [name("spectrum")]),  # [batch, frames, 32 (k1), 18]
        node("Split", [name("spectrum"), name("outer_halves")], [name("real"), name("imaginary")], axis=3),
        node("Mul", [name("real"), name("real")], [name("real2")]),
        node("Mul", [name("imaginary"), name("imaginary")], [name("imaginary2")]),
        node("Add", [name("real2"), name("imaginary2")], [name("power_k1_k2")]),
        node("Transpose", [name("power_k1_k2")], [name("power_k2_k1")], perm=[0, 1, 3, 2]),
        node("Reshape", [name("power_k2_k1"), name("bins_shape")], [name("power_all")]),  # bin k2 * 32 + k1
        node("Slice", [name("power_all"), name("bins_start"), name("bins_end"), name("last_axis")],
             [name("power_dft")]),
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


def with_frontend(network, dft_dtype=DFT_DTYPE):
    """A copy of a log-mel-in network graph (`zoo.models.onnx_graph.convert`) with the front end before it.

    Args:
        network: onnx.ModelProto with input `logmel [batch, 187, 96]`.
        dft_dtype: as in `frontend_nodes`.

    Returns:
        onnx.ModelProto: input `waveform [batch, samples]` (see the module's contract), the same
        outputs, the metadata's `musiczoo.input` and `musiczoo.conversion` describing the front end.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.ModelProto()
    model.CopyFrom(network)
    graph = model.graph
    nodes, initializers = frontend_nodes(dft_dtype)
    old_nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*nodes, *old_nodes])
    graph.initializer.extend(initializers)
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", "samples"]))
    meta = {entry.key: entry.value for entry in model.metadata_props}
    meta["musiczoo.input"] = json.dumps(input_contract())
    meta["musiczoo.conversion"] += (f"; front end in ONNX operators ({dft_dtype} two-stage DFT as MatMuls, "
                                    f"mel MatMul, float16 rounding, log10; revision {REVISION})")
    del model.metadata_props[:]
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model
