"""The padding and patch rules in TensorFlow-graph form (core ops only), for exported SavedModels.

The same rules as `musiczoo_runtime.patching` (NumPy) and `zoo.signal.streaming`,
written so that TF Serving runs them without Python, Kapre or tensorflow-io.
"""

import tensorflow as tf

from musiczoo_runtime.contract import CENTER_PADDING, MIN_TAIL_SECONDS, PATCH_FRAMES, frames_in


def reflect_pad(waveform, padding=CENTER_PADDING):
    """Reflect-pads `[batch, samples]` at both ends, mirroring repeatedly when the clip is shorter than `padding`.

    Matches numpy's `np.pad(..., mode="reflect")` for every length of at least 2 samples.
    """
    n = tf.shape(waveform)[1]
    period = tf.maximum(2 * (n - 1), 1)
    index = tf.math.floormod(tf.range(-padding, n + padding), period)
    index = tf.where(index < n, index, period - index)
    return tf.gather(waveform, index, axis=1)


def patch_indices(n_frames, hop=PATCH_FRAMES, last_patch="repeat", patch_frames=PATCH_FRAMES):
    """Frame indices of every patch of a log-mel sequence, with the rules of `musiczoo_runtime.patching`.

    Args:
        n_frames: int32 scalar, frames in the sequence.
        hop: frames between patch starts (a Python int).
        last_patch: "repeat" or "drop" (a Python string).
        patch_frames: frames per patch.

    Returns:
        (int32 `[patches, patch_frames]` frame indices, repeat-filled for a
        partial patch; int32 `[patches]` start frames).
    """
    whole = tf.maximum(1, (n_frames - patch_frames) // hop + 1)
    starts = tf.range(whole) * hop
    if last_patch == "repeat":
        uncovered = n_frames - (starts[-1] + max(hop, patch_frames))  # frames only the partial patch would hold
        add_tail = tf.logical_and(n_frames > patch_frames, uncovered >= frames_in(MIN_TAIL_SECONDS))
        starts = tf.concat([starts, tf.reshape(starts[-1] + hop, [1])[:tf.cast(add_tail, tf.int32)]], 0)
    available = tf.minimum(patch_frames, n_frames - starts)
    index = starts[:, None] + tf.math.floormod(tf.range(patch_frames)[None, :], available[:, None])
    return index, starts
