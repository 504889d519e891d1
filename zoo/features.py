"""Taggrams and named intermediate features of recordings of any length.

Recordings stream through `zoo.streaming`: the log-mel front end runs once
per recording, block by block, and the network runs on the patches cut from
that frame sequence, so memory stays bounded whatever the length.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import audio as audio_io
from zoo import patching
from zoo.errors import ZooError
from zoo.frontend import N_MELS, frames_in
from zoo.registry import card, load
from zoo.streaming import LogmelStream, PatchStream

PATCH_SECONDS = 3.0
BATCH_SIZE = 32


@dataclass
class Taggram:
    """Tag probabilities over time for one recording.

    Attributes:
        tags: tag names `[tags]`.
        times: start of each patch in seconds `[patches]`.
        probabilities: `[patches, tags]`.
        clip_probabilities: mean over patches `[tags]`.
        duration: length of the recording in seconds.
        model: catalog name.
        weights: weight tag.
    """

    tags: list
    times: np.ndarray
    probabilities: np.ndarray
    clip_probabilities: np.ndarray
    duration: float
    model: str
    weights: str

    def top(self, n=5):
        """The `n` most probable clip-level tags as (tag, probability), best first."""
        order = np.argsort(-self.clip_probabilities, kind="stable")[:n]
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
    """

    layers: dict
    times: dict
    duration: float
    model: str
    weights: str
    patch_times: np.ndarray

    def __getitem__(self, name):
        return self.layers[name]


def _source(audio, sample_rate):
    """An AudioSource for a path or an array."""
    if isinstance(audio, (str, Path)):
        if sample_rate is not None:
            raise ZooError("sample_rate= is for arrays; a file's own rate is read from the file")
        return audio_io.open_file(audio)
    if sample_rate is None:
        raise ZooError("pass sample_rate= with an audio array (the rate it was recorded at)")
    return audio_io.from_array(audio, sample_rate)


@lru_cache(maxsize=8)
def _network(model, weights, outputs=None):
    """A log-mel-input model (with top) returning `outputs` layers, as a tf.function."""
    net = load(model, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    if outputs is not None:
        net = keras.Model(net.inputs, [net.get_layer(name).output for name in outputs])
    spec = tf.TensorSpec([None, frames_in(PATCH_SECONDS), N_MELS], tf.float32)
    return tf.function(lambda x: net(x, training=False), input_signature=[spec])


def _patches(source, hop_seconds, last_patch, chunk_seconds, counter):
    """Yields (start frame, patch) over a streamed recording; sets counter["frames"] at the end."""
    logmel = LogmelStream()
    patcher = PatchStream(frames_in(PATCH_SECONDS), patching.hop_frames(hop_seconds), last_patch)
    for block in source.blocks(chunk_seconds):
        yield from patcher.push(logmel.push(block))
    yield from patcher.push(logmel.finish())
    counter["frames"] = logmel.frames
    yield from patcher.finish(logmel.frames)


def _run(function, source, hop_seconds, last_patch, batch_size, chunk_seconds):
    """Runs a network over every patch of a recording, `batch_size` patches at a time.

    Returns:
        (one array per network output `[patches, ...]`, patch start frames, frames in the recording).
    """
    counter, starts, results, batch = {}, [], [], []

    def flush():
        out = function(np.stack(batch))
        results.append([o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])])
        batch.clear()

    for start, patch in _patches(source, hop_seconds, last_patch, chunk_seconds, counter):
        starts.append(start)
        batch.append(patch)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return [np.concatenate(parts) for parts in zip(*results)], np.asarray(starts), counter["frames"]


def tag(audio, model="timbral_temporal", weights="mtt", hop_seconds=3.0, last_patch="repeat", *,
        sample_rate=None, batch_size=BATCH_SIZE, chunk_seconds=audio_io.BLOCK_SECONDS):
    """Tags a recording patch by patch.

    Args:
        audio: path of an audio file, or an array `[samples]` / `[samples, channels]`.
        model: catalog name.
        weights: weight tag.
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" (pad the final partial patch) or "drop".
        sample_rate: the array's rate (required for arrays).
        batch_size: patches per forward pass.
        chunk_seconds: audio decoded and transformed at a time (bounds memory;
            results do not depend on it).

    Returns:
        Taggram with `probabilities [patches, tags]` and their mean.
    """
    source = _source(audio, sample_rate)
    (probabilities,), starts, _ = _run(_network(model, weights), source, hop_seconds, last_patch, batch_size,
                                       chunk_seconds)
    return Taggram(
        tags=card(model, weights)["tags"],
        times=patching.frame_seconds(starts),
        probabilities=probabilities,
        clip_probabilities=probabilities.mean(axis=0),
        duration=float(source.duration),
        model=model,
        weights=weights,
    )


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


def extract(audio, model="timbral_temporal", weights="mtt", layers=None, hop_seconds=3.0, last_patch="repeat", *,
            sample_rate=None, batch_size=BATCH_SIZE, chunk_seconds=audio_io.BLOCK_SECONDS):
    """Named intermediate features of a recording.

    Args:
        audio, model, weights, hop_seconds, last_patch, sample_rate, batch_size, chunk_seconds: as in `tag`.
        layers: layer names (default: every feature layer of the model's card).

    Returns:
        Features: frame-level layers as `[frames, dim]`, patch-level layers as
        `[patches, ...]`, with the start time of every row.
    """
    info = card(model, weights)
    layers = list(layers or info["feature_layers"])
    unknown = [name for name in layers if name not in info["feature_layers"]]
    if unknown:
        raise ZooError(f"{model} has no feature layer {unknown[0]!r}; choose from {', '.join(info['feature_layers'])}")
    source = _source(audio, sample_rate)
    values, starts, n_frames = _run(_network(model, weights, tuple(layers)), source, hop_seconds, last_patch,
                                    batch_size, chunk_seconds)
    hop = patching.hop_frames(hop_seconds)
    arrays, times = {}, {}
    for name, value in zip(layers, values):
        if name in info["frame_layers"]:
            arrays[name], frames = _frame_rows(value, starts, info["frame_layers"][name], hop, n_frames)
            times[name] = patching.frame_seconds(frames)
        else:
            arrays[name], times[name] = value, patching.frame_seconds(starts)
    return Features(arrays, times, float(source.duration), model, weights, patching.frame_seconds(starts))
