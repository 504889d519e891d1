"""Audio input: decode files, downmix to mono, resample to 16 kHz, validate.

Every failure is a `ZooError` naming the file and the reason.
"""

from pathlib import Path

import numpy as np
import soundfile
import soxr

from zoo.errors import ZooError
from zoo.frontend import SAMPLE_RATE

EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au")


def _decode(path):
    """Decodes a file to float32 `[samples, channels]` and its sample rate."""
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return data, rate
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as soundfile_error:
        reason = str(soundfile_error)
    try:
        import audioread
        import librosa

        data, rate = librosa.load(str(path), sr=None, mono=False, dtype=np.float32)
        return np.atleast_2d(data).T, rate
    except (audioread.exceptions.NoBackendError, EOFError, OSError, ValueError, RuntimeError) as error:
        raise ZooError(f"{path}: cannot decode audio ({reason}; {error or type(error).__name__})") from None


def to_mono_16k(data, sample_rate, source="audio"):
    """Downmixes and resamples to the models' 16 kHz mono.

    Args:
        data: `[samples]` or `[samples, channels]` float array.
        sample_rate: its rate in Hz.
        source: name used in error messages.

    Returns:
        float32 `[samples at 16 kHz]`.

    Raises:
        ZooError: empty audio, non-finite values, or a bad sample rate.
    """
    data = np.asarray(data)
    if not np.issubdtype(data.dtype, np.floating):
        raise ZooError(f"{source}: audio must be float in [-1, 1], got dtype {data.dtype}")
    if data.ndim == 2:
        data = data.mean(axis=1)
    elif data.ndim != 1:
        raise ZooError(f"{source}: audio must be [samples] or [samples, channels], got shape {data.shape}")
    if data.size == 0:
        raise ZooError(f"{source}: the audio is empty (0 samples)")
    if not np.all(np.isfinite(data)):
        raise ZooError(f"{source}: the audio contains NaN or infinite values")
    if not sample_rate or sample_rate <= 0:
        raise ZooError(f"{source}: invalid sample rate {sample_rate!r}")
    data = data.astype(np.float32, copy=False)
    if sample_rate != SAMPLE_RATE:
        data = soxr.resample(data, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32, copy=False)
    return data


def load(path):
    """Reads an audio file as 16 kHz mono float32.

    Args:
        path: WAV, FLAC, OGG/Vorbis, MP3 (or anything libsndfile or audioread reads).

    Returns:
        (waveform `[samples]` float32 at 16 kHz, duration of the file in seconds).

    Raises:
        ZooError: the file is missing, unreadable, empty or holds NaN.
    """
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ZooError(f"{path}: the file is empty (0 bytes)")
    data, rate = _decode(path)
    return to_mono_16k(data, rate, str(path)), data.shape[0] / rate
