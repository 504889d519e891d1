"""Feature maps of a recording: the log-mel spectrogram, chosen layers and the taggram on one time axis.

The recording streams through `zoo.inference.pipeline` like `zoo.tag`. Each
patch's outputs are reduced, inside the network function, to columns of `p`
frames (the log-mel by its mean, activations by their maximum; a layer whose
map keeps a mel axis, like vgg's, by its maximum over that axis first), so
what is kept grows with the number of columns, never with the frames: a long
recording gets wider columns (at most `max_columns` of them). Patches start
`p * (187 // p)` frames apart and each gives its first `187 // p` columns, so
the columns of consecutive patches tile the recording on one uniform grid
(a frame near a patch border is seen as the network sees it there, with that
patch's padding).
"""

import math
from dataclasses import dataclass

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_LAST_PATCH,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
    PATCH_FRAMES,
    centred_frames,
    frame_seconds,
    samples_in,
)
from musiczoo_runtime.errors import ZooError
from zoo.signal.axes import FRAMES_PER_SECOND
from zoo.explain.network import open_network
from zoo.inference import pipeline
from zoo.inference.api import only
from musiczoo_runtime.results import Taggram
from musiczoo_runtime.audio import open_audio

MAX_COLUMNS = 1500
MIN_STEPS = 20  # default layers: feature layers with at least this many time steps per patch


@dataclass
class Activations:
    """Time-aligned feature maps of one recording.

    Attributes:
        logmel: mean log-mel per column `[columns, 96]`.
        layers: layer name -> maximum activation per column and unit `[columns, units]`.
        times: start of each column in seconds `[columns]`.
        column_frames: frames per column (62.5 frames per second).
        taggram: tag probabilities per patch (patches `column_frames * (187 // column_frames)` frames apart).
        duration: length of the recording in seconds.
        model, weights: what computed them.
    """

    logmel: np.ndarray
    layers: dict
    times: np.ndarray
    column_frames: int
    taggram: Taggram
    duration: float
    model: str
    weights: object

    @property
    def column_seconds(self):
        """Seconds per column."""
        return self.column_frames / FRAMES_PER_SECOND


def time_steps(network, layer):
    """Time steps per 187-frame patch of a layer's output (1 for a layer without a time axis)."""
    shape = network.keras_model.get_layer(layer).output.shape
    return int(shape[1]) if len(shape) >= 3 else 1


def default_layers(network):
    """The feature layers with a time axis and at least `MIN_STEPS` steps per patch (else the finest ones)."""
    steps = {name: time_steps(network, name) for name in network.feature_layers}
    timed = {name: s for name, s in steps.items() if s > 1}
    if not timed:
        raise ZooError(f"{network.name} has no feature layer with a time axis; name layers from "
                       f"{', '.join(network.explainable_layers())}")
    fine = [name for name, s in timed.items() if s >= MIN_STEPS]
    return fine or [name for name, s in timed.items() if s == max(timed.values())]


def column_width(n_frames, steps, max_columns=MAX_COLUMNS):
    """Frames per column: enough for at most `max_columns` columns, and no finer than the coarsest layer's step."""
    coarsest = max([math.ceil(PATCH_FRAMES / s) for s in steps if s > 1], default=1)
    return int(min(PATCH_FRAMES, max(coarsest, math.ceil(n_frames / max_columns))))


def time_major(values):
    """A layer's output as `[patches, steps, units]`: a mel axis is reduced by its maximum, no time axis is one step."""
    if values.ndim == 2:
        return values[:, None, :]
    if values.ndim == 4:
        return values.max(axis=2)
    return values


def to_columns(values, width, reduce):
    """Reduces `[patches, steps, units]` over the `ceil(187 / width)` columns of `width` frames of each patch.

    A step belongs to the column holding its centre frame; a layer without a time axis fills every column.

    Returns:
        `[patches, columns, units]`.
    """
    count = math.ceil(PATCH_FRAMES / width)
    steps = values.shape[1]
    if steps == 1:
        return np.repeat(values, count, axis=1)
    columns = np.floor((np.arange(steps) + 0.5) * PATCH_FRAMES / steps / width).astype(int)
    starts = np.minimum(np.searchsorted(columns, np.arange(count)), steps - 1)
    return reduce.reduceat(values, starts, axis=1)


