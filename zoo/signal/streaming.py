"""Long-audio streaming: 16 kHz blocks -> log-mel frames -> patches, in bounded memory.

`LogmelStream` yields exactly the frames the front end gives the whole
recording (reflect padding only at its two ends; frames at block borders
come from the real neighbouring samples). `PatchStream` cuts those frames
into patches with the rules of `musiczoo_runtime.patching` while holding at most one
patch and one hop of frames.
"""

from functools import lru_cache

import numpy as np
import tensorflow as tf

from musiczoo_runtime.contract import CENTER_PADDING, HOP_LENGTH, N_FFT, N_MELS, PATCH_FRAMES
from musiczoo_runtime import patching
from zoo.signal.logmel import logmel_frontend

PAD = CENTER_PADDING
CHUNK_FRAMES = 4096


@lru_cache(maxsize=1)
def _frontend_function():
    """The un-centred front end as a tf.function over `[1, samples]`."""
    model = logmel_frontend(center=False)
    return tf.function(model, input_signature=[tf.TensorSpec([None, None], tf.float32)], reduce_retracing=True)


class LogmelStream:
    """Turns consecutive 16 kHz blocks into consecutive log-mel frames `[k, 96]`.

    Args:
        chunk_frames: frames computed per front-end call.
    """

    def __init__(self, chunk_frames=CHUNK_FRAMES):
        self.chunk_frames = chunk_frames
        self.samples = 0
        self.frames = 0
        self._pending = np.zeros(0, np.float32)  # raw samples before the start padding is known
        self._buffer = None  # padded signal from the next frame's first sample

    def _frames_from(self, keep):
        """Computes every frame that leaves at least `keep` samples in the buffer."""
        available = len(self._buffer) - keep
        if available < N_FFT:
            return np.zeros((0, N_MELS), np.float32)
        count = (available - N_FFT) // HOP_LENGTH + 1
        fn, out = _frontend_function(), []
        for start in range(0, count, self.chunk_frames):
            stop = min(start + self.chunk_frames, count)
            piece = self._buffer[start * HOP_LENGTH:(stop - 1) * HOP_LENGTH + N_FFT]
            out.append(fn(piece[None])[0].numpy())
        self._buffer = self._buffer[count * HOP_LENGTH:]
        self.frames += count
        return np.concatenate(out)

    def push(self, block):
        """Adds samples; returns the frames that became computable `[k, 96]`."""
        block = np.asarray(block, dtype=np.float32)
        self.samples += len(block)
        if self._buffer is None:
            self._pending = np.concatenate([self._pending, block])
            if len(self._pending) <= PAD:
                return np.zeros((0, N_MELS), np.float32)
            self._buffer = np.concatenate([self._pending[PAD:0:-1], self._pending])
            self._pending = None
        else:
            self._buffer = np.concatenate([self._buffer, block])
        # keep enough samples to mirror the recording's end once it is known
        return self._frames_from(keep=N_FFT)

    def finish(self):
        """Pads the recording's end by reflection and returns the remaining frames."""
        if self._buffer is None:  # shorter than the padding: mirrored repeatedly
            self._buffer = patching.reflect_pad(self._pending, PAD)
        else:
            self._buffer = np.concatenate([self._buffer, self._buffer[-2:-PAD - 2:-1]])
        return self._frames_from(keep=0)


class PatchStream:
    """Cuts consecutive log-mel frames into patches.

    Args:
        hop: frames between patch starts.
        last_patch: "repeat" or "drop" (see `musiczoo_runtime.patching`).
        patch_frames: frames per patch.
    """

    def __init__(self, hop, last_patch, patch_frames=PATCH_FRAMES):
        patching.check_last_patch(last_patch)
        self.patch_frames, self.hop, self.last_patch = patch_frames, hop, last_patch
        self.next_start = 0
        self._offset = 0  # frame index of self._frames[0]
        self._frames = np.zeros((0, N_MELS), np.float32)

    def push(self, frames):
        """Adds frames; yields (start frame, patch `[patch_frames, 96]`) for every whole patch now complete."""
        self._frames = np.concatenate([self._frames, frames])
        end = self._offset + len(self._frames)
        while self.next_start + self.patch_frames <= end:
            local = self.next_start - self._offset
            yield self.next_start, self._frames[local:local + self.patch_frames]
            self.next_start += self.hop
        drop = min(self.next_start - self._offset, len(self._frames))
        self._frames, self._offset = self._frames[drop:], self._offset + drop

    def finish(self, n_frames):
        """Yields the patches left once the recording's `n_frames` are known (a padded tail or short clip)."""
        for start in patching.patch_starts(n_frames, self.hop, self.last_patch, self.patch_frames):
            if start >= self.next_start:
                local = start - self._offset
                yield start, patching.cut(self._frames[local:], [0], self.patch_frames)[0]


def stream_patches(source, hop_seconds, last_patch, chunk_seconds, counter):
    """Yields (start frame, patch `[187, 96]`) over a streamed recording, in bounded memory.

    Args:
        source: a `musiczoo_runtime.audio.AudioSource`.
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" or "drop".
        chunk_seconds: audio decoded at a time (the patches do not depend on it).
        counter: a dict; `counter["frames"]` is set to the recording's log-mel frame count
            once it is known (before the final patches are yielded).
    """
    logmel = LogmelStream()
    patcher = PatchStream(patching.hop_frames(hop_seconds), last_patch)
    for block in source.blocks(chunk_seconds):
        yield from patcher.push(logmel.push(block))
    yield from patcher.push(logmel.finish())
    counter["frames"] = logmel.frames
    yield from patcher.finish(logmel.frames)
