"""The log-mel front end, on the graph: float32 16 kHz waveform -> the musicnn log-mel patch.

The numbers the musicnn weights were trained with are part of their contract:
centred STFT (reflect padding of n_fft/2 at both ends), n_fft 512, hop 256, Hann
window, power spectrum, 96 Slaney mel bands from 0 to 8 kHz, values rounded to
float16, then ``log10(1 + 10000 * mel)``. Kapre provides the STFT, the
magnitude and the mel filterbank; the three steps it lacks (centring, squaring,
the float16 log compression) are the small registered layers below.
"""

import math

import kapre
import keras
import tensorflow as tf

from musiczoo_runtime.contract import (
    CENTER_PADDING,
    F_MAX,
    F_MIN,
    FLOAT16_MAX,
    HOP_LENGTH,
    LOG_SCALE,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
)

STFT_WINDOW = "hann_window"  # kapre's name for tf.signal.hann_window (periodic)
MEL_FILTERBANK = {  # kapre.backend.filterbank_mel's arguments: librosa's Slaney mel filters, `[257, 96]`
    "sample_rate": SAMPLE_RATE,
    "n_freq": N_FFT // 2 + 1,
    "n_mels": N_MELS,
    "f_min": F_MIN,
    "f_max": F_MAX,
    "htk": False,
    "norm": "slaney",
}


@keras.saving.register_keras_serializable(package="musiczoo")
class CenterPad(keras.layers.Layer):
    """Pads a waveform at both ends so frame t is centred on sample hop * t.

    Input `[batch, samples]`, output `[batch, samples + 2 * padding]`.

    Args:
        padding: samples added at each end (n_fft // 2 for a centred STFT).
        mode: "reflect" (librosa 0.7, what musicnn was trained with) or "constant".
    """

    def __init__(self, padding=CENTER_PADDING, mode="reflect", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("reflect", "constant"):
            raise ValueError(f"CenterPad mode must be 'reflect' or 'constant', not {mode!r}")
        self.padding = int(padding)
        self.mode = mode

    def call(self, waveform):
        return tf.pad(waveform, [[0, 0], [self.padding, self.padding]], mode=self.mode.upper())

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] + 2 * self.padding
        return (input_shape[0], length)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "mode": self.mode}


@keras.saving.register_keras_serializable(package="musiczoo")
class Power(keras.layers.Layer):
    """Raises a magnitude spectrogram to `exponent` (2 gives the power spectrum).

    Args:
        exponent: the power; shapes are unchanged.
    """

    def __init__(self, exponent=2.0, **kwargs):
        super().__init__(**kwargs)
        self.exponent = float(exponent)

    def call(self, magnitude):
        if self.exponent == 2.0:
            return tf.square(magnitude)
        return tf.pow(magnitude, self.exponent)

    def get_config(self):
        return {**super().get_config(), "exponent": self.exponent}


@keras.saving.register_keras_serializable(package="musiczoo")
class LogCompression(keras.layers.Layer):
    """``log10(1 + scale * x)`` after rounding `x` to float16, as musicnn stored its inputs.

    Values above float16's largest finite number saturate instead of becoming inf.
    Shapes are unchanged.

    Args:
        scale: the multiplier inside the logarithm.
        float16_rounding: round to float16 first, as the training data was.
    """

    def __init__(self, scale=LOG_SCALE, float16_rounding=True, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)
        self.float16_rounding = bool(float16_rounding)

    def call(self, mel):
        if self.float16_rounding:
            mel = tf.cast(tf.cast(tf.minimum(mel, FLOAT16_MAX), tf.float16), mel.dtype)
        return tf.math.log(1.0 + self.scale * mel) / math.log(10.0)

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "float16_rounding": self.float16_rounding,
        }


@keras.saving.register_keras_serializable(package="musiczoo")
class CropFrames(keras.layers.Layer):
    """Keeps the first `n_frames` frames: `[batch, frames, mel]` -> `[batch, n_frames, mel]`.

    Args:
        n_frames: frames to keep (a 3 s patch holds 188 centred frames and uses 187).
    """

    def __init__(self, n_frames, **kwargs):
        super().__init__(**kwargs)
        self.n_frames = int(n_frames)

    def call(self, logmel):
        return logmel[:, : self.n_frames]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_frames, *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "n_frames": self.n_frames}


def logmel(waveform, n_frames=None, center=True, prefix="frontend"):
    """Applies the front end to a Keras tensor.

    Args:
        waveform: float32 tensor `[batch, samples]` at 16 kHz.
        n_frames: keep only the first `n_frames` frames; None keeps all
            `1 + samples // 256` centred frames.
        center: reflect-pad n_fft/2 samples at both ends first; False takes
            an already padded signal (`1 + (samples - 512) // 256` frames).
        prefix: prefix of the layer names.

    Returns:
        log-mel tensor `[batch, frames, 96]`.
    """
    x = waveform
    if center:
        x = CenterPad(CENTER_PADDING, "reflect", name=f"{prefix}_center_pad")(x)
    x = keras.layers.Reshape((-1, 1), name=f"{prefix}_channel")(x)
    x = kapre.STFT(
        n_fft=N_FFT,
        win_length=N_FFT,
        hop_length=HOP_LENGTH,
        window_name=STFT_WINDOW,
        input_data_format="channels_last",
        output_data_format="channels_last",
        name=f"{prefix}_stft",
    )(x)
    x = kapre.Magnitude(name=f"{prefix}_magnitude")(x)
    x = Power(2.0, name=f"{prefix}_power")(x)
    x = kapre.ApplyFilterbank(
        type="mel",
        filterbank_kwargs=MEL_FILTERBANK,
        data_format="channels_last",
        name=f"{prefix}_mel",
    )(x)
    x = LogCompression(LOG_SCALE, True, name=f"{prefix}_log")(x)
    x = keras.layers.Reshape((-1, N_MELS), name=f"{prefix}_logmel")(x)
    if n_frames is not None:
        x = CropFrames(n_frames, name=f"{prefix}_crop")(x)
    return x


def logmel_frontend(samples=None, n_frames=None, center=True):
    """The log-mel front end alone as a model: `[batch, samples]` -> `[batch, frames, 96]`.

    Args:
        samples: fixed input length, or None for any length (of at least 257 samples).
        n_frames: frames to keep, or None for all frames.
        center: as in `logmel`.

    Returns:
        keras.Model named "frontend".
    """
    waveform = keras.Input((samples,), dtype="float32", name="waveform")
    return keras.Model(waveform, logmel(waveform, n_frames, center), name="frontend")
