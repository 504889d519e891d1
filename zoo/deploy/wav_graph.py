"""WAV decoding and resampling in TensorFlow-graph form (core ops only), for the `serve_wav` signature.

TF Serving runs these without Python, Kapre or tensorflow-io: WAV decoding
(`tf.audio.decode_wav`, 16-bit PCM), downmixing, and a rational polyphase
resampler to 16 kHz.
"""

import tensorflow as tf

from musiczoo_runtime.contract import SAMPLE_RATE
from musiczoo_runtime.level import MAX_PEAK

MAX_UP = 2000  # largest interpolation factor accepted (44.1 kHz needs 160, 11.025 kHz 640)
ZERO_CROSSINGS = 24  # filter half-width in zero crossings of the lower rate's sinc
ROLLOFF = 0.96  # cutoff, fraction of the lower Nyquist; of 0.945 to 0.975 the closest to soxr (export/README.md)
KAISER_BETA = 8.6
HEADER_BYTES = 44  # a canonical header's fields read below end at byte 44 (the data chunk's size)


def decode_wav(contents, item=0):
    """Decodes one 16-bit PCM WAV file to mono, after checks whose messages name the request item.

    The header is read from the bytes padded with zeros, so a request item of any length (even
    shorter than the 12-byte RIFF header) gets this message rather than an out-of-range error. A
    canonical file (its `fmt ` chunk first) that is not 16-bit PCM, or whose data chunk holds fewer bytes
    than its header declares (a cut file), is refused here too; other problems are
    `tf.audio.decode_wav`'s own messages.

    Args:
        contents: scalar tf.string, the file's bytes.
        item: int32 scalar, the item's index in the request (named in error messages).

    Returns:
        (float32 `[samples]` in [-1, 1], int32 sample rate).
    """
    padded = tf.strings.join([contents, tf.constant(bytes(HEADER_BYTES))])

    def field(offset, length):
        return tf.strings.substr(padded, offset, length)

    def uint16(offset):
        return tf.cast(tf.io.decode_raw(field(offset, 2), tf.uint16)[0], tf.int32)

    def uint32(offset):
        return tf.bitcast(tf.io.decode_raw(field(offset, 4), tf.int32)[0], tf.uint32)

    is_wav = tf.logical_and(field(0, 4) == "RIFF", field(8, 4) == "WAVE")
    pcm16 = tf.logical_or(field(12, 4) != "fmt ", tf.logical_and(uint16(20) == 1, uint16(34) == 16))
    declared = tf.cast(uint32(40), tf.int64)  # a canonical file's data chunk: its declared size at byte 40
    present = tf.cast(tf.strings.length(contents), tf.int64) - HEADER_BYTES
    truncated = tf.logical_and(tf.logical_and(is_wav, field(36, 4) == "data"),
                               tf.logical_and(declared < 0xFFFFFFFF, declared > present))
    checks = [
        tf.debugging.Assert(tf.logical_not(truncated), [tf.strings.format(
            "serve_wav: item {} is a truncated WAV file: its header declares {} bytes of audio, only {} are present",
            (item, declared, present))]),
        tf.debugging.Assert(is_wav, [tf.strings.format(
            "serve_wav: item {} is not a WAV file (no RIFF/WAVE header in its first 12 bytes; it has {} bytes): "
            "send 16-bit PCM WAV bytes", (item, tf.strings.length(contents)))]),
        tf.debugging.Assert(tf.logical_or(tf.logical_not(is_wav), pcm16), [tf.strings.format(
            "serve_wav: item {} is a WAV file of format {} with {} bits per sample, not 16-bit PCM (format 1): "
            "convert it, e.g. ffmpeg -i in.wav -c:a pcm_s16le out.wav", (item, uint16(20), uint16(34)))]),
    ]
    with tf.control_dependencies(checks):
        audio, rate = tf.audio.decode_wav(tf.identity(contents))
    with tf.control_dependencies([tf.debugging.Assert(tf.shape(audio)[0] >= 2, [tf.strings.format(
            "serve_wav: item {} has too few samples ({}); at least 2 are needed", (item, tf.shape(audio)[0]))])]):
        return tf.reduce_mean(audio, axis=1), tf.identity(rate)


