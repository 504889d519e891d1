"""A recording as the explain tools need it: its 16 kHz waveform and the log-mel patches the network sees.

The audio is decoded once; its patches come from the same streaming pipeline
as `zoo.tag` (an identity network returns each recording's log-mel patches),
so an explanation is about the input that was tagged. One difference: a
waveform that resampling carries beyond full scale (loud masters often peak
at 1.01-1.03 after it) is normalised here, once, so that every section of a
report works on the same samples; `zoo.tag` leaves it as it is.
"""

from dataclasses import dataclass

import numpy as np

from musiczoo_runtime.contract import DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH, SAMPLE_RATE, frame_seconds
from zoo.inference import pipeline
from zoo.inference.api import openers
from musiczoo_runtime.audio import from_array, open_audio
from musiczoo_runtime.level import level, level_gain


@dataclass
class Recording:
    """One decoded recording cut into patches.

    Attributes:
        label: file path or "audio array".
        waveform: float32 `[samples]` at 16 kHz (None when only patches were asked for).
        patches: log-mel patches `[patches, 187, 96]`.
        starts: first frame of each patch `[patches]`.
        n_frames: log-mel frames of the whole recording (1 + samples // 256).
    """

    label: str
    waveform: np.ndarray
    patches: np.ndarray
    starts: np.ndarray
    n_frames: int

    @property
    def times(self):
        """Start of each patch in seconds `[patches]`."""
        return frame_seconds(self.starts)


def _recording(result, label, waveform):
    (patches,) = result.outputs
    return Recording(label, waveform, np.asarray(patches, np.float32), result.starts, result.n_frames)


def read_recording(audio, sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """Decodes a recording and cuts its log-mel patches.

    Args:
        audio: path, or array `[samples]` / `[samples, channels]` with `sample_rate`.
        sample_rate: the array's rate (arrays only).
        hop_seconds, last_patch: as in `zoo.tag`.

    Returns:
        Recording with its waveform.

    Raises:
        ZooError: unreadable audio or bad arguments.
    """
    source = open_audio(audio, sample_rate)
    waveform = source.read()
    gain = level_gain(*level([waveform]), source.label)  # once, here: the sections pass this waveform on
    if gain != 1.0:
        waveform = np.clip(waveform * np.float32(gain), -1.0, 1.0)  # clip: the last ulp of the peak
    (result,) = pipeline.run(lambda: np.asarray, [lambda: from_array(waveform, SAMPLE_RATE, source.label)],
                             hop_seconds, last_patch)
    if result.error is not None:
        raise result.error
    return _recording(result, source.label, waveform)


def as_recording(audio, sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """`audio` itself if it is a `Recording` already read (its patches are kept), else `read_recording` of it."""
    if isinstance(audio, Recording):
        return audio
    return read_recording(audio, sample_rate, hop_seconds, last_patch)


def read_patches_many(audios, sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH):
    """The log-mel patches of many recordings, streamed (no waveform kept).

    Args:
        audios: paths, arrays (with `sample_rate`), or `Recording`s already read (passed on as they are,
            under their label, their patches kept).
        sample_rate, hop_seconds, last_patch: as in `zoo.tag`.

    Yields:
        (audio, Recording or ZooError) in input order; a recording that fails does not stop the others.
    """
    audios = list(audios)
    fresh = [audio for audio in audios if not isinstance(audio, Recording)]
    results = pipeline.run(lambda: np.asarray, openers(fresh, sample_rate), hop_seconds, last_patch)
    for audio in audios:
        if isinstance(audio, Recording):
            yield audio.label, audio
        else:
            result = next(results)
            yield audio, result.error or _recording(result, str(audio), None)


def frame_values(values, starts, n_frames):
    """Per-frame values of the whole recording `[n_frames, ...]` from per-patch values `[patches, 187, ...]`.

    Each frame takes the value computed in the first patch that holds it; frames no
    patch holds (a dropped tail) are 0, and the repeated frames that pad a short last
    patch are left out.
    """
    values = np.asarray(values)
    out = np.zeros((n_frames,) + values.shape[2:], values.dtype)
    done = np.zeros(n_frames, bool)
    for patch, start in zip(values, starts):
        stop = min(start + len(patch), n_frames)
        fresh = ~done[start:stop]
        out[start:stop][fresh] = patch[:stop - start][fresh]
        done[start:stop] = True
    return out

