"""The three forms of the patch rule and of the centre padding agree on every edge case.

The patch rule (which 3 s patches a recording is cut into) and the reflect padding of a
centred STFT exist three times: in NumPy (`musiczoo_runtime.patching`), in streaming form
(`zoo.signal.streaming`) and in TensorFlow-graph form (`zoo.signal.graph`, for exported
SavedModels), plus the Keras `CenterPad` layer of the front end. These tests hold them
together; they work on synthetic frames where they can, so they need no weights.
"""

from functools import lru_cache

import numpy as np
import pytest
import tensorflow as tf

from musiczoo_runtime.contract import (
    CENTER_PADDING,
    LAST_PATCH_POLICIES,
    MIN_TAIL_SECONDS,
    N_MELS,
    PATCH_FRAMES,
    PATCH_SAMPLES,
    centred_frames,
    frames_in,
)
from musiczoo_runtime import patching
from zoo.signal import graph
from zoo.signal.logmel import CenterPad, logmel_frontend
from zoo.signal.streaming import LogmelStream, PatchStream

P = PATCH_FRAMES  # 187
TAIL = frames_in(MIN_TAIL_SECONDS)  # 62: the shortest kept tail, in frames
HOP_SHORT = patching.hop_frames(1.5)  # 93 < P: overlapping patches
HOP_LONG = patching.hop_frames(4.0)  # 250 > P: gaps between patches

# (id, n_frames, hop); each runs with last_patch "repeat" and "drop"
CASES = [
    ("one-frame", 1, P),
    ("shorter-than-a-patch", P - 1, P),
    ("exactly-one-patch", P, P),
    ("one-frame-over-a-patch", P + 1, P),
    ("3s-recording", centred_frames(PATCH_SAMPLES), P),  # 188 centred frames of which a patch uses 187
    ("3s-plus-one-sample", centred_frames(PATCH_SAMPLES + 1), P),
    ("exactly-two-patches", 2 * P, P),
    ("exactly-three-patches", 3 * P, P),
    ("two-patches-one-frame-over", 2 * P + 1, P),
    ("tail-just-under-min", 2 * P + TAIL - 1, P),
    ("tail-exactly-min", 2 * P + TAIL, P),
    ("tail-just-over-min", 2 * P + TAIL + 1, P),
    ("short-hop/shorter-than-a-patch", 100, HOP_SHORT),
    ("short-hop/exactly-one-patch", P, HOP_SHORT),
    ("short-hop/one-frame-over", P + 1, HOP_SHORT),
    ("short-hop/exact-multiple", P + 3 * HOP_SHORT, HOP_SHORT),
    ("short-hop/tail-just-under-min", P + HOP_SHORT + TAIL - 1, HOP_SHORT),
    ("short-hop/tail-just-over-min", P + HOP_SHORT + TAIL, HOP_SHORT),
    ("long-hop/shorter-than-a-patch", 100, HOP_LONG),
    ("long-hop/exactly-one-patch", P, HOP_LONG),
    ("long-hop/tail-just-under-min", P + TAIL - 1, HOP_LONG),
    ("long-hop/tail-at-min-past-the-end", P + TAIL, HOP_LONG),  # a tail would start at 250 >= 249 frames
    ("long-hop/tail-inside", P + 125, HOP_LONG),
    ("long-hop/exact-multiple", HOP_LONG + P, HOP_LONG),
    ("long-hop/second-tail-past-the-end", HOP_LONG + P + TAIL, HOP_LONG),  # a tail would start at 500
    ("long-hop/second-tail-inside", HOP_LONG + P + 100, HOP_LONG),
]


def patch_rule_params():
    for name, n_frames, hop in CASES:
        for last_patch in LAST_PATCH_POLICIES:
            yield pytest.param(n_frames, hop, last_patch, id=f"{name}-{n_frames}f-hop{hop}-{last_patch}")


@lru_cache(maxsize=None)
def graph_rule(hop, last_patch):
    """graph.patch_indices as an exported graph runs it: n_frames is a symbolic int32 scalar."""
    return tf.function(lambda n: graph.patch_indices(n, hop, last_patch, P),
                       input_signature=[tf.TensorSpec([], tf.int32)])


