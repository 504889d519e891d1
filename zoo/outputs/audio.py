"""The one audio writer: a waveform to an audio file, atomically, its format chosen by the file's suffix.

Ogg Vorbis for `.ogg` (what the HTML report, the units' excerpts and the gallery play), 32-bit
float WAV otherwise (what the command line writes: no clipping, no rounding).
"""

from pathlib import Path

import numpy as np
import soundfile

from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.contract import SAMPLE_RATE

FORMATS = {".ogg": ("OGG", "VORBIS")}
DEFAULT_FORMAT = ("WAV", "FLOAT")


def write_audio(waveform, path, sample_rate=SAMPLE_RATE, scale_peaks=False):
    """Writes a waveform to `path` atomically.

    Args:
        waveform: float `[samples]` or `[samples, channels]`.
        path: the file; its suffix picks the format (`.ogg`: Ogg Vorbis, anything else: float WAV).
        sample_rate: the waveform's rate in Hz (default 16 kHz, the models' rate).
        scale_peaks: scale the waveform down to a peak of 1 if it goes beyond (Vorbis clips there;
            masked and auralised audio can go beyond).

    Returns:
        Path of the file.
    """
    waveform = np.asarray(waveform)
    if scale_peaks:
        peak = float(np.abs(waveform).max()) if waveform.size else 0.0
        waveform = waveform / peak if peak > 1 else waveform
    file_format, subtype = FORMATS.get(Path(path).suffix.lower(), DEFAULT_FORMAT)
    with atomic_path(path) as tmp:
        soundfile.write(tmp, waveform, sample_rate, format=file_format, subtype=subtype)
    return path
