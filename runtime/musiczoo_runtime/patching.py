"""The patch and padding rules in NumPy: which 3 s patches a recording is cut into.

Patch starts are `hop` frames apart (the hop is counted in frames, as in the
original musicnn). `last_patch="drop"` keeps whole patches only, as musicnn
0.1.0 did; `"repeat"` also keeps the final partial patch, filled by repeating
its frames as the models' training data was, provided it adds at least
`MIN_TAIL_SECONDS` of audio that no whole patch covers. A clip shorter than
one patch is always repeat-padded. The same rules in streaming form are in
`zoo.signal.streaming`, in TensorFlow-graph form in `zoo.signal.graph`; one
test holds the three together. `patch_windows` gives the same patches as
windows of the padded waveform, the input of the waveform-in ONNX graphs.
"""

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import (
    CENTER_PADDING,
    DEFAULT_LAST_PATCH,
    HOP_LENGTH,
    LAST_PATCH_POLICIES,
    MIN_TAIL_SECONDS,
    PATCH_FRAMES,
    PATCH_SECONDS,
    PATCH_WINDOW_SAMPLES,
    SAMPLE_RATE,
    centred_frames,
    frames_in,
)
from musiczoo_runtime.errors import ZooError

MAX_HOP_SECONDS = 3600


def hop_frames(hop_seconds):
    """Frames between patch starts for a hop in seconds (int(seconds * 16000 / 256), so whole frames:
    the default 3 s gives 187 frames, 2.992 s).

    Raises:
        ZooError: not a finite positive number, shorter than one frame or longer than `MAX_HOP_SECONDS`.
    """
    checks.positive_number(hop_seconds, "hop_seconds")
    if hop_seconds > MAX_HOP_SECONDS:
        raise ZooError(f"hop_seconds={hop_seconds:g} is longer than {MAX_HOP_SECONDS} s (an hour): with such a hop "
                       "only each recording's first patch would be tagged")
    hop = frames_in(hop_seconds)
    if hop < 1:
        raise ZooError(f"hop_seconds={hop_seconds} is shorter than one frame ({HOP_LENGTH / SAMPLE_RATE:.3f} s)")
    return hop


def check_last_patch(last_patch):
    """Raises ZooError unless `last_patch` is one of `LAST_PATCH_POLICIES`."""
    if last_patch not in LAST_PATCH_POLICIES:
        raise ZooError(f"last_patch must be 'repeat' or 'drop', not {last_patch!r}")


def patch_starts(n_frames, hop, last_patch="repeat", patch_frames=PATCH_FRAMES):
    """First frame of every patch of a sequence.

    Args:
        n_frames: frames in the sequence.
        hop: frames between patch starts.
        last_patch: "repeat" or "drop".
        patch_frames: frames per patch.

    Returns:
        list of int start frames (never empty).
    """
    check_last_patch(last_patch)
    if n_frames <= patch_frames:
        return [0]
    starts = list(range(0, n_frames - patch_frames + 1, hop))
    uncovered = n_frames - (starts[-1] + max(hop, patch_frames))  # frames only the partial patch would hold
    if last_patch == "repeat" and uncovered >= frames_in(MIN_TAIL_SECONDS):
        starts.append(starts[-1] + hop)
    return starts


def cut(logmel, starts, patch_frames=PATCH_FRAMES):
    """Patches `[len(starts), patch_frames, mel]` of a log-mel `[frames, mel]`, repeat-padding short ones."""
    patches = np.empty((len(starts), patch_frames, logmel.shape[1]), dtype=np.float32)
    for i, start in enumerate(starts):
        patches[i] = repeat_to(logmel[start:start + patch_frames], patch_frames)
    return patches


def repeat_to(piece, length):
    """`piece` (non-empty, along axis 0) repeated end to end and cut to `length` rows."""
    return np.tile(piece, (-(-length // len(piece)),) + (1,) * (piece.ndim - 1))[:length]


def reflect_pad(waveform, padding=CENTER_PADDING):
    """Mirrors `padding` samples at both ends of `[samples]` (repeatedly when the clip is shorter), as a centred STFT.

    Args:
        waveform: `[samples]`, at least 2 samples.
        padding: samples added at each end.

    Returns:
        `[samples + 2 * padding]`.
    """
    return np.pad(waveform, padding, mode="reflect")


def patch_windows(waveform, hop_seconds=PATCH_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """The patches `zoo.tag` cuts from a recording, as windows of its reflect-padded samples.

    The recording is padded once, at its two ends (as the zoo's front end pads
    the whole recording); the window of the patch starting at frame s is padded
    samples `[256 s, 256 s + 48128)`, the samples of frames s..s+186. A final
    partial patch's window is shorter: its `1 + (len - 512) // 256` frames are
    the frames the recording has from s on, and the waveform-in ONNX graph
    repeat-pads them to 187 as `repeat_to` does.

    Args:
        waveform: float32 mono 16 kHz samples `[samples]`, at least 2.
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" or "drop".

    Returns:
        (start frames, list of float32 windows `[<= 48128]`, of at least 512 samples each).

    Raises:
        ZooError: bad hop or policy, or fewer than 2 samples.
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1 or len(waveform) < 2:
        raise ZooError(f"patch_windows takes a mono waveform of at least 2 samples, not shape {waveform.shape}")
    hop = hop_frames(hop_seconds)
    padded = reflect_pad(waveform)
    starts = patch_starts(centred_frames(len(waveform)), hop, last_patch)
    return starts, [padded[start * HOP_LENGTH:start * HOP_LENGTH + PATCH_WINDOW_SAMPLES] for start in starts]
