"""Each unit's favourite excerpts: one pass over a collection keeps, per unit of a layer, its top K 3 s patches.

The network function reduces every patch to one score per unit (its peak
activation, or its mean over time) and the tag probabilities, so a recording
costs `[patches, units]` numbers whatever its layer, and the search keeps only
K excerpts per unit: memory does not grow with the collection or with the
length of a file. A second pass over the files holding winners cuts their 3 s
of audio (16 kHz mono Ogg Vorbis), their log-mel thumbnails and `units.json`,
writing each excerpt as soon as its samples have streamed by.
"""

import heapq
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.choices import UNIT_SCORES as SCORES
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    DEFAULT_WEIGHTS,
    HOP_LENGTH,
    PATCH_SAMPLES,
    SAMPLE_RATE,
    frame_seconds,
)
from musiczoo_runtime.errors import ZooError, file_error
from zoo.explain.activations import time_major
from zoo.explain.network import open_network
from zoo.explain.pictures import save_thumbnail
from zoo.outputs.audio import write_audio
from zoo.inference import pipeline
from zoo.inference.api import openers
from musiczoo_runtime.audio import open_audio
from zoo.signal.streaming import LogmelStream

TOP_TAGS = 3


@dataclass(frozen=True)
class Excerpt:
    """A 3 s patch of a recording that excites a unit.

    Attributes:
        file: index of the recording in the scanned sequence.
        start: first frame of the patch.
        score: the unit's peak or mean activation over the patch.
        probabilities: the model's tag probabilities for the patch `[tags]`.
    """

    file: int
    start: int
    score: float
    probabilities: np.ndarray


def score_function(function, by):
    """Wraps a network function (patches -> [layer output, probabilities]) to return
    [scores `[batch, units]`, probabilities]: each unit's maximum over the patch, or its mean over time
    (after the maximum over a mel axis)."""
    def run(patches):
        values, probabilities = [np.asarray(o) for o in function(patches)]
        if by == "peak":
            scores = values.reshape(len(values), -1, values.shape[-1]).max(axis=1)
        else:
            scores = time_major(values).mean(axis=1)
        return [scores, probabilities]

    return run


class UnitSearch:
    """Finds, in one streamed pass over recordings, the `top` excerpts exciting each unit of a layer most.

    Args:
        model: catalog name, or a folder written by `musiczoo finetune`.
        weights: weight tag, weight file or None; ignored for a folder.
        layer: the layer whose units are ranked (see `Network.explainable_layers`).
        top: excerpts kept per unit (K).
        by: "peak" (maximum activation over the patch) or "mean" (mean over time).
        per_file: most excerpts of one recording per unit (so one long file cannot fill every list).
        batch_size: patches per forward pass.

    Raises:
        ZooError: unknown model or layer (listing the layers), bad `top`, `by` or `per_file`.
    """

    def __init__(self, model, weights=DEFAULT_WEIGHTS, layer="cnn3", top=5, by="peak", per_file=1,
                 batch_size=BATCH_SIZE):
        if by not in SCORES:
            raise ZooError(f"by must be one of {', '.join(SCORES)}, not {by!r}")
        top, per_file = checks.positive_integer(top, "top"), checks.positive_integer(per_file, "per_file")
        self.network = open_network(model, weights)
        (self.layer,) = self.network.check_layers([layer])
        self.units = int(self.network.keras_model.get_layer(self.layer).output.shape[-1])
        self.top, self.by, self.per_file, self.batch_size = top, by, per_file, batch_size
        self.function = score_function(self.network.function((self.layer,)), by)
        self.files, self.failed = [], []
        self._heaps = [[] for _ in range(self.units)]
        self._tag_sum = np.zeros(len(self.network.tags))
        self._patches = 0

    def scan(self, audios):
        """Streams recordings through the network and updates every unit's top list.

        Args:
            audios: paths of audio files.

        Yields:
            (audio, number of patches, or the ZooError that stopped that recording), in input order.
        """
        audios = list(audios)
        for result in pipeline.run(lambda: self.function, openers(audios), DEFAULT_HOP_SECONDS,
                                   DEFAULT_LAST_PATCH, self.batch_size):
            audio = audios[result.index]
            if result.error is not None:
                self.failed.append({"file": str(audio), "error": str(result.error)})
                yield audio, result.error
                continue
            self._add(len(self.files), *result.outputs, result.starts)
            self.files.append(str(audio))
            yield audio, len(result.starts)

    def _add(self, file, scores, probabilities, starts):
        self._tag_sum += probabilities.sum(axis=0)
        self._patches += len(scores)
        count = min(self.per_file, len(scores))
        best = np.argsort(-scores, axis=0, kind="stable")[:count]  # [count, units]
        for unit in range(self.units):
            heap = self._heaps[unit]
            for row in best[:, unit]:
                item = (float(scores[row, unit]), -file, -int(starts[row]))
                if len(heap) < self.top or item > heap[0][:3]:
                    entry = (*item, Excerpt(file, int(starts[row]), item[0], probabilities[row]))
                    (heapq.heappush if len(heap) < self.top else heapq.heapreplace)(heap, entry)

    def excerpts(self, unit):
        """The kept excerpts of `unit`, most exciting first."""
        return [entry[-1] for entry in sorted(self._heaps[unit], key=lambda e: e[:3], reverse=True)]

    def collection_probabilities(self):
        """Mean tag probabilities over every patch scanned `[tags]`."""
        return self._tag_sum / max(self._patches, 1)

    def write(self, out_dir, progress=True):
        """Writes every kept excerpt (audio and thumbnail, once each) and `units.json` into `out_dir`.

        Args:
            out_dir: output folder (gets `excerpts/`, `thumbnails/` and `units.json`).
            progress: show a progress bar over the files cut.

        Returns:
            (path of `units.json`, list of ZooErrors for files that could not be re-read).

        Raises:
            ZooError: no recording could be read.
        """
        if not self.files:
            raise ZooError("no recording could be read, so no unit has excerpts (see the errors above)")
        out_dir = Path(out_dir)
        wanted = {}
        for unit in range(self.units):
            for excerpt in self.excerpts(unit):
                wanted.setdefault(excerpt.file, set()).add(excerpt.start)
        from tqdm import tqdm

        errors, written = [], set()
        for file in tqdm(sorted(wanted), desc="cutting excerpts", unit="file", file=sys.stderr,
                         disable=not progress or len(wanted) < 2):
            try:
                written.update(_cut(self.files[file], file, wanted[file], out_dir))
            except Exception as error:  # noqa: BLE001 - that file's excerpts fail alone, named with the file
                errors.append(file_error(self.files[file], error, f"its excerpts could not be cut into {out_dir}"))
        path = out_dir / "units.json"
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.summary(written), indent=1))
        return path, errors

    def summary(self, written):
        """The JSON-ready `units.json` document (excerpts not in `written` have no audio or thumbnail)."""
        tags, collection = list(self.network.tags), self.collection_probabilities()
        units = []
        for unit in range(self.units):
            kept = self.excerpts(unit)
            records = [_record(e, self.files[e.file], tags, (e.file, e.start) in written) for e in kept]
            mean = np.mean([e.probabilities for e in kept], axis=0) if kept else np.zeros(len(tags))
            lift = mean - collection
            best = int(np.argmax(lift))
            units.append({"unit": unit, "excerpts": records, "over_represented": {
                "tag": tags[best], "excerpt_mean": round(float(mean[best]), 4),
                "collection_mean": round(float(collection[best]), 4), "difference": round(float(lift[best]), 4)}})
        return {"model": self.network.name, "weights": self.network.weights, "layer": self.layer, "by": self.by,
                "top": self.top, "per_file": self.per_file, "excerpt_seconds": PATCH_SAMPLES / SAMPLE_RATE,
                "files": self.files, "failed": self.failed, "patches": self._patches,
                "collection_tags": {t: round(float(p), 4) for t, p in zip(tags, collection)}, "units": units}


