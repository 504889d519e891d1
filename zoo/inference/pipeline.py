"""Batched inference over many recordings, decoding overlapped with the network.

A reader thread decodes recordings one after another (file -> 16 kHz blocks
-> log-mel frames -> patches, see `zoo.signal.streaming`) into a bounded queue;
the calling thread fills batches with patches from consecutive recordings,
so short files share batches, and runs the network while the reader
decodes ahead. Decoding and TensorFlow release the GIL, so the two overlap.
A recording that fails, whatever the exception (a ZooError, a permission
error, a decoder's own failure), becomes that recording's error through
`musiczoo_runtime.errors.file_error`; the others still complete. Only interruptions
(KeyboardInterrupt, SystemExit) stop the run.
"""

import queue
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    HOP_LENGTH,
    MIN_TAIL_SECONDS,
    PATCH_SECONDS,
    SAMPLE_RATE,
)
from musiczoo_runtime.errors import ZooError, ZooWarning, file_error
from musiczoo_runtime import patching
from musiczoo_runtime.audio import BLOCK_SECONDS
from zoo.signal.streaming import stream_patches

QUEUE_PATCHES = 64


class _Stopped(BaseException):
    """Raised in the reader thread when the consumer has stopped (the run ended, failed or was interrupted)."""


@dataclass
class Result:
    """The network's outputs over one recording.

    Attributes:
        index: position of the recording in the input sequence.
        source: the opened `AudioSource` (None if opening failed).
        outputs: one array per network output `[patches, ...]`.
        starts: start frame of each patch `[patches]`.
        n_frames: log-mel frames in the recording.
        error: the ZooError that stopped this recording, or None.
    """

    index: int
    source: object = None
    outputs: list = None
    starts: np.ndarray = None
    n_frames: int = 0
    error: ZooError = None
    _parts: list = field(default_factory=list, repr=False)
    _starts: list = field(default_factory=list, repr=False)
    _waiting: int = 0  # patches queued for the network and not yet computed
    _ended: bool = False


def warn_long_hop(label, hop_seconds, n_frames, n_patches):
    """A `ZooWarning` when a hop longer than a patch left a recording with one patch though it holds more
    than one: only its first seconds are then tagged."""
    seconds = n_frames * HOP_LENGTH / SAMPLE_RATE
    if n_patches == 1 and hop_seconds > PATCH_SECONDS and seconds > PATCH_SECONDS + MIN_TAIL_SECONDS:
        warnings.warn(f"{label}: hop_seconds={hop_seconds:g} is about as long as this {seconds:.1f} s recording or "
                      f"longer, so only its first {PATCH_SECONDS:g} s are tagged: choose a shorter hop",
                      ZooWarning, stacklevel=2)


def _read(openers, hop_seconds, last_patch, chunk_seconds, out, stop):
    """Reader thread: puts ("patch", i, start, patch), ("end", i, source, frames), ("error", i, error),
    ("fatal", exception) and finally None into `out`.

    Any Exception while opening or streaming recording i is its ("error", i, ZooError): a ZooError
    as raised (the zoo's errors name their input), anything else through `file_error`, named by the
    source's label (or "recording i" if it never opened). Only a BaseException that is not an
    Exception (an interruption) is fatal.
    """

    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    try:
        try:
            for index, opener in enumerate(openers):
                if stop.is_set():
                    return
                source = None
                try:
                    source, counter = opener(), {}
                    n_patches = 0
                    for start, patch in stream_patches(source, hop_seconds, last_patch, chunk_seconds, counter):
                        put(("patch", index, start, patch))
                        n_patches += 1
                    warn_long_hop(source.label, hop_seconds, counter["frames"], n_patches)
                    put(("end", index, source, counter["frames"]))
                except Exception as error:  # noqa: BLE001 - one place turns any per-recording failure into its error
                    label = source.label if source is not None else f"recording {index}"
                    put(("error", index, error if isinstance(error, ZooError) else file_error(label, error)))
        except _Stopped:
            raise
        except BaseException as error:  # noqa: BLE001 - an interruption (or a bug of the loop itself) stops the run
            put(("fatal", error))
        put(None)
    except _Stopped:
        pass  # the consumer has stopped: stop decoding at once


def run(build_network, openers, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH, batch_size=BATCH_SIZE,
        chunk_seconds=BLOCK_SECONDS):
    """Runs a network over every patch of every recording, in batches that span recordings.

    Args:
        build_network: zero-argument callable returning the network function
            `[batch, frames, 96]` -> one tensor or a list of tensors `[batch, ...]`;
            called once the reader thread has started, so that building and
            tracing the model overlaps the first file's decoding.
        openers: iterable of zero-argument callables returning an `AudioSource`
            (called in the reader thread, so a file that cannot be opened is
            that file's error).
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" or "drop".
        batch_size: patches per network call.
        chunk_seconds: audio decoded at a time (results do not depend on it).

    Yields:
        Result per recording, in input order, as soon as it is complete.

    Raises:
        ZooError: a bad batch size, hop, last-patch policy or chunk length (before any work).
    """
    checks.positive_integer(batch_size, "batch_size", checks.MAX_BATCH_SIZE)
    checks.positive_number(chunk_seconds, "chunk_seconds")
    patching.hop_frames(hop_seconds)  # validates before the thread starts
    patching.check_last_patch(last_patch)
    items = queue.Queue(maxsize=QUEUE_PATCHES)
    stop = threading.Event()
    reader = threading.Thread(target=_read, args=(openers, hop_seconds, last_patch, chunk_seconds, items, stop),
                              daemon=True, name="musiczoo-reader")
    reader.start()
    results, batch, next_index = {}, [], 0

    def flush():
        outputs = function(np.stack([patch for _, patch in batch]))
        outputs = [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
        row = 0
        for index, _ in batch:
            result = results[index]
            result._parts.append([o[row:row + 1] for o in outputs])
            result._waiting -= 1
            row += 1
        batch.clear()

    def complete():
        nonlocal next_index
        while next_index in results and results[next_index]._ended and results[next_index]._waiting == 0:
            result = results.pop(next_index)
            if result.error is None:
                result.outputs = [np.concatenate(parts) for parts in zip(*result._parts)]
                result.starts = np.asarray(result._starts)
            result._parts = result._starts = None
            next_index += 1
            yield result

    try:
        function = build_network()
        while (item := items.get()) is not None:
            kind = item[0]
            if kind == "fatal":
                raise item[1]
            index = item[1]
            result = results.setdefault(index, Result(index))
            if kind == "patch":
                result._starts.append(item[2])
                result._waiting += 1
                batch.append((index, item[3]))
                if len(batch) == batch_size:
                    flush()
            elif kind == "end":
                result.source, result.n_frames, result._ended = item[2], item[3], True
            else:
                result.error, result._ended = item[2], True
            yield from complete()
        if batch:
            flush()
        yield from complete()
    finally:
        stop.set()
        reader.join()  # a reader left decoding while the interpreter exits can abort it (exit 134)