def streamed_patches(frames, hop, last_patch, chunk):
    """(starts, patches) of a PatchStream fed `chunk` frames at a time (with an empty push after each)."""
    stream, got = PatchStream(hop, last_patch, P), []
    for i in range(0, len(frames), chunk):
        got += [(start, patch.copy()) for start, patch in stream.push(frames[i:i + chunk])]
        got += list(stream.push(frames[:0]))
    got += [(start, patch.copy()) for start, patch in stream.finish(len(frames))]
    return [start for start, _ in got], np.stack([patch for _, patch in got])


@pytest.mark.parametrize("n_frames,hop,last_patch", patch_rule_params())
def test_patch_rule_forms_agree(n_frames, hop, last_patch):
    frames = np.arange(n_frames * N_MELS, dtype=np.float32).reshape(n_frames, N_MELS)  # every value names its frame

    starts = patching.patch_starts(n_frames, hop, last_patch, P)
    assert starts and starts == sorted(set(starts)) and starts[0] == 0
    assert all(start < n_frames for start in starts), f"a patch starts past the last frame: {starts}"
    if last_patch == "drop" and n_frames >= P:
        assert starts[-1] + P <= n_frames
    if last_patch == "repeat" and n_frames > P and starts[-1] + P > n_frames:  # a kept partial tail
        others = set().union(*(range(start, start + P) for start in starts[:-1]))
        assert len(set(range(starts[-1], n_frames)) - others) >= TAIL, "the tail adds less than MIN_TAIL_SECONDS"
    patches = patching.cut(frames, starts, P)

    index, graph_starts = graph_rule(hop, last_patch)(tf.constant(n_frames, tf.int32))
    assert graph_starts.numpy().tolist() == starts
    np.testing.assert_array_equal(tf.gather(frames, index).numpy(), patches)

    for chunk in sorted({1, 50, P, n_frames}):
        stream_starts, stream_contents = streamed_patches(frames, hop, last_patch, chunk)
        assert stream_starts == starts, f"chunk={chunk}"
        np.testing.assert_array_equal(stream_contents, patches, err_msg=f"chunk={chunk}")


@lru_cache(maxsize=None)
def frontend(center):
    return logmel_frontend(center=center)


def streamed_logmel(y, block, chunk_frames):
    stream = LogmelStream(chunk_frames)
    parts = [stream.push(y[i:i + block]) for i in range(0, len(y), block)]
    return np.concatenate(parts + [stream.finish()])


@pytest.mark.parametrize("length", [2, 3, 255, 256, 257, 1000, 20_000])
def test_padding_forms_agree(length):
    t = np.arange(length)
    y = (0.3 * np.sin(0.05 * t) + 0.1 * np.random.default_rng(length).standard_normal(length)).astype(np.float32)

    padded = patching.reflect_pad(y, CENTER_PADDING)
    assert padded.shape == (length + 2 * CENTER_PADDING,)
    np.testing.assert_array_equal(graph.reflect_pad(tf.constant(y[None]), CENTER_PADDING).numpy()[0], padded)

    # CenterPad is tf.pad(mode="REFLECT"), defined only when the clip is longer than the padding
    center_pad = CenterPad(CENTER_PADDING, "reflect")
    if length > CENTER_PADDING:
        np.testing.assert_array_equal(center_pad(tf.constant(y[None])).numpy()[0], padded)
    else:
        with pytest.raises(tf.errors.InvalidArgumentError):
            center_pad(tf.constant(y[None]))

    whole = frontend(False)(padded[None]).numpy()[0]
    assert whole.shape == (centred_frames(length), N_MELS)
    if length > CENTER_PADDING:  # the on-graph centring gives the same frames
        np.testing.assert_array_equal(frontend(True)(y[None]).numpy()[0], whole)

    for block, chunk_frames in [(length, 4096), (97, 3), (1, 1)]:
        if block == 1 and length > 1000:
            continue  # sample-by-sample pushes of a long signal add time, not coverage
        streamed = streamed_logmel(y, block, chunk_frames)
        assert streamed.shape == whole.shape, f"block={block}"
        np.testing.assert_allclose(streamed, whole, atol=1e-5, err_msg=f"block={block}")