def _name(file, start):
    return f"{file:04d}_{start:07d}"


def _record(excerpt, path, tags, written):
    order = np.argsort(-excerpt.probabilities, kind="stable")[:TOP_TAGS]
    name = _name(excerpt.file, excerpt.start)
    return {"file": path, "start_seconds": round(float(frame_seconds(excerpt.start)), 3),
            "score": round(excerpt.score, 5),
            "audio": f"excerpts/{name}.ogg" if written else None,
            "thumbnail": f"thumbnails/{name}.png" if written else None,
            "top_tags": [[tags[i], round(float(excerpt.probabilities[i]), 4)] for i in order]}


def segments(source, starts, length):
    """Yields (start, samples) for each wanted start sample, streaming the recording once.

    Args:
        source: a `musiczoo_runtime.audio.AudioSource`.
        starts: start samples (16 kHz).
        length: samples per segment (a segment past the end is shorter).
    """
    pending = sorted(set(starts))
    active, position = {}, 0
    for block in source.blocks():
        end = position + len(block)
        while pending and pending[0] < end:
            active[pending.pop(0)] = []
        for start in list(active):
            lo, hi = max(start, position), min(start + length, end)
            if hi > lo:
                active[start].append(block[lo - position:hi - position])
            if start + length <= end:
                yield start, np.concatenate(active.pop(start) or [np.zeros(0, np.float32)])
        position = end
    for start in sorted(active):
        yield start, np.concatenate(active[start] or [np.zeros(0, np.float32)])


def _cut(path, file, starts, out_dir):
    """Writes the excerpts of one recording starting at frames `starts`; returns the (file, start) written."""
    written = []
    by_sample = {start * HOP_LENGTH: start for start in starts}
    for sample, audio in segments(open_audio(path), by_sample, PATCH_SAMPLES):
        if not len(audio):
            continue
        name = _name(file, by_sample[sample])
        write_audio(audio, out_dir / "excerpts" / f"{name}.ogg")
        stream = LogmelStream()
        logmel = np.concatenate([stream.push(audio), stream.finish()])
        save_thumbnail(logmel, out_dir / "thumbnails" / f"{name}.png")
        written.append((file, by_sample[sample]))
    return written


def units(audios, model, weights=DEFAULT_WEIGHTS, layer="cnn3", out_dir="units", *, top=5, by="peak", per_file=1,
          batch_size=BATCH_SIZE):
    """Each unit's favourite excerpts over a collection, written to `out_dir` (see `UnitSearch`).

    Returns:
        (path of `units.json`, list of (audio, ZooError) for the recordings that failed).

    Raises:
        ZooError: unknown model or layer, bad arguments, or no readable recording.
    """
    search = UnitSearch(model, weights, layer, top, by, per_file, batch_size)
    failed = [(audio, result) for audio, result in search.scan(audios) if isinstance(result, ZooError)]
    path, errors = search.write(out_dir, progress=False)
    return path, failed + [(None, error) for error in errors]
