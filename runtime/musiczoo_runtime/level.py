"""Audio level as a user expects it: float audio beyond full scale normalised (with a warning naming its
peak), integer PCM passed as float refused, and warnings for input whose tags mean little (silent, or
shorter than one patch). Warnings are `musiczoo_runtime.errors.ZooWarning`s through the `warnings` module."""

import warnings

import numpy as np

from musiczoo_runtime.contract import PATCH_SECONDS
from musiczoo_runtime.errors import ZooError, ZooWarning

SILENCE = 10 ** (-90 / 20)  # a peak below -90 dBFS (under a 16-bit sample's step) is silence
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")  # file sample types that can hold values beyond full scale
MAX_PEAK = 100.0  # +40 dBFS: float audio beyond this is corrupt or wrongly scaled, not a hot mix; refused


def level_gain(peak, integral, label):
    """The gain that brings float audio peaking at `peak` within full scale (1.0 when it already is).

    A user's float audio beyond [-1, 1] (up to `MAX_PEAK`) is scaled down to peak at 1.0, with a
    `ZooWarning` naming the peak; audio whose every sample is a whole number is integer PCM passed as
    float, and audio beyond `MAX_PEAK` is corrupt: both are refused.

    Args:
        peak: largest absolute sample value.
        integral: whether every sample is a whole number.
        label: the recording's name in messages.

    Raises:
        ZooError: integer PCM passed as float, or a peak beyond `MAX_PEAK`.
    """
    if peak <= 1.0:
        return 1.0
    if integral:
        raise ZooError(f"{label}: every sample is a whole number and the peak is {peak:.6g}: this is integer PCM "
                       "passed as float; scale it to [-1, 1] (divide 16-bit PCM by 32768, 24-bit by 8388608, "
                       "32-bit by 2147483648)")
    if peak > MAX_PEAK:
        raise ZooError(f"{label}: the audio reaches {peak:.4g}, more than {MAX_PEAK:g} times full scale: corrupt "
                       "samples or a wrong scale, not a level a recording has; scale it to [-1, 1]")
    warnings.warn(f"{label}: float samples reach {peak:.4g}, beyond full scale (1.0): normalised to peak at "
                  f"1.0 (divided by {peak:.4g})", ZooWarning, stacklevel=2)
    return 1.0 / peak


def level(blocks):
    """(peak, every sample a whole number) over float blocks, for `level_gain`."""
    peak, integral = 0.0, True
    for block in blocks:
        if not np.all(np.isfinite(block)):
            return 0.0, False  # reported as NaN or infinite when the audio is read
        peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
        integral = integral and bool(np.all(block == np.round(block)))
    return peak, integral


def warn_doubtful(label, peak, seconds):
    """`ZooWarning`s for audio whose tags mean little: silent, or shorter than one patch."""
    if peak < SILENCE:
        warnings.warn(f"{label}: the audio is silent (its peak is below -90 dBFS): its tags describe silence",
                      ZooWarning, stacklevel=3)
    if seconds < PATCH_SECONDS:
        warnings.warn(f"{label}: only {seconds:.3g} s of audio, shorter than one {PATCH_SECONDS:g} s patch: it is "
                      "repeated to fill the patch, so its tags are unreliable", ZooWarning, stacklevel=3)
