"""Auralisation (Choi, Fazekas and Sandler 2016): what one unit of a convolutional layer hears, as audio.

The unit's feature map is sent back down to the log-mel input by a
deconvolution network (Zeiler and Fergus): max-unpooling with the switches
recorded on the forward pass, ReLU, transposed convolution with the layer's
own kernels, and batch normalisation's scale, layer by layer down to the
input. That is the gradient of the unit's activation with each ReLU's
backward step replaced by a ReLU of the signal coming down, which is how it is
computed here: a copy of the network whose ReLUs carry that backward step,
differentiated with `tf.GradientTape`. The top signal is the unit's positive
activation over the whole patch (every other unit zero); biases and batch-norm
shifts take no part, as in the deconvolution network.

The result, over the recording's log-mel frames, keeps its positive part and is
divided by its maximum: a mask in [0, 1] that `zoo.explain.stft` spreads onto
the STFT bins through the mel filterbank, multiplies into the recording's
complex STFT (its phase kept) and inverts with the front end's window and hop.
"""

from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from musiczoo_runtime.contract import DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH, DEFAULT_MODEL, DEFAULT_WEIGHTS
from musiczoo_runtime.errors import ZooError
from zoo.explain.network import open_network
from zoo.explain.recording import as_recording, frame_values
from zoo.explain.stft import apply_mel_mask

# Layers a deconvolution network can pass back through: convolutions (ReLU or linear), batch normalisation,
# max pooling (with switches), and shape-only or linear plumbing.
PASSABLE = (keras.layers.InputLayer, keras.layers.Reshape, keras.layers.Flatten, keras.layers.ZeroPadding2D,
            keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.BatchNormalization, keras.layers.MaxPooling1D,
            keras.layers.MaxPooling2D, keras.layers.GlobalMaxPooling1D, keras.layers.GlobalMaxPooling2D,
            keras.layers.Concatenate, keras.layers.Add, keras.layers.Dropout)
TARGETS = PASSABLE[4:-1]  # what can be auralised: a layer with units (not the input, a reshape or dropout)
CHUNK = 8  # patches per backward pass


@tf.custom_gradient
def deconv_relu(x):
    """ReLU forward; backward, the ReLU of the signal coming down (the deconvolution network's rectification)."""
    return tf.nn.relu(x), tf.nn.relu


def _path(model, layer):
    """The sub-model from the log-mel input to `layer`'s output (only the layers on that path)."""
    return keras.Model(model.input, model.get_layer(layer).output)


def _passable(model, layer):
    return all(isinstance(op, PASSABLE) for op in _path(model, layer).layers)


def auralisable_layers(network):
    """Names of the layers of a `zoo.explain.network.Network` that can be auralised, in network order."""
    model = network.keras_model
    return [op.name for op in model.layers if isinstance(op, TARGETS) and op.name != "input_bn"
            and _passable(model, op.name)]


def check_layer(network, layer):
    """Raises ZooError unless `layer` exists and can be auralised (the message lists those that can)."""
    names = [op.name for op in network.keras_model.layers]
    if layer not in names:
        raise ZooError(f"{network.name} has no layer {layer!r}; layers that can be auralised: "
                       f"{', '.join(auralisable_layers(network))}")
    if layer not in auralisable_layers(network):
        blocking = [op.name for op in _path(network.keras_model, layer).layers if not isinstance(op, PASSABLE)]
        raise ZooError(f"{layer!r} of {network.name} cannot be auralised: the path from the input to it passes "
                       f"through {', '.join(blocking) or 'a layer that is not a convolution'} (auralisation needs "
                       f"convolutions, ReLUs, batch normalisation and max pooling only); layers that can be "
                       f"auralised: {', '.join(auralisable_layers(network))}")


def _clone(layer):
    """A copy of a path layer; convolutions get the deconvolution network's ReLU."""
    config = layer.get_config()
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)) and config["activation"] == "relu":
        config["activation"] = deconv_relu
    return layer.__class__.from_config(config)


@lru_cache(maxsize=2)
def _deconvolution(model, weights, layer):
    """(tf.function `(patches, unit)` -> input-domain reconstruction `[batch, 187, 96]`, units of the layer)."""
    network = open_network(model, weights)
    check_layer(network, layer)
    path = _path(network.keras_model, layer)
    copy = keras.models.clone_model(path, clone_function=_clone)
    for original in path.layers:
        copy.get_layer(original.name).set_weights(original.get_weights())

    @tf.function(input_signature=[tf.TensorSpec([None, *path.input.shape[1:]], tf.float32),
                                  tf.TensorSpec([], tf.int32)])
    def reconstruct(patches, unit):
        with tf.GradientTape() as tape:
            tape.watch(patches)
            activation = tf.gather(copy(patches, training=False), unit, axis=-1)
            signal = tf.reduce_sum(tf.stop_gradient(tf.nn.relu(activation)) * activation)
        return tape.gradient(signal, patches)

    return reconstruct, int(path.output.shape[-1])


