"""The masked-STFT round trip that turns a log-mel mask into audio with the recording's own phase.

The STFT here frames the waveform exactly as the front end does (centred
frames with reflect padding of n_fft/2, n_fft 512, hop 256, periodic Hann
window), so STFT frame t is log-mel frame t. A mask over the log-mel
`[frames, 96]` is spread onto the 257 STFT bins through the front end's own
mel filterbank, multiplied into the complex STFT (magnitude scaled, phase
kept) and inverted with librosa's `istft` (same window and hop, window-sum
normalised overlap-add): a mask of ones gives the input back.
"""

from functools import lru_cache

import librosa
import numpy as np

from musiczoo_runtime.contract import F_MAX, F_MIN, HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE

WINDOW = "hann"  # scipy's periodic Hann (fftbins=True), as Kapre's STFT uses


def stft(waveform):
    """The complex STFT of a 16 kHz waveform, framed as the front end frames it.

    Args:
        waveform: float `[samples]` at 16 kHz.

    Returns:
        complex64 `[frames, 257]`, frames = 1 + samples // 256 (frame t centred on sample 256 t).
    """
    spectrum = librosa.stft(np.asarray(waveform, np.float32), n_fft=N_FFT, hop_length=HOP_LENGTH, window=WINDOW,
                            center=True, pad_mode="reflect")
    return spectrum.T


def istft(spectrum, length):
    """Inverts `stft`: complex `[frames, 257]` -> float32 `[length]`."""
    return librosa.istft(np.asarray(spectrum).T, hop_length=HOP_LENGTH, n_fft=N_FFT, window=WINDOW, center=True,
                         length=length).astype(np.float32)


@lru_cache(maxsize=1)
def mel_to_bins():
    """The matrix `[96, 257]` that spreads a per-mel-band value onto STFT bins.

    Column f holds the front end's mel filter weights at bin f divided by their
    sum, so every bin receives the weighted mean of the bands that cover it and a
    mask of ones stays ones. The bins no filter covers (0 Hz and 8 kHz, where
    the outermost triangles reach zero) take the nearest covered bin's column.
    """
    weights = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX, htk=False,
                                  norm="slaney").astype(np.float64)
    total = weights.sum(axis=0)
    covered = np.flatnonzero(total > 0)
    nearest = covered[np.abs(np.arange(weights.shape[1])[:, None] - covered[None, :]).argmin(axis=1)]
    matrix = (weights / np.where(total > 0, total, 1.0))[:, nearest]
    matrix.setflags(write=False)
    return matrix


def mel_mask_to_bins(mel_mask):
    """Spreads a log-mel-frame mask `[frames, 96]` onto STFT bins `[frames, 257]` (see `mel_to_bins`)."""
    return np.asarray(mel_mask, np.float64) @ mel_to_bins()


def apply_mel_mask(waveform, mel_mask):
    """The waveform with each STFT bin scaled by the mel mask (original phase kept).

    Args:
        waveform: float `[samples]` at 16 kHz.
        mel_mask: `[frames, 96]` with frames = 1 + samples // 256, one value per log-mel
            frame and band (1 keeps, 0 removes).

    Returns:
        float32 `[samples]`, the masked waveform.
    """
    spectrum = stft(waveform)
    mask = mel_mask_to_bins(mel_mask)
    if mask.shape != spectrum.shape:
        raise ValueError(f"a mask of {mask.shape[0]} frames for a waveform of {spectrum.shape[0]} frames")
    return istft(spectrum * mask, len(waveform))
