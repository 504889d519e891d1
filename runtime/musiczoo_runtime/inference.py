"""`tag`, `tag_many`, `extract`, `extract_many` on the shipped waveform-in graphs: the full package's API and
result types (`Taggram`, `Features`), computed by ONNX Runtime alone.

A recording is decoded whole (16 kHz mono, `musiczoo_runtime.audio`), cut into the windows of the zoo's
patches (`patching.patch_windows`) and its whole windows run in batches shared with the next recordings,
so short files share batches; a final partial window runs on its own (the graph repeat-pads its frames).
The next group of recordings is decoded in a thread while the graph runs. A recording that fails is that
recording's ZooError; the others complete.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from musiczoo_runtime import checks, patching
from musiczoo_runtime.audio import open_audio
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
    PATCH_WINDOW_SAMPLES,
    centred_frames,
)
from musiczoo_runtime.errors import ZooError, file_error
from musiczoo_runtime.graphs import PROBABILITIES, graph
from musiczoo_runtime.results import Features, Taggram


@dataclass
class Recording:
    """One recording's windows and, once run, the graph's outputs (what `Taggram/Features.from_result` read).

    Attributes:
        index: position in the input sequence.
        source: the opened AudioSource (None if opening failed).
        starts: start frame of each patch `[patches]`.
        windows: float32 windows `[<= 48128]`, one per patch.
        n_frames: centred log-mel frames of the recording.
        outputs: one array per requested output `[patches, ...]`.
        error: the ZooError that stopped it, or None.
    """

    index: int
    source: object = None
    starts: np.ndarray = None
    windows: list = None
    n_frames: int = 0
    outputs: list = None
    error: ZooError = None


def decode(index, audio, sample_rate, hop_seconds, last_patch):
    """Opens, decodes and cuts one recording; any failure becomes its `error`."""
    recording = Recording(index)
    try:
        recording.source = open_audio(audio, sample_rate)
        waveform = recording.source.read()
        recording.n_frames = centred_frames(len(waveform))
        starts, recording.windows = patching.patch_windows(waveform, hop_seconds, last_patch)
        recording.starts = np.asarray(starts)
    except Exception as error:  # noqa: BLE001 - whatever a decoder raises is this recording's error
        label = recording.source.label if recording.source else (audio if isinstance(audio, str) else
                                                                 f"recording {index}")
        recording.error = error if isinstance(error, ZooError) else file_error(label, error)
    return recording


def run_group(network, outputs, recordings, batch_size):
    """Runs the windows of `recordings` (whole windows batched across them); fills each one's `outputs`."""
    good = [r for r in recordings if r.error is None]
    whole = [(r, i) for r in good for i, w in enumerate(r.windows) if len(w) == PATCH_WINDOW_SAMPLES]
    results = {}
    for first in range(0, len(whole), batch_size):
        chunk = whole[first:first + batch_size]
        values = network.run(outputs, np.stack([r.windows[i] for r, i in chunk]))
        for row, key in enumerate(chunk):
            results[id(key[0]), key[1]] = [value[row] for value in values]
    for recording in good:
        for i, window in enumerate(recording.windows):
            if len(window) != PATCH_WINDOW_SAMPLES:
                results[id(recording), i] = [value[0] for value in network.run(outputs, window[None])]
        rows = [results[id(recording), i] for i in range(len(recording.windows))]
        recording.outputs = [np.stack([row[k] for row in rows]) for k in range(len(outputs))]
        recording.windows = None


def groups(audios, sample_rate, hop_seconds, last_patch, batch_size):
    """Decoded recordings in groups holding at least `batch_size` windows, the next group decoded ahead."""
    def decode_group(start):
        group, windows, index = [], 0, start
        while index < len(audios) and windows < batch_size:
            group.append(decode(index, audios[index], sample_rate, hop_seconds, last_patch))
            windows += len(group[-1].windows or ())
            index += 1
        return group, index

    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(decode_group, 0)
        while True:
            group, index = pending.result()
            if not group:
                return
            pending = reader.submit(decode_group, index)
            yield group


