"""Cutting a log-mel sequence into the fixed-length patches the models take.

Patch starts are `hop_frames` apart (the hop is counted in frames, as in the
original musicnn). `last_patch="drop"` keeps whole patches only, as musicnn
0.1.0 did; `"repeat"` also keeps the final partial patch, filled by repeating
its frames as the models' training data was, provided it adds at least
`MIN_TAIL_SECONDS` of audio that no whole patch covers. A clip shorter than
one patch is always repeat-padded.
"""

import numpy as np

from zoo.errors import ZooError
from zoo.frontend import HOP_LENGTH, SAMPLE_RATE, frames_in

LAST_PATCH = ("repeat", "drop")
MIN_TAIL_SECONDS = 1.0


def hop_frames(hop_seconds):
    """Frames between patch starts for a hop in seconds (int(seconds * 16000 / 256))."""
    if not isinstance(hop_seconds, (int, float)) or hop_seconds <= 0:
        raise ZooError(f"hop_seconds must be a positive number of seconds, not {hop_seconds!r}")
    hop = frames_in(hop_seconds)
    if hop < 1:
        raise ZooError(f"hop_seconds={hop_seconds} is shorter than one frame ({HOP_LENGTH / SAMPLE_RATE:.3f} s)")
    return hop


def patch_starts(n_frames, patch_frames, hop, last_patch="repeat"):
    """First frame of every patch of a sequence.

    Args:
        n_frames: frames in the sequence.
        patch_frames: frames per patch.
        hop: frames between patch starts.
        last_patch: "repeat" or "drop".

    Returns:
        list of int start frames (never empty).
    """
    if last_patch not in LAST_PATCH:
        raise ZooError(f"last_patch must be 'repeat' or 'drop', not {last_patch!r}")
    if n_frames <= patch_frames:
        return [0]
    starts = list(range(0, n_frames - patch_frames + 1, hop))
    uncovered = n_frames - (starts[-1] + patch_frames)
    if last_patch == "repeat" and uncovered >= frames_in(MIN_TAIL_SECONDS):
        starts.append(starts[-1] + hop)
    return starts


def cut(logmel, starts, patch_frames):
    """Patches `[len(starts), patch_frames, mel]` of a log-mel `[frames, mel]`, repeat-padding short ones."""
    patches = np.empty((len(starts), patch_frames, logmel.shape[1]), dtype=np.float32)
    for i, start in enumerate(starts):
        piece = logmel[start:start + patch_frames]
        if len(piece) < patch_frames:
            piece = np.tile(piece, (-(-patch_frames // len(piece)), 1))[:patch_frames]
        patches[i] = piece
    return patches


def frame_seconds(frames):
    """Time in seconds of frame indices: frame t is centred on sample 256 t, and a patch starting there starts then."""
    return np.asarray(frames, dtype=np.float64) * HOP_LENGTH / SAMPLE_RATE
