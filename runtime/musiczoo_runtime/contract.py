"""The facts every part of the zoo shares, importable without TensorFlow.

The numbers the pretrained weights were trained with are part of their
contract (see `FRONTEND_CONFIG`): the sample rate, the centred STFT, the mel
filterbank, the log compression, and the 3 s patch the models take. Every
module takes them from here; none retypes them.
"""

import os
from pathlib import Path

import numpy as np

from musiczoo_runtime.errors import ZooError

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
F_MIN = 0.0
F_MAX = 8000.0
LOG_SCALE = 10000.0
FLOAT16_MAX = 65504.0
CENTER_PADDING = N_FFT // 2  # samples mirrored at each end so frame t is centred on sample HOP_LENGTH * t

FRONTEND_CONFIG = {
    "sample_rate": SAMPLE_RATE,
    "n_fft": N_FFT,
    "hop_length": HOP_LENGTH,
    "window": "hann (periodic)",
    "center": True,
    "pad_mode": "reflect",
    "spectrum": "power",
    "n_mels": N_MELS,
    "f_min": F_MIN,
    "f_max": F_MAX,
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "storage_dtype": "float16",
    "compression": "log10(1 + 10000 * mel)",
    "layout": "[batch, time, mel]",
}


def frames_in(seconds):
    """Whole log-mel frames in `seconds` as the original musicnn counted them: int(seconds * 16000 / 256)."""
    return int(seconds * SAMPLE_RATE / HOP_LENGTH)


def samples_in(seconds):
    """16 kHz samples in `seconds` of audio (48,000 for 3 s)."""
    return int(round(seconds * SAMPLE_RATE))


def centred_frames(samples):
    """Log-mel frames of a centred STFT over `samples` samples: 1 + samples // 256."""
    return 1 + samples // HOP_LENGTH


def frame_seconds(frames):
    """Start time in seconds of frame indices (frame t is centred on sample 256 t); a float or a float64 array."""
    return np.asarray(frames, dtype=np.float64) * HOP_LENGTH / SAMPLE_RATE


PATCH_SECONDS = 3.0
PATCH_FRAMES = frames_in(PATCH_SECONDS)  # 187: a 3 s patch holds 188 centred frames and uses the first 187
PATCH_SAMPLES = samples_in(PATCH_SECONDS)  # 48,000
PATCH_WINDOW_SAMPLES = (PATCH_FRAMES - 1) * HOP_LENGTH + N_FFT  # 48,128 reflect-padded samples hold a patch's frames
DEFAULT_HOP_SECONDS = PATCH_SECONDS
LAST_PATCH_POLICIES = ("repeat", "drop")  # keep a padded final partial patch, or whole patches only
DEFAULT_LAST_PATCH = "repeat"
MIN_TAIL_SECONDS = 1.0  # a final partial patch is kept ("repeat") only if it adds this much uncovered audio

BATCH_SIZE = 8  # patches per forward pass: as fast as 16 or 32 on 2 cores, half the memory (benchmarks/RESULTS.md)

DEFAULT_MODEL = "timbral_temporal"
DEFAULT_WEIGHTS = "mtt"
WEIGHT_TAGS = ("mtt", "msd")

CACHE_ENV = "MUSICZOO_CACHE"


def cache_dir():
    """Where downloads and caches live: `$MUSICZOO_CACHE`, else `~/.cache/musiczoo` (read at each call).

    Returns:
        Path of the folder (created if missing).

    Raises:
        ZooError: the folder is a file, cannot be created, or cannot be written to.
    """
    given = os.environ.get(CACHE_ENV)
    path = Path(given or Path.home() / ".cache" / "musiczoo")
    where = f"{CACHE_ENV}={given}" if given else f"the cache folder {path} (set {CACHE_ENV} to choose another)"
    if path.exists() and not path.is_dir():
        raise ZooError(f"{where} names a file; the cache needs a folder you can write to")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ZooError(f"{where}: the folder cannot be created ({error.strerror}); "
                       "name a folder you can write to") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ZooError(f"{where}: you cannot write to this folder; name a folder you can write to")
    return path
