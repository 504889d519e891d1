"""Zoo-free models: the log-mel front end rebuilt from built-in Keras and Kapre layers.

A fine-tuned `model.keras` must reload with Keras and Kapre alone (no `zoo`
import): `import kapre, keras; keras.saving.load_model("OUT/model.keras")`.
To make that possible the front end's four small zoo layers are replaced by
compositions of built-in layers computing the same numbers, and the backbone
and head are plain `keras.Model`s.
"""

import kapre
import keras
import numpy as np

from musiczoo_runtime.contract import FLOAT16_MAX, PATCH_SAMPLES, PATCH_SECONDS, frames_in, samples_in
from musiczoo_runtime.errors import ZooError
from zoo.models.loading import load
from zoo.signal import logmel

HEAD_DROPOUT = 0.25
DECIBEL_RANGE = 1000.0  # wider than any log10(1 + 1e4 * mel) output (< 9 bels), so Kapre never clips


def _center_pad(x, layer):
    """CenterPad as Keras layers: `[batch, L]` -> `[batch, L + 2 p]` (L must be known)."""
    length, pad = x.shape[1], layer.padding
    if length is None or length <= pad:
        raise ZooError(f"a portable front end needs a fixed input of more than {pad} samples, not {length}")
    column = keras.layers.Reshape((length, 1), name=f"{layer.name}_column")(x)
    if layer.mode == "constant":
        padded = keras.layers.ZeroPadding1D(pad, name=f"{layer.name}_zeros")(column)
        return keras.layers.Reshape((length + 2 * pad,), name=layer.name)(padded)
    # reflect: x[p..1] before the signal and x[L-2..L-1-p] after it, reversed by a fixed permutation matrix
    flip = keras.layers.Dense(pad, use_bias=False, trainable=False, name=f"{layer.name}_flip")
    ends = []
    for name, crop in (("start", (1, length - 1 - pad)), ("end", (length - 1 - pad, 1))):
        piece = keras.layers.Cropping1D(crop, name=f"{layer.name}_{name}")(column)
        ends.append(flip(keras.layers.Reshape((pad,), name=f"{layer.name}_{name}_flat")(piece)))
    flip.set_weights([np.eye(pad, dtype="float32")[::-1]])
    return keras.layers.Concatenate(axis=1, name=layer.name)([ends[0], x, ends[1]])


def _log_compression(x, layer):
    """LogCompression as Keras and Kapre layers: saturate, round to float16, 1 + scale x, log10."""
    if layer.float16_rounding:
        x = keras.layers.ReLU(max_value=FLOAT16_MAX, name=f"{layer.name}_saturate")(x)
        x = keras.layers.Identity(dtype="float16", name=f"{layer.name}_float16")(x)
    x = keras.layers.Rescaling(layer.scale, offset=1.0, dtype="float32", name=f"{layer.name}_affine")(x)
    x = kapre.MagnitudeToDecibel(ref_value=1.0, amin=1e-5, dynamic_range=DECIBEL_RANGE,
                                 name=f"{layer.name}_decibel")(x)
    return keras.layers.Rescaling(0.1, name=layer.name)(x)


def _portable(layer, x):
    """Applies `layer`, or built-in Keras/Kapre layers computing the same, to tensor `x`."""
    if isinstance(layer, logmel.CenterPad):
        return _center_pad(x, layer)
    if isinstance(layer, logmel.Power):
        if layer.exponent != 2.0:
            raise ZooError(f"no portable form of Power({layer.exponent}); only squaring is supported")
        return keras.layers.Multiply(name=layer.name)([x, x])
    if isinstance(layer, logmel.LogCompression):
        return _log_compression(x, layer)
    if isinstance(layer, logmel.CropFrames):
        return keras.layers.Cropping1D((0, x.shape[1] - layer.n_frames), name=layer.name)(x)
    if not type(layer).__module__.startswith(("keras.", "kapre.")):
        raise ZooError(f"front-end layer {layer.name} ({type(layer).__name__}) has no portable form")
    return type(layer).from_config(layer.get_config())(x)


def portable_frontend(seconds=PATCH_SECONDS):
    """The log-mel front end built from Keras and Kapre layers only, for zoo-free reloading.

    Numerically the same as `zoo.signal.logmel.logmel_frontend` (within float32 rounding of the
    logarithm); a `.keras` file holding it loads after `import kapre` without `zoo`.

    Args:
        seconds: fixed patch length.

    Returns:
        keras.Model "frontend": waveform `[batch, samples_in(seconds)]` -> log-mel `[batch, frames_in(seconds), 96]`.
    """
    reference = logmel.logmel_frontend(samples_in(seconds), frames_in(seconds))
    waveform = keras.Input(reference.input.shape[1:], dtype="float32", name="waveform")
    x = waveform
    for layer in reference.layers[1:]:
        x = _portable(layer, x)
    return keras.Model(waveform, x, name="frontend")


def classifier_model(model, weights, classes, multi_label, pooling="avg"):
    """Backbone plus a new head, as nested plain Keras models (no zoo classes or layers).

    Args:
        model: catalog name.
        weights: weight tag, None or a weight file, as in `zoo.load`.
        classes: outputs of the head.
        multi_label: sigmoid outputs if True, else softmax.
        pooling: "avg" or "max" over the backbone's output.

    Returns:
        keras.Model waveform `[batch, 48000]` -> `probabilities [batch, classes]`, whose
        sub-models are "frontend" (frozen), "backbone" (frozen, always in inference mode) and "head".
    """
    if pooling not in ("avg", "max"):
        raise ZooError(f"pooling must be 'avg' or 'max' for a new head, not {pooling!r}")
    zoo_backbone = load(model, weights=weights, include_top=False, include_frontend=False, pooling=pooling,
                        input_seconds=PATCH_SECONDS)
    backbone = keras.Model(zoo_backbone.input, zoo_backbone.output, name="backbone")
    backbone.trainable = False
    front = portable_frontend()
    front.trainable = False
    head = keras.Sequential([
        keras.Input(backbone.output.shape[1:], name="embedding"),
        keras.layers.Dropout(HEAD_DROPOUT, name="head_dropout"),
        keras.layers.Dense(classes, activation="sigmoid" if multi_label else "softmax", name="probabilities"),
    ], name="head")
    waveform = keras.Input((PATCH_SAMPLES,), dtype="float32", name="waveform")
    embedding = backbone(front(waveform), training=False)
    return keras.Model(waveform, head(embedding), name=f"{model}_transfer")
