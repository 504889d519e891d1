"""The physical axes of a log-mel patch: seconds along time, Hz along the mel bands.

Frames are 256 samples apart at 16 kHz (62.5 frames per second). The mel band
centres are those of the front end's own filterbank: Kapre's `ApplyFilterbank`
calls `librosa.filters.mel(sr=16000, n_fft=512, n_mels=96, fmin=0, fmax=8000,
htk=False, norm="slaney")`, whose band i rises from the i-th, peaks at the
(i+1)-th and falls to the (i+2)-th of `librosa.mel_frequencies(98, 0, 8000,
htk=False)` (tests/test_explain_filters.py checks this against the layer's
filterbank).
"""

from functools import lru_cache

import librosa
import numpy as np

from musiczoo_runtime.contract import F_MAX, F_MIN, HOP_LENGTH, N_MELS, SAMPLE_RATE

FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH  # 62.5
TICK_HZ = (250, 500, 1000, 2000, 4000)


@lru_cache(maxsize=1)
def mel_centres():
    """Centre frequency in Hz of each of the 96 mel bands `[96]` (31 Hz to 7.75 kHz)."""
    centres = librosa.mel_frequencies(n_mels=N_MELS + 2, fmin=F_MIN, fmax=F_MAX, htk=False)[1:-1]
    centres.setflags(write=False)
    return centres


def hz_ticks(n_bands=N_MELS):
    """(band positions, labels) for a Hz axis drawn over mel band indices 0..n_bands-1 (band i at i)."""
    centres = mel_centres()[:n_bands]
    ticks = [hz for hz in TICK_HZ if centres[0] <= hz <= centres[-1]]
    positions = np.interp(ticks, centres, np.arange(n_bands))
    return positions, [f"{hz / 1000:g}k" if hz >= 1000 else f"{hz}" for hz in ticks]


def hz_to_bpm(hz):
    """Beats per minute of a periodicity in Hz."""
    return np.asarray(hz) * 60.0
