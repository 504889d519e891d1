"""Taggrams and named intermediate features of recordings of any length.

Recordings stream through `zoo.streaming`: the log-mel front end runs once
per recording, block by block, and the network runs on the patches cut from
that frame sequence, so memory stays bounded whatever the length.
"""

from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import audio as audio_io
from zoo import patching, pipeline
from zoo.errors import ZooError
from zoo.frontend import N_MELS, frames_in
from zoo.registry import card, load
from zoo.pipeline import PATCH_SECONDS


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


PRECISIONS = ("float32", "bfloat16")


@lru_cache(maxsize=8)
def _network(model, weights, outputs=None, precision="float32"):
    """A log-mel-input model (with top) returning `outputs` layers as float32, as a tf.function.

    `precision="bfloat16"` computes under Keras' mixed_bfloat16 policy (float32
    weights, bfloat16 arithmetic); it is meant for CPUs with bfloat16 matrix
    units (AMX) and is slower on the AVX-512 machine of benchmarks/RESULTS.md.
    """
    if precision not in PRECISIONS:
        raise ZooError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        net = load(model, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    finally:
        keras.config.set_dtype_policy(previous)
    if outputs is not None:
        net = keras.Model(net.inputs, [net.get_layer(name).output for name in outputs])
    spec = tf.TensorSpec([None, frames_in(PATCH_SECONDS), N_MELS], tf.float32)
    return tf.function(lambda x: tf.nest.map_structure(lambda y: tf.cast(y, tf.float32), net(x, training=False)),
                       input_signature=[spec])


def _openers(audios, sample_rate):
    """Zero-argument AudioSource makers for paths or arrays (opened lazily by the pipeline)."""
    return [lambda audio=audio: _source(audio, sample_rate) for audio in audios]


def _taggram(result, model, weights):
    """A Taggram from a `zoo.pipeline.Result` of the probability network."""
    (probabilities,) = result.outputs
    return Taggram(
        tags=card(model, weights)["tags"],
        times=patching.frame_seconds(result.starts),
        probabilities=probabilities,
        clip_probabilities=probabilities.mean(axis=0),
        duration=float(result.source.duration),
        model=model,
        weights=weights,
    )


def tag_many(audios, model="timbral_temporal", weights="mtt", hop_seconds=3.0, last_patch="repeat", *,
             sample_rate=None, batch_size=pipeline.BATCH_SIZE, chunk_seconds=audio_io.BLOCK_SECONDS,
             precision="float32"):
    """Tags many recordings, batching patches across them and decoding ahead of the network.

    Args:
        audios: sequence of paths (or of arrays, with `sample_rate=`).
        model, weights, hop_seconds, last_patch, batch_size, chunk_seconds, precision: as in `tag`.

    Yields:
        (audio, Taggram or ZooError) in input order; a recording that fails
        does not stop the others.
    """
    audios = list(audios)
    network = partial(_network, model, weights, precision=precision)
    for result in pipeline.run(network, _openers(audios, sample_rate), hop_seconds, last_patch, batch_size,
                               chunk_seconds):
        yield audios[result.index], result.error or _taggram(result, model, weights)


def tag(audio, model="timbral_temporal", weights="mtt", hop_seconds=3.0, last_patch="repeat", *,
        sample_rate=None, batch_size=pipeline.BATCH_SIZE, chunk_seconds=audio_io.BLOCK_SECONDS, precision="float32"):
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
        precision: "float32" (default) or "bfloat16" (see benchmarks/RESULTS.md
            for its speed and agreement on this machine).

    Returns:
        Taggram with `probabilities [patches, tags]` and their mean.

    Raises:
        ZooError: unreadable audio or bad arguments.
    """
    ((_, result),) = tag_many([audio], model, weights, hop_seconds, last_patch, sample_rate=sample_rate,
                             batch_size=batch_size, chunk_seconds=chunk_seconds, precision=precision)
    if isinstance(result, ZooError):
        raise result
    return result


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


def _features(result, layers, info, hop_seconds):
    """Features from a `zoo.pipeline.Result` of the network returning `layers`."""
    hop = patching.hop_frames(hop_seconds)
    arrays, times = {}, {}
    for name, value in zip(layers, result.outputs):
        if name in info["frame_layers"]:
            arrays[name], frames = _frame_rows(value, result.starts, info["frame_layers"][name], hop, result.n_frames)
            times[name] = patching.frame_seconds(frames)
        else:
            arrays[name], times[name] = value, patching.frame_seconds(result.starts)
    return Features(arrays, times, float(result.source.duration), info["name"], info["weights"],
                    patching.frame_seconds(result.starts))


def extract_many(audios, model="timbral_temporal", weights="mtt", layers=None, hop_seconds=3.0,
                 last_patch="repeat", *, sample_rate=None, batch_size=pipeline.BATCH_SIZE,
                 chunk_seconds=audio_io.BLOCK_SECONDS):
    """Named intermediate features of many recordings, batched across them.

    Args:
        audios: sequence of paths (or of arrays, with `sample_rate=`).
        model, weights, layers, hop_seconds, last_patch, batch_size, chunk_seconds: as in `extract`.

    Yields:
        (audio, Features or ZooError) in input order.
    """
    info = card(model, weights)
    layers = list(layers or info["feature_layers"])
    unknown = [name for name in layers if name not in info["feature_layers"]]
    if unknown:
        raise ZooError(f"{model} has no feature layer {unknown[0]!r}; choose from {', '.join(info['feature_layers'])}")
    audios = list(audios)
    network = partial(_network, model, weights, tuple(layers))
    for result in pipeline.run(network, _openers(audios, sample_rate), hop_seconds, last_patch, batch_size,
                               chunk_seconds):
        yield audios[result.index], result.error or _features(result, layers, info, hop_seconds)


def extract(audio, model="timbral_temporal", weights="mtt", layers=None, hop_seconds=3.0, last_patch="repeat", *,
            sample_rate=None, batch_size=pipeline.BATCH_SIZE, chunk_seconds=audio_io.BLOCK_SECONDS):
    """Named intermediate features of a recording.

    Args:
        audio, model, weights, hop_seconds, last_patch, sample_rate, batch_size, chunk_seconds: as in `tag`.
        layers: layer names (default: every feature layer of the model's card).

    Returns:
        Features: frame-level layers as `[frames, dim]`, patch-level layers as
        `[patches, ...]`, with the start time of every row.

    Raises:
        ZooError: unreadable audio, unknown layer or bad arguments.
    """
    ((_, result),) = extract_many([audio], model, weights, layers, hop_seconds, last_patch, sample_rate=sample_rate,
                                 batch_size=batch_size, chunk_seconds=chunk_seconds)
    if isinstance(result, ZooError):
        raise result
    return result
