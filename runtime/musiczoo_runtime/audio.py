"""Audio input: decode files or arrays, downmix to mono, resample to 16 kHz, in blocks.

Files are read block by block so a long recording never sits in memory whole.
libsndfile (through soundfile) decodes WAV, FLAC, OGG/Vorbis and MP3 first,
being the fastest here (5.7x tensorflow-io on a 215 s OGG file);
tensorflow-io (the optional `io` extra, where its wheels exist) decodes what
libsndfile cannot open, and librosa (audioread) is the last resort. Resampling is soxr's high-quality streaming resampler,
bit-identical to resampling the whole signal at once. Every failure, whatever
raised it (a decoder, the operating system, a file vanishing mid-read), is a
`ZooError` naming the file and the reason (`musiczoo_runtime.errors.file_error`).
"""

import errno
import numbers
import os
from pathlib import Path

import numpy as np
import soundfile
import soxr

from musiczoo_runtime import checks
from musiczoo_runtime.contract import SAMPLE_RATE
from musiczoo_runtime.errors import ZooError, file_error
from musiczoo_runtime.containers import check_container
from musiczoo_runtime.level import FLOAT_SUBTYPES, level, level_gain, warn_doubtful
from musiczoo_runtime.native_stderr import silenced

EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".m4a", ".aac", ".wma")
BLOCK_SECONDS = 60.0
MAX_CHANNELS = 32  # a 2-D array's channel axis is its shorter one, and no longer than this
MAX_AMPLITUDE = 4.0  # +12 dBFS: beyond it the front end's float16 mel saturates (sources whose peak is unknown)


