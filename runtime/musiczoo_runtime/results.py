"""What inference returns: a `Taggram` (tags over time) or `Features` (named layers over time) per recording."""

from dataclasses import dataclass

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import frame_seconds
from musiczoo_runtime.errors import ZooError


@dataclass
class Taggram:
    """Tag probabilities over time for one recording.

    Attributes:
        tags: tag (or class) names `[tags]`.
        times: start of each patch in seconds `[patches]`.
        probabilities: `[patches, tags]`.
        clip_probabilities: mean over patches `[tags]`.
        duration: length of the recording in seconds.
        model: catalog name (or, for a fine-tuned model, its folder).
        weights: weight tag (or the fine-tuned model's backbone weights).
    """

    tags: list
    times: np.ndarray
    probabilities: np.ndarray
    clip_probabilities: np.ndarray
    duration: float
    model: str
    weights: str

    @classmethod
    def from_result(cls, result, tags, model, weights):
        """The Taggram of a `zoo.inference.pipeline.Result` whose one output is `[patches, tags]`."""
        (probabilities,) = result.outputs
        return cls(tags=None if tags is None else list(tags), times=frame_seconds(result.starts),
                   probabilities=probabilities,
                   clip_probabilities=probabilities.mean(axis=0), duration=float(result.source.duration),
                   model=model, weights=weights)

    def top(self, n=5):
        """The `n` most probable clip-level tags as (tag, probability), best first (n >= 1).

        Raises:
            ZooError: the taggram has no tag names (an untrained network, weights=None, or a weight file).
        """
        if self.tags is None:
            raise ZooError(f"this taggram of {self.model} with weights={self.weights!r} has no tag names (only "
                           "pretrained weight tags have them): read its .probabilities [patches, outputs] and "
                           ".clip_probabilities, or tag with weights='mtt' or 'msd'")
        order = np.argsort(-self.clip_probabilities, kind="stable")[:checks.positive_integer(n, "top")]
        return [(self.tags[i], float(self.clip_probabilities[i])) for i in order]


@dataclass
class Features:
    """Named intermediate features of one recording.

    Attributes:
        layers: layer name -> array; frame-level layers `[frames, dim]`,
            patch-level layers `[patches, ...]`.
        times: layer name -> start time in seconds of each row.
        duration: length of the recording in seconds.
        model: catalog name.
        weights: weight tag.
        patch_times: start time in seconds of each patch `[patches]`.
    """

    layers: dict
    times: dict
    duration: float
    model: str
    weights: str
    patch_times: np.ndarray

    @classmethod
    def from_result(cls, result, layers, frame_layers, hop, model, weights):
        """The Features of a `zoo.inference.pipeline.Result` of a network returning `layers`.

        Args:
            result: the pipeline's result for one recording.
            layers: names of the network's outputs, in order.
            frame_layers: frame-level layer -> input frames per output step (the others are per patch).
            hop: frames between patch starts.
            model, weights: what produced them.
        """
        arrays, times = {}, {}
        for name, value in zip(layers, result.outputs):
            if name in frame_layers:
                arrays[name], frames = _frame_rows(value, result.starts, frame_layers[name], hop, result.n_frames)
                times[name] = frame_seconds(frames)
            else:
                arrays[name], times[name] = value, frame_seconds(result.starts)
        return cls(arrays, times, float(result.source.duration), model, weights, frame_seconds(result.starts))

    def __getitem__(self, name):
        return self.layers[name]


def _frame_rows(values, starts, stride, hop, n_frames):
    """Joins per-patch frame features into one sequence, each frame taken from the first patch holding it.

    Args:
        values: `[patches, steps, dim]`.
        starts: patch start frames `[patches]`.
        stride: input frames per output step.
        hop: frames between patch starts.
        n_frames: frames of the recording (steps of repeat-padding beyond it are dropped).

    Returns:
        (`[rows, dim]`, start frame of each row).
    """
    rows, frames = [], []
    keep = -(-hop // stride)
    for i, start in enumerate(starts):
        part = values[i] if i == len(starts) - 1 else values[i][:keep]
        step_frames = start + stride * np.arange(len(part))
        real = step_frames < n_frames
        rows.append(part[real])
        frames.append(step_frames[real])
    return np.concatenate(rows), np.concatenate(frames)