def unit_activity(network, layer, patches):
    """Mean positive activation of every unit of `layer` over `patches` `[units]` (what `--top` ranks by)."""
    function = network.function([layer])
    total = 0.0
    for start in range(0, len(patches), CHUNK):
        values = np.asarray(function(patches[start:start + CHUNK])[0])
        total = total + np.maximum(values, 0).reshape(len(values), -1, values.shape[-1]).mean(axis=1).sum(axis=0)
    return total / len(patches)


def deconvolve(patches, model, weights, layer, units):
    """The deconvolution of each unit's feature map, on the log-mel patches.

    Args:
        patches: log-mel patches `[patches, 187, 96]`.
        model, weights: catalog name and weight tag (or fine-tuned folder and None).
        layer: an auralisable layer.
        units: unit indices.

    Returns:
        `[units, patches, 187, 96]` input-domain reconstructions (signed).

    Raises:
        ZooError: unknown or non-auralisable layer, unit out of range.
    """
    reconstruct, n_units = _deconvolution(model, None if weights is None else str(weights), layer)
    bad = [u for u in units if not 0 <= int(u) < n_units]
    if bad:
        raise ZooError(f"{layer} has units 0 to {n_units - 1}; there is no unit {bad[0]}")
    patches = tf.constant(patches, tf.float32)
    return np.stack([np.concatenate([reconstruct(patches[start:start + CHUNK], tf.constant(int(unit))).numpy()
                                     for start in range(0, len(patches), CHUNK)]) for unit in units])


def mel_mask(reconstruction, starts, n_frames):
    """A recording's mask `[n_frames, 96]` in [0, 1] from per-patch reconstructions `[patches, 187, 96]`."""
    frames = np.maximum(frame_values(reconstruction, starts, n_frames), 0)
    peak = frames.max()
    return frames / peak if peak > 0 else frames


def auralise_units(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layer="timbral_7x38_conv", units=(0,), *,
                   sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """Auralises several units of one layer over one recording (decoded once).

    Args:
        audio, sample_rate, hop_seconds, last_patch: as in `zoo.tag`; `audio` may also be a
            `zoo.explain.recording.Recording` already read.
        model, weights: as in `auralise`.
        layer: an auralisable layer.
        units: unit indices.

    Returns:
        (waveforms `[units, samples]` float32 at 16 kHz, the recording's 16 kHz waveform `[samples]`).
    """
    check_layer(open_network(model, weights), layer)
    recording = as_recording(audio, sample_rate, hop_seconds, last_patch)
    return _auralise_recording(recording, model, weights, layer, units)


def auralise_top_units(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layer="timbral_7x38_conv", n=3, *,
                       sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """Auralises the `n` units of `layer` most active on the recording (mean positive activation), decoded once.

    `audio` is as in `auralise_units` (a `Recording` already read is not decoded again).

    Returns:
        (unit indices, most active first; waveforms `[n, samples]`; the recording's 16 kHz waveform `[samples]`).
    """
    network = open_network(model, weights)
    check_layer(network, layer)
    recording = as_recording(audio, sample_rate, hop_seconds, last_patch)
    units = [int(u) for u in unit_activity(network, layer, recording.patches).argsort()[::-1][:n]]
    return (units, *_auralise_recording(recording, model, weights, layer, units))


def _auralise_recording(recording, model, weights, layer, units):
    """(waveforms `[units, samples]`, the recording's waveform) for a decoded `Recording`."""
    reconstructions = deconvolve(recording.patches, model, weights, layer, units)
    waveforms = [apply_mel_mask(recording.waveform, mel_mask(r, recording.starts, recording.n_frames))
                 for r in reconstructions]
    return np.stack(waveforms), recording.waveform


def auralise(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layer="timbral_7x38_conv", unit=0, *,
             sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """What one unit hears in a recording: the recording masked by the deconvolution of the unit's feature map.

    Args:
        audio: path, or array with `sample_rate`.
        model: catalog name (or a fine-tuned model folder).
        weights: weight tag or file.
        layer: a layer on a path of convolutions, ReLUs, batch norms and max poolings from the input
            (`vgg`/`crnn` conv blocks, the musicnn branches and their pooling).
        unit: the unit (channel) index in that layer.
        sample_rate, hop_seconds, last_patch: as in `zoo.tag`.

    Returns:
        float32 waveform `[samples]` at 16 kHz, as long as the 16 kHz input.

    Raises:
        ZooError: unreadable audio, unknown layer, a layer after a dense or recurrent layer (the message
            lists the layers that can be auralised), or a unit out of range.
    """
    waveforms, _ = auralise_units(audio, model, weights, layer, (unit,), sample_rate=sample_rate,
                                  hop_seconds=hop_seconds, last_patch=last_patch)
    return waveforms[0]