class AudioSource:
    """A recording to stream as 16 kHz mono float32 blocks.

    Build it with `open_file` or `from_array`.

    Attributes:
        label: file path or "audio array", used in messages.
        sample_rate: the recording's own rate in Hz.
        duration: length in seconds (as declared by the file).
    """

    def __init__(self, label, sample_rate, frames, read_blocks, gain=1.0, exact_length=True):
        self.label = label
        self.sample_rate = checks.sample_rate(sample_rate, label)
        self.frames = frames
        self.duration = frames / self.sample_rate
        self._read_blocks = read_blocks
        self._gain = gain  # from `level_gain`: float audio beyond full scale, normalised
        self._exact_length = exact_length  # False where the decoder only estimates `frames` (MP3)

    def blocks(self, block_seconds=BLOCK_SECONDS):
        """Yields float32 mono 16 kHz blocks `[samples]`, validated, in order.

        Raises:
            ZooError: empty audio, NaN or infinite values, amplitudes far outside [-1, 1], a file
                that decodes to fewer frames than its header declares, or any failure of reading.

        Warns:
            ZooWarning: silent audio, or audio shorter than one patch (after it is read).
        """
        block_frames = max(1, int(checks.positive_number(block_seconds, "chunk_seconds") * self.sample_rate))
        resampler = None
        if self.sample_rate != SAMPLE_RATE:
            resampler = soxr.ResampleStream(self.sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        decoded, loudest = 0, 0.0
        for block in self._decoded(block_frames):
            if not np.all(np.isfinite(block)):
                raise ZooError(f"{self.label}: the audio contains NaN or infinite values")
            if self._gain != 1.0:
                block = block * np.float32(self._gain)
            peak = float(np.max(np.abs(block), initial=0.0))
            if peak > MAX_AMPLITUDE:
                raise ZooError(f"{self.label}: the audio reaches {peak:.3g}, far outside [-1, 1]: scale it to "
                               "[-1, 1] (integer PCM must be divided by its full scale, 32768 for 16 bits)")
            loudest = max(loudest, peak)
            decoded += len(block)
            mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 else block.astype(np.float32, copy=False)
            yield resampler.resample_chunk(mono, last=False) if resampler else mono
        if decoded == 0:
            raise ZooError(f"{self.label}: the audio is empty (0 samples)")
        if self._exact_length and decoded < self.frames - max(2048, self.frames // 1000):
            raise ZooError(
                f"{self.label}: truncated or corrupt: the header declares {self.duration:.2f} s, "
                f"only {decoded / self.sample_rate:.2f} s could be decoded"
            )
        warn_doubtful(self.label, loudest, decoded / self.sample_rate)
        if resampler:
            yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)

    def _decoded(self, block_frames):
        """The decoder's blocks, its chatter silenced and any failure turned into this file's ZooError."""
        blocks = self._read_blocks(block_frames)
        while True:
            try:
                with silenced():
                    block = next(blocks, None)
            except Exception as error:  # noqa: BLE001 - whatever a decoder or the OS raises is this file's error
                raise file_error(self.label, error) from None
            if block is None:
                return
            yield block

    def read(self):
        """The whole recording as one float32 16 kHz mono array."""
        return np.concatenate(list(self.blocks()))


def _soundfile_source(path):
    with soundfile.SoundFile(str(path)) as probe:
        rate, frames, subtype, exact = probe.samplerate, probe.frames, probe.subtype, probe.format != "MP3"

    def read_blocks(block_frames):
        try:
            with soundfile.SoundFile(str(path)) as handle:
                while True:
                    block = handle.read(block_frames, dtype="float32", always_2d=True)
                    if not len(block):
                        return
                    yield block
        except soundfile.LibsndfileError as error:
            raise ZooError(f"{path}: corrupt audio data ({error.error_string})") from None

    gain = level_gain(*level(read_blocks(1 << 16)), str(path)) if subtype in FLOAT_SUBTYPES else 1.0
    return AudioSource(str(path), rate, frames, read_blocks, gain, exact_length=exact)


def _tensorflow_io_source(path):
    import tensorflow_io as tfio

    tensor = tfio.audio.AudioIOTensor(str(path))
    rate, frames = int(tensor.rate.numpy()), int(tensor.shape[0].numpy())
    scale = float(2 ** (tensor.dtype.size * 8 - 1)) if tensor.dtype.is_integer else 1.0

    def read_blocks(block_frames):
        for start in range(0, frames, block_frames):
            yield tensor[start:start + block_frames].numpy().astype(np.float32) / scale

    return AudioSource(str(path), rate, frames, read_blocks)


def _has_tensorflow_io():
    """True when the optional tensorflow-io package is installed (whether its ops load is another matter)."""
    import importlib.util

    return importlib.util.find_spec("tensorflow_io") is not None


def _librosa_source(path):
    import warnings

    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa deprecates its audioread path; it is our last resort
        data, rate = librosa.load(str(path), sr=None, mono=False, dtype=np.float32)
    return from_array(np.atleast_2d(data).T, rate, str(path))


def open_file(path):
    """Opens an audio file for streaming.

    Args:
        path: WAV, FLAC, OGG/Vorbis, MP3 (or anything libsndfile, tensorflow-io or audioread reads).

    Returns:
        AudioSource.

    Raises:
        ZooError: missing, unreadable, empty, truncated or non-audio file, or any failure of opening it.
    """
    path = Path(path)
    try:
        with silenced():
            source = _open(path)
    except Exception as error:  # noqa: BLE001 - whatever a decoder or the OS raises is this file's error
        raise file_error(path, error) from None
    return source


def _open(path):
    """`open_file` without its error wrapping: the first decoder that opens the file."""
    if path.is_dir():
        raise ZooError(f"{path}: it is a folder, not an audio file")
    if not path.exists():
        raise ZooError(f"{path}: {missing_reason(path)}")
    if not path.is_file():
        raise ZooError(f"{path}: not a regular file (a device, pipe or socket), so not read")
    if path.stat().st_size == 0:
        raise ZooError(f"{path}: the file is empty (0 bytes)")
    check_container(path)
    try:
        return _soundfile_source(path)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        pass
    hint = ""
    for fallback in (_tensorflow_io_source, _librosa_source):
        try:
            return fallback(path)
        except ZooError:
            raise
        except Exception as error:  # noqa: BLE001 - each decoder fails in its own way
            if type(error).__name__ == "NoBackendError":
                hint = "; for other formats install ffmpeg, which audioread uses"
    raise ZooError(
        f"{path}: not a readable audio file: libsndfile{', tensorflow-io' if _has_tensorflow_io() else ''} and "
        "audioread could not decode it "
        f"(WAV, FLAC, OGG/Vorbis/Opus and MP3 are supported{hint})"
    )


def missing_reason(path):
    """Why `path`, which does not exist as far as `Path.exists` can tell, cannot be read: a symbolic link
    loop, a broken link, or no such file."""
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symbolic link loop (following its links leads back to them), so there is no audio to read"
    return "a broken link (its target is missing)" if os.path.islink(path) else "no such file"


def open_audio(audio, sample_rate=None):
    """An AudioSource for a path (its own rate is read from the file) or an array (with `sample_rate`).

    Raises:
        ZooError: a rate given with a path, or missing for an array, and whatever opening the audio raises.
    """
    if isinstance(audio, (str, Path)):
        if sample_rate is not None:
            raise ZooError("sample_rate= is for arrays; a file's own rate is read from the file")
        return open_file(audio)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        raise ZooError(f"got {len(audio)} bytes: pass the path of an audio file, or decode the bytes first "
                       "(e.g. data, rate = soundfile.read(io.BytesIO(the_bytes)), then sample_rate=rate)")
    check_recording(audio)
    if sample_rate is None:
        raise ZooError("pass sample_rate= with an audio array (the rate it was recorded at)")
    return from_array(audio, sample_rate)


def check_recording(audio):
    """Raises ZooError, naming what was given, unless `audio` can be one recording: a path or an array.

    Refused: None, a mapping, a set, a list of paths (several recordings: use the `*_many` function),
    and anything that is not a path and holds no numbers.
    """
    if isinstance(audio, (str, Path)) or hasattr(audio, "__array__"):
        return
    if audio is None or isinstance(audio, (dict, set, frozenset)) or not isinstance(audio, (list, tuple)):
        raise ZooError(f"audio must be the path of an audio file or an array of samples, not "
                       f"{type(audio).__name__} {audio!r:.80}")
    if any(isinstance(item, (str, Path)) for item in audio):
        raise ZooError(f"got a {type(audio).__name__} of {len(audio)} paths, but this function takes one "
                       "recording: use tag_many / extract_many for several")
    if not all(isinstance(item, (numbers.Real, list, tuple)) for item in audio):
        raise ZooError(f"audio must be the path of an audio file or an array of samples, not a "
                       f"{type(audio).__name__} holding {type(next(iter(audio), None)).__name__}")


def from_array(data, sample_rate, label="audio array"):
    """Wraps an array as an AudioSource.

    Args:
        data: float `[samples]`, `[samples, channels]` or `[channels, samples]`: the channel axis is
            the shorter one, which must hold at most `MAX_CHANNELS`; a square array is refused.
        sample_rate: its rate in Hz (checked by `musiczoo_runtime.checks.sample_rate`).
        label: name used in messages.

    Raises:
        ZooError: non-float data, wrong rank, an ambiguous channel axis, a bad sample rate, or integer
            PCM passed as float (see `musiczoo_runtime.level.level_gain`; float data beyond [-1, 1] is normalised).
    """
    try:
        data = np.asarray(data)
    except (ValueError, TypeError) as error:  # ragged nested lists, objects NumPy cannot hold
        raise ZooError(f"{label}: not an array of samples ({error})") from None
    if not np.issubdtype(data.dtype, np.floating):
        raise ZooError(
            f"{label}: audio must be float in [-1, 1], got dtype {data.dtype} "
            "(convert integer PCM with x.astype('float32') / 32768)"
        )
    if data.ndim not in (1, 2):
        raise ZooError(f"{label}: audio must be [samples] or [samples, channels], got shape {data.shape}")
    if data.ndim == 2 and not data.size:
        data = np.zeros(0, data.dtype)  # empty whichever axis holds the channels: reported when read
    elif data.ndim == 2:
        if data.shape[0] == data.shape[1] or min(data.shape) > MAX_CHANNELS:
            raise ZooError(f"{label}: cannot tell samples from channels in an array of shape {data.shape}: pass "
                           f"[samples] (mono) or [samples, channels] with at most {MAX_CHANNELS} channels")
        if data.shape[0] < data.shape[1]:
            data = data.T
    gain = level_gain(*level([data]), label)

    def read_blocks(block_frames):
        for start in range(0, len(data), block_frames):
            yield data[start:start + block_frames]

    return AudioSource(label, sample_rate, len(data), read_blocks, gain)


def read_file(path):
    """Reads a whole audio file as 16 kHz mono float32.

    Returns:
        (waveform `[samples]`, duration of the file in seconds).
    """
    source = open_file(path)
    return source.read(), source.duration