def run(model, weights, outputs, audios, sample_rate, hop_seconds, last_patch, batch_size, threads):
    """Yields every recording of `audios`, in order, with its `outputs` (or its error)."""
    checks.positive_integer(batch_size, "batch_size")
    patching.hop_frames(hop_seconds)
    patching.check_last_patch(last_patch)
    network = graph(model, weights, threads)
    for group in groups(list(audios), sample_rate, hop_seconds, last_patch, batch_size):
        run_group(network, outputs, group, batch_size)
        yield from group


def tag_many(audios, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, hop_seconds=DEFAULT_HOP_SECONDS,
             last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE, threads=None):
    """Tags many recordings, batching patches across them.

    Args:
        audios: sequence of paths (or of arrays, with `sample_rate=`).
        model, weights, hop_seconds, last_patch, sample_rate, batch_size, threads: as in `tag`.

    Yields:
        (audio, Taggram or ZooError) in input order; a recording that fails does not stop the others.
    """
    audios = checks.recordings(audios, "tag_many")
    tags = graph(model, weights, threads).tags
    for recording in run(model, weights, [PROBABILITIES], audios, sample_rate, hop_seconds, last_patch,
                         batch_size, threads):
        yield audios[recording.index], recording.error or Taggram.from_result(recording, tags, model, weights)


def only(results):
    """The one result of a `*_many` call over one recording; raises its ZooError if it failed."""
    ((_, result),) = results
    if isinstance(result, ZooError):
        raise result
    return result


def tag(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, hop_seconds=DEFAULT_HOP_SECONDS,
        last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE, threads=None):
    """Tags a recording patch by patch (as `zoo.tag`, on the shipped ONNX graph).

    Args:
        audio: path of an audio file, or an array `[samples]` / `[samples, channels]`.
        model: catalog name.
        weights: weight tag ("mtt", "msd").
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" (pad the final partial patch) or "drop".
        sample_rate: the array's rate (required for arrays).
        batch_size: patches per forward pass.
        threads: ONNX Runtime's intra-op threads (None: every core).

    Returns:
        Taggram with `probabilities [patches, tags]` and their mean.

    Raises:
        ZooError: unreadable audio or bad arguments.
    """
    return only(tag_many([audio], model, weights, hop_seconds, last_patch, sample_rate=sample_rate,
                         batch_size=batch_size, threads=threads))


def extract_many(audios, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, hop_seconds=DEFAULT_HOP_SECONDS,
                 last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE, threads=None):
    """Named intermediate features of many recordings, batched across them.

    Yields:
        (audio, Features or ZooError) in input order.
    """
    network = graph(model, weights, threads)
    layers = checks.feature_layers(model, layers, network.feature_layers)
    hop = patching.hop_frames(hop_seconds)
    audios = checks.recordings(audios, "extract_many")
    for recording in run(model, weights, layers, audios, sample_rate, hop_seconds, last_patch, batch_size, threads):
        yield audios[recording.index], recording.error or Features.from_result(
            recording, layers, network.frame_layers, hop, model, weights)


def extract(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, hop_seconds=DEFAULT_HOP_SECONDS,
            last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE, threads=None):
    """Named intermediate features of a recording (as `zoo.extract`).

    Args:
        audio, model, weights, hop_seconds, last_patch, sample_rate, batch_size, threads: as in `tag`.
        layers: layer names (default: every feature layer of the weights' card).

    Returns:
        Features: frame-level layers `[frames, dim]`, patch-level layers `[patches, ...]`, with row times.

    Raises:
        ZooError: unreadable audio, unknown layer or bad arguments.
    """
    return only(extract_many([audio], model, weights, layers, hop_seconds, last_patch, sample_rate=sample_rate,
                             batch_size=batch_size, threads=threads))