def column_function(function, width):
    """Wraps a network function (patches -> [layer outputs..., probabilities]) to return
    [log-mel columns, each layer's columns..., probabilities] (see `to_columns`)."""
    def run(patches):
        *maps, probabilities = [np.asarray(o) for o in function(patches)]
        columns = [to_columns(np.asarray(patches), width, np.add) / _counts(width)[:, None]]
        columns += [to_columns(time_major(values), width, np.maximum) for values in maps]
        return columns + [probabilities]

    return run


def _counts(width):
    """Frames in each column of a patch (the last may be shorter)."""
    count = math.ceil(PATCH_FRAMES / width)
    return np.minimum(width, PATCH_FRAMES - width * np.arange(count)).astype(np.float32)


def assemble(parts, starts, n_frames, width):
    """Joins per-patch columns `[patches, columns, dim]` into `[columns, dim]` on the recording's grid.

    Every patch gives its first `187 // width` columns, the last patch all of them; columns not wholly
    inside the recording's `n_frames` (they would hold repeat padding) are dropped.

    Returns:
        (`[columns, dim]`, start frame of each column).
    """
    keep = PATCH_FRAMES // width
    rows, frames = [], []
    for i, start in enumerate(starts):
        part = parts[i] if i == len(starts) - 1 else parts[i][:keep]
        first = start + width * np.arange(len(part))
        real = first + width <= n_frames
        rows.append(part[real])
        frames.append(first[real])
    return np.concatenate(rows), np.concatenate(frames)


def activations(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, *, sample_rate=None,
                max_columns=MAX_COLUMNS, batch_size=BATCH_SIZE):
    """Feature maps of one recording on one time axis, with its log-mel spectrogram and taggram.

    Args:
        audio: path of an audio file, or an array `[samples]` (with `sample_rate=`).
        model: catalog name, or a folder written by `musiczoo finetune`.
        weights: weight tag, weight file or None (random initialisation); ignored for a folder.
        layers: layer names (see `Network.explainable_layers`); default: the feature layers with a
            fine time axis (musicnn: timbral, temporal, cnn1-3; vgg: pool1-3; crnn: frame_features, gru1).
        sample_rate: the array's rate.
        max_columns: most columns kept (longer recordings get wider columns).
        batch_size: patches per forward pass.

    Returns:
        Activations.

    Raises:
        ZooError: unreadable audio, unknown model or layer (the message lists the layers).
    """
    max_columns = checks.positive_integer(max_columns, "max_columns")
    network = open_network(model, weights)
    layers = default_layers(network) if layers is None else network.check_layers(layers)
    source = open_audio(audio, sample_rate)
    n_frames = centred_frames(samples_in(source.duration))
    width = column_width(n_frames, [time_steps(network, name) for name in layers], max_columns)
    hop_seconds = (width * (PATCH_FRAMES // width) + 0.5) / FRAMES_PER_SECOND  # exactly that many frames
    function = column_function(network.function(tuple(layers)), width)
    result = only((r.index, r.error or r) for r in pipeline.run(lambda: function, [lambda: source], hop_seconds,
                                                                  DEFAULT_LAST_PATCH, batch_size))
    logmel, first = assemble(result.outputs[0], result.starts, result.n_frames, width)
    maps = {name: assemble(values, result.starts, result.n_frames, width)[0]
            for name, values in zip(layers, result.outputs[1:-1])}
    probabilities = result.outputs[-1]
    taggram = Taggram(tags=list(network.tags), times=frame_seconds(result.starts), probabilities=probabilities,
                      clip_probabilities=probabilities.mean(axis=0), duration=float(source.duration),
                      model=network.name, weights=network.weights)
    return Activations(logmel, maps, frame_seconds(first), width, taggram, float(source.duration), network.name,
                       network.weights)
