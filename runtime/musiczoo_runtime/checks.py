"""Argument checks shared by the Python API and the command line: one rule and one message per kind
of value, whichever way it arrives (`musiczoo tag --top 0` and `taggram.top(0)` fail alike)."""

import math
import numbers
from pathlib import Path

from musiczoo_runtime.errors import ZooError

MIN_SAMPLE_RATE = 1000  # Hz; below this nothing musical survives, and a 1 Hz header would upsample 16000-fold
MAX_SAMPLE_RATE = 768000  # Hz; the highest PCM rate in use (DXD and DSD conversions reach 705.6 and 768 kHz)
MAX_BATCH_SIZE = 4096  # patches per network call: 4096 log-mel patches are 294 MB of input, more buys no speed
MAX_TOP = 10000  # tags, excerpts or picture columns asked for; no tag space, unit search or picture needs more


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


def at_least(value, name, minimum):
    """`value` as an int, if it is a whole number of at least `minimum` (0 where none is a valid count).

    Raises:
        ZooError: not an integer, or below `minimum`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ZooError(f"{name} must be a whole number with {name} >= {minimum}, not {value!r}")
    return int(value)


def share(value, name):
    """`value` as a float, if it is a share from 0 (included) to 1 (excluded), e.g. a validation split.

    Raises:
        ZooError: not a number, or outside [0, 1).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ZooError(f"{name} must be in [0, 1), not {value!r}")
    return float(value)


def is_weight_file(weights):
    """Whether a `weights` argument names a weight file (a path ending in `.h5`) rather than a tag or None."""
    return isinstance(weights, (str, Path)) and str(weights).endswith(".h5")


def sample_rate(value, label="audio"):
    """`value` as an int, if it is a whole number of Hz (16000 or 16000.0) from `MIN_SAMPLE_RATE` to `MAX_SAMPLE_RATE`.

    Args:
        value: the rate.
        label: what it is the rate of, named in the message (a file's path, "audio array").

    Raises:
        ZooError: not a whole number, or out of range.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)) \
            and math.isfinite(value) and float(value).is_integer():
        value = int(value)  # 16000.0, as float arithmetic or a metadata reader gives it
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ZooError(f"{label}: the sample rate must be a whole number of Hz from {MIN_SAMPLE_RATE} to "
                       f"{MAX_SAMPLE_RATE}, not {value!r}")
    return int(value)


def names(value, name):
    """`value` as a list of strings (layer names, paths), refusing a lone string that would be read letter by letter.

    Raises:
        ZooError: a string, bytes, or anything that is not a sequence of strings.
    """
    if isinstance(value, (str, bytes)):
        raise ZooError(f"{name} must be a list of names, not the single string {value!r}: "
                       f"write {name}=[{value!r}]")
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ZooError(f"{name} must be a list of names (strings), not {type(value).__name__} {value!r:.80}")
    return list(value)


def feature_layers(model, layers, available):
    """The requested feature `layers` as a list (default: every one of `available`), each checked.

    Args:
        model: the model's name, for the message.
        layers: layer names, or None.
        available: the weights' feature layers (names, in order).

    Raises:
        ZooError: a lone string instead of a list, or a name `available` does not hold.
    """
    layers = list(available) if layers is None else names(layers, "layers") or list(available)
    unknown = [name for name in layers if name not in available]
    if unknown:
        raise ZooError(f"{model} has no feature layer {unknown[0]!r}; choose from {', '.join(available)}")
    return layers


def recordings(audios, function):
    """The `audios` of a `*_many` call as a list, refusing what would be iterated as something else.

    Raises:
        ZooError: one path, bytes, a 1-D array (one recording), None, a mapping or a non-iterable.
    """
    if isinstance(audios, (str, Path)):
        raise ZooError(f"{function} takes a list of recordings, not the single path {str(audios)!r}: "
                       f"write {function}([{str(audios)!r}]), or use {function.removesuffix('_many')}(path)")
    if audios is None or isinstance(audios, (bytes, bytearray, dict)) or not hasattr(audios, "__iter__") \
            or getattr(audios, "ndim", 2) < 2:
        raise ZooError(f"{function} takes a list of recordings (paths or arrays), not {type(audios).__name__} "
                       f"{audios!r:.80}")
    return list(audios)
