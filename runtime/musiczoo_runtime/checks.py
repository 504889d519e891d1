"""Argument checks shared by the Python API and the command line: one rule and one message per kind
of value, whichever way it arrives (`musiczoo tag --top 0` and `taggram.top(0)` fail alike)."""

import math
import numbers

from musiczoo_runtime.errors import ZooError

MIN_SAMPLE_RATE = 1000  # Hz; below this nothing musical survives, and a 1 Hz header would upsample 16000-fold
MAX_SAMPLE_RATE = 768000  # Hz; the highest PCM rate in use (DXD and DSD conversions reach 705.6 and 768 kHz)


def positive_number(value, name):
    """`value` as a float, if it is a finite number above 0.

    Raises:
        ZooError: not a number, NaN, infinite, zero or negative.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ZooError(f"{name} must be a positive, finite number, not {value!r}")
    return float(value)


def positive_integer(value, name, maximum=None):
    """`value` as an int, if it is a whole number from 1 to `maximum` (if given).

    Raises:
        ZooError: not an integer, below 1 or above `maximum`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1 \
            or (maximum is not None and value > maximum):
        bound = f" of at most {maximum}" if maximum is not None else ""
        raise ZooError(f"{name} must be a positive integer{bound}, not {value!r}")
    return int(value)


def sample_rate(value, label="audio"):
    """`value` as an int, if it is a whole number of Hz from `MIN_SAMPLE_RATE` to `MAX_SAMPLE_RATE`.

    Args:
        value: the rate.
        label: what it is the rate of, named in the message (a file's path, "audio array").

    Raises:
        ZooError: not a whole number, or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ZooError(f"{label}: the sample rate must be a whole number of Hz from {MIN_SAMPLE_RATE} to "
                       f"{MAX_SAMPLE_RATE}, not {value!r}")
    return int(value)


def feature_layers(model, layers, available):
    """The requested feature `layers` as a list (default: every one of `available`), each checked.

    Args:
        model: the model's name, for the message.
        layers: layer names, or None.
        available: the weights' feature layers (names, in order).

    Raises:
        ZooError: a name `available` does not hold.
    """
    layers = list(layers or available)
    unknown = [name for name in layers if name not in available]
    if unknown:
        raise ZooError(f"{model} has no feature layer {unknown[0]!r}; choose from {', '.join(available)}")
    return layers