def checked_level(waveform, row_name):
    """A `[batch, samples]` waveform checked and levelled on the graph as the API does (`musiczoo_runtime.level`).

    Refused with messages naming the row: an empty batch, rows of fewer than 2 samples, NaN or infinite
    values, and rows beyond full scale whose samples are all whole numbers (integer PCM passed as
    float) or beyond `MAX_PEAK`. Other rows beyond full scale are normalised to peak at 1.0, as the API
    does (which also warns).

    Args:
        waveform: float32 `[batch, samples]`.
        row_name: how messages name a row ("serving_default: row").

    Returns:
        float32 `[batch, samples]`.
    """
    peak = tf.reduce_max(tf.abs(waveform), axis=1)  # [batch]; -inf for 0 samples, caught below
    integral = tf.reduce_all(tf.equal(waveform, tf.round(waveform)), axis=1)
    finite = tf.reduce_all(tf.math.is_finite(waveform), axis=1)
    pcm = tf.logical_and(tf.logical_and(finite, integral), peak > 1.0)
    rows = tf.range(tf.shape(waveform)[0])

    def first(where):  # the first row where `where` holds (computed without failing on an empty batch)
        return tf.reduce_min(tf.where(where, rows, tf.shape(waveform)[0]))

    checks = [
        tf.debugging.Assert(tf.shape(waveform)[0] > 0, [
            f"{row_name.split(':')[0]}: the batch is empty (0 rows): send at least one waveform"]),
        tf.debugging.Assert(tf.shape(waveform)[1] > 1, [tf.strings.format(
            row_name + "s have {} samples; at least 2 are needed", tf.shape(waveform)[1])]),
        tf.debugging.Assert(tf.reduce_all(finite), [tf.strings.format(
            row_name + " {} contains NaN or infinite values", first(tf.logical_not(finite)))]),
        tf.debugging.Assert(tf.logical_not(tf.reduce_any(pcm)), [tf.strings.format(
            row_name + " {}: every sample is a whole number and the peak is {}: this is integer PCM passed as "
            "float; scale it to [-1, 1] (divide 16-bit PCM by 32768)",
            (first(pcm), tf.reduce_max(tf.where(pcm, peak, 0.0))))]),
        tf.debugging.Assert(tf.reduce_all(tf.logical_or(pcm, peak <= MAX_PEAK)), [tf.strings.format(
            row_name + " {} reaches {}, more than " + f"{MAX_PEAK:g}" + " times full scale: corrupt samples or a "
            "wrong scale; scale it to [-1, 1]", (first(peak > MAX_PEAK), tf.reduce_max(peak)))]),
    ]
    with tf.control_dependencies(checks):
        return waveform / tf.maximum(peak, 1.0)[:, None]


def _gcd(a, b):
    """Greatest common divisor of two positive int64 scalars."""
    return tf.while_loop(lambda x, y: y > 0, lambda x, y: (y, tf.math.floormod(x, y)), (a, b))[0]


def _polyphase_kernel(up, down):
    """Windowed-sinc filters `[taps, up]` of the `up` output phases, and the half-width in input samples.

    Output sample `q * up + r` is the dot product of the input window
    starting at `q * down - half` with column r, so one matrix product of
    the input's strided windows computes every phase at once.
    """
    upf, downf = tf.cast(up, tf.float64), tf.cast(down, tf.float64)
    cutoff = ROLLOFF * tf.minimum(tf.constant(1.0, tf.float64), upf / downf)  # in cycles per input sample * 2
    half = tf.cast(tf.math.ceil(ZERO_CROSSINGS / cutoff), tf.int64)
    taps = tf.range(-half, down + half + 1)  # input offsets from q * down
    offsets = (tf.cast(tf.range(up), tf.float64) * downf / upf)[None, :] - tf.cast(taps, tf.float64)[:, None]
    ratio = tf.clip_by_value(offsets / tf.cast(half, tf.float64), -1.0, 1.0)
    window = tf.math.special.bessel_i0(KAISER_BETA * tf.sqrt(1.0 - ratio ** 2)) / tf.math.special.bessel_i0(
        tf.constant(KAISER_BETA, tf.float64))
    x = 3.141592653589793 * cutoff * offsets
    sinc = tf.where(tf.abs(x) < 1e-12, tf.ones_like(x), tf.sin(x) / tf.where(tf.abs(x) < 1e-12, tf.ones_like(x), x))
    kernel = tf.where(tf.abs(offsets) < tf.cast(half, tf.float64), cutoff * sinc * window, tf.zeros_like(x))
    return tf.cast(kernel, tf.float32), half


def resample(audio, rate):
    """Resamples mono audio to 16 kHz with a Kaiser-windowed sinc polyphase filter.

    Args:
        audio: float32 `[samples]`.
        rate: its sample rate (int32 scalar); 16 kHz passes through unchanged.

    Returns:
        float32 `[round(samples * 16000 / rate)]`.
    """
    rate = tf.cast(rate, tf.int64)
    divisor = _gcd(rate, tf.constant(SAMPLE_RATE, tf.int64))
    up, down = SAMPLE_RATE // divisor, rate // divisor
    with tf.control_dependencies([tf.debugging.Assert(up <= MAX_UP, [
            "serve_wav: sample rate", rate, "Hz cannot be resampled to 16 kHz on the graph (ratio too fine); "
            "send 8, 11.025, 16, 22.05, 24, 32, 44.1, 48, 88.2 or 96 kHz audio"])]):
        up = tf.identity(up)

    def convert():
        kernel, half = _polyphase_kernel(up, down)
        n = tf.shape(audio, out_type=tf.int64)[0]
        out_len = (n * up + down // 2) // down  # rounded, as soxr does
        blocks = (out_len + up - 1) // up
        padded = tf.pad(audio, [[half, blocks * down + half + 1 - n]])
        windows = tf.signal.frame(padded, tf.shape(kernel)[0], tf.cast(down, tf.int32))  # [blocks, taps]
        return tf.reshape(tf.matmul(windows, kernel), [-1])[:out_len]

    return tf.cond(tf.equal(rate, SAMPLE_RATE), lambda: audio, convert)
