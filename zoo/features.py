"""Taggrams and named intermediate features of recordings of any length.

The log-mel front end runs once per recording, in chunks of frames whose
borders are computed from the real neighbouring samples, then the network
runs on the patches cut from that sequence.
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
from zoo.frontend import HOP_LENGTH, N_FFT, N_MELS, build_frontend, frames_in
from zoo.registry import card, load

PATCH_SECONDS = 3.0
CHUNK_FRAMES = 4096
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


def _waveform(audio, sample_rate):
    """16 kHz mono float32 waveform and duration of a path or array."""
    if isinstance(audio, (str, Path)):
        if sample_rate is not None:
            raise ZooError("sample_rate= is for arrays; a file's own rate is read from the file")
        return audio_io.load(audio)
    if sample_rate is None:
        raise ZooError("pass sample_rate= with an audio array (the rate it was recorded at)")
    data = np.asarray(audio)
    if data.ndim == 2 and data.shape[0] < data.shape[1] and data.shape[0] <= 8:
        data = data.T  # [channels, samples] -> [samples, channels]
    waveform = audio_io.to_mono_16k(data, sample_rate, "audio array")
    return waveform, data.shape[0] / sample_rate


@lru_cache(maxsize=1)
def _frontend_function():
    model = build_frontend(center=False)
    return tf.function(model, input_signature=[tf.TensorSpec([None, None], tf.float32)], reduce_retracing=True)


def logmel_sequence(waveform, chunk_frames=CHUNK_FRAMES):
    """Log-mel of a whole recording, computed in chunks of frames.

    Every frame is computed from the same samples whatever the chunk size
    (reflect padding only at the recording's two ends).

    Args:
        waveform: float32 `[samples]` at 16 kHz.
        chunk_frames: frames computed per front-end call.

    Returns:
        `[1 + samples // 256, 96]` float32.
    """
    padded = np.pad(np.asarray(waveform, dtype=np.float32), N_FFT // 2, mode="reflect")
    n_frames = 1 + len(waveform) // HOP_LENGTH
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    fn = _frontend_function()
    for start in range(0, n_frames, chunk_frames):
        stop = min(start + chunk_frames, n_frames)
        piece = padded[start * HOP_LENGTH:(stop - 1) * HOP_LENGTH + N_FFT]
        out[start:stop] = fn(piece[None])[0].numpy()
    return out


@lru_cache(maxsize=8)
def _network(model, weights, outputs=None):
    """A log-mel-input model (with top) returning `outputs` layers, as a tf.function."""
    net = load(model, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    if outputs is not None:
        net = keras.Model(net.inputs, [net.get_layer(name).output for name in outputs])
    spec = tf.TensorSpec([None, frames_in(PATCH_SECONDS), N_MELS], tf.float32)
    return tf.function(lambda x: net(x, training=False), input_signature=[spec])


def _run(function, patches, batch_size):
    """Runs a network function over patches in batches; returns a list of arrays per output."""
    results = []
    for start in range(0, len(patches), batch_size):
        out = function(patches[start:start + batch_size])
        out = out if isinstance(out, (list, tuple)) else [out]
        results.append([o.numpy() for o in out])
    return [np.concatenate(parts) for parts in zip(*results)]


def _patches(waveform, hop_seconds, last_patch):
    """Patches `[n, 187, 96]`, their start frames `[n]` and the recording's frame count."""
    logmel = logmel_sequence(waveform)
    patch_frames = frames_in(PATCH_SECONDS)
    starts = patching.patch_starts(len(logmel), patch_frames, patching.hop_frames(hop_seconds), last_patch)
    return patching.cut(logmel, starts, patch_frames), np.asarray(starts), len(logmel)


def tag(audio, model="timbral_temporal", weights="mtt", hop_seconds=3.0, last_patch="repeat", *,
        sample_rate=None, batch_size=BATCH_SIZE):
    """Tags a recording patch by patch.

    Args:
        audio: path of an audio file, or an array `[samples]` / `[samples, channels]`.
        model: catalog name.
        weights: weight tag.
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" (pad the final partial patch) or "drop".
        sample_rate: the array's rate (required for arrays).
        batch_size: patches per forward pass.

    Returns:
        Taggram with `probabilities [patches, tags]` and their mean.
    """
    waveform, duration = _waveform(audio, sample_rate)
    patches, starts, _ = _patches(waveform, hop_seconds, last_patch)
    (probabilities,) = _run(_network(model, weights), patches, batch_size)
    return Taggram(
        tags=card(model, weights)["tags"],
        times=patching.frame_seconds(starts),
        probabilities=probabilities,
        clip_probabilities=probabilities.mean(axis=0),
        duration=float(duration),
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
            sample_rate=None, batch_size=BATCH_SIZE):
    """Named intermediate features of a recording.

    Args:
        audio, model, weights, hop_seconds, last_patch, sample_rate, batch_size: as in `tag`.
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
    waveform, duration = _waveform(audio, sample_rate)
    patches, starts, n_frames = _patches(waveform, hop_seconds, last_patch)
    values = _run(_network(model, weights, tuple(layers)), patches, batch_size)
    hop = patching.hop_frames(hop_seconds)
    arrays, times = {}, {}
    for name, value in zip(layers, values):
        if name in info["frame_layers"]:
            arrays[name], frames = _frame_rows(value, starts, info["frame_layers"][name], hop, n_frames)
            times[name] = patching.frame_seconds(frames)
        else:
            arrays[name], times[name] = value, patching.frame_seconds(starts)
    return Features(arrays, times, float(duration), model, weights, patching.frame_seconds(starts))
