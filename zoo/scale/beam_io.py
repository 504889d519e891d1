"""Reading audio on Apache Beam: file patterns on any Beam filesystem -> log-mel patches keyed by (file, index).

`ReadPatches` matches the patterns (`fileio.MatchAll`), spreads the files over the
workers (grouping by path, which also reads a file matched by two patterns once), opens
them (`fileio.ReadMatches`) and decodes each with the zoo's own decoder
(`musiczoo_runtime.audio.open_file`), streaming it through the same front end and patch
rules as `zoo.tag` (`zoo.signal.streaming.stream_patches`).
Local files are decoded in place; a file on another filesystem (`gs://`, `s3://`,
...) is first copied through Beam's `FileSystems` into a local temporary file, the
one form every decoder of the zoo opens. The patches are log-mel `[187, 96]`, not
waveform: cut from one continuous front-end pass they are exactly the patches
`zoo.tag` sees, and they are 2.7x smaller than 3 s of waveform.

Outputs (a dict): `patches` ((file, index), patch), `files` (file, `FileInfo`) for
each file decoded to its end, and `errors` (`{"file", "error"}` records) for each
file that could not be read, broken links and link loops included (Beam's matching
skips those; `DeadLinks` names them); a file that fails part-way has patches but no
`FileInfo`, so the combining step drops them.
"""

import contextlib
import glob
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from musiczoo_runtime.contract import DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.writers import error_record
from musiczoo_runtime import patching
from musiczoo_runtime.audio import BLOCK_SECONDS, missing_reason, open_file

LOG = logging.getLogger("zoo.scale")
NAMESPACE = "musiczoo"
COPY_BYTES = 1 << 20


@dataclass(frozen=True)
class FileInfo:
    """What the combining step needs of a decoded file.

    Attributes:
        duration: seconds, as the file declares.
        n_frames: log-mel frames of the recording.
        starts: start frame of each patch, by patch index.
    """

    duration: float
    n_frames: int
    starts: tuple


def limit_threads(threads):
    """Caps TensorFlow's thread pools in this process (None: TensorFlow's default, every core).

    Called by each worker before its first TensorFlow op, so that N worker processes
    on one machine share its cores instead of each spawning one thread per core.
    """
    if threads:
        import tensorflow as tf

        with contextlib.suppress(RuntimeError):  # already initialised in this process: keep its pools
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)


def is_local(path):
    """True for a path on the local filesystem (no scheme, or file://)."""
    return FileSystems.get_scheme(path) in (None, "file")


@contextlib.contextmanager
def local_copy(readable):
    """A local path holding a matched file's bytes: the file itself if local, else a temporary copy.

    Args:
        readable: a `fileio.ReadableFile`.

    Yields:
        a local path (a temporary copy keeps the file's suffix, for decoders that go by it).
    """
    path = readable.metadata.path
    if is_local(path):
        yield path[len("file://"):] if path.startswith("file://") else path
        return
    handle, local = tempfile.mkstemp(prefix="musiczoo-", suffix=PurePosixPath(path).suffix)
    try:
        with os.fdopen(handle, "wb") as out, readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as src:
            shutil.copyfileobj(src, out, COPY_BYTES)
        yield local
    finally:
        os.unlink(local)


class DecodePatches(beam.DoFn):
    """ReadableFile -> patches ((file, index), `[187, 96]` float32), then (file, FileInfo); errors to `errors`.

    Args:
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" or "drop".
        chunk_seconds: audio decoded at a time (bounds memory; the patches do not depend on it).
        threads: TensorFlow threads of each worker process (None: every core).
    """

    def __init__(self, hop_seconds, last_patch, chunk_seconds=BLOCK_SECONDS, threads=None):
        self.hop_seconds, self.last_patch, self.chunk_seconds, self.threads = (hop_seconds, last_patch, chunk_seconds,
                                                                               threads)
        self.decoded = Metrics.counter(NAMESPACE, "files_decoded")
        self.failed = Metrics.counter(NAMESPACE, "files_failed")
        self.patches = Metrics.counter(NAMESPACE, "patches")
        self.seconds = Metrics.counter(NAMESPACE, "audio_seconds")

    def setup(self):
        limit_threads(self.threads)

    def process(self, readable):
        from zoo.signal.streaming import stream_patches  # TensorFlow: on the workers only, not the launcher

        path, local, starts = readable.metadata.path, None, []
        try:
            with local_copy(readable) as local:
                source, counter = open_file(local), {}
                for index, (start, patch) in enumerate(stream_patches(source, self.hop_seconds, self.last_patch,
                                                                      self.chunk_seconds, counter)):
                    starts.append(int(start))
                    yield (path, index), patch
        except (ZooError, OSError) as error:
            text = str(error).replace(local, path) if local else str(error)
            message = text if path in text else f"{path}: {text}"
            LOG.warning("dead-lettered %s", message)
            self.failed.inc()
            yield beam.pvalue.TaggedOutput("errors", error_record(path, message))
        else:
            self.decoded.inc()
            self.patches.inc(len(starts))
            self.seconds.inc(round(source.duration))
            LOG.info("decoded %s: %.1f s, %d patches", path, source.duration, len(starts))
            yield beam.pvalue.TaggedOutput("files", (path, FileInfo(float(source.duration), int(counter["frames"]),
                                                                    tuple(starts))))


def dangling_links(pattern):
    """The local links a pattern names that lead nowhere (broken links, link loops), which Beam's own
    matching skips without a word; [] for patterns on other filesystems."""
    if not is_local(pattern):
        return []
    local = pattern[len("file://"):] if pattern.startswith("file://") else pattern
    return sorted(path for path in glob.glob(local, recursive=True)
                  if os.path.islink(path) and not os.path.exists(path))


class DeadLinks(beam.DoFn):
    """Pattern -> a dead letter naming each of its `dangling_links`, so none is dropped silently."""

    def __init__(self):
        self.failed = Metrics.counter(NAMESPACE, "files_failed")

    def process(self, pattern):
        for path in dangling_links(pattern):
            message = f"{path}: {missing_reason(path)}"
            LOG.warning("dead-lettered %s", message)
            self.failed.inc()
            yield error_record(path, message)


def expand_pattern(pattern):
    """A local folder becomes every file under it (`folder/**`); any other pattern is kept."""
    if is_local(pattern) and os.path.isdir(pattern):
        return os.path.join(pattern, "**")
    return pattern


def check_patterns(patterns):
    """Matches every pattern once, before the pipeline starts, so a bad one is a usage error.

    Returns:
        the patterns to read (local folders expanded).

    Raises:
        ZooError: a pattern matching no file, or on a filesystem Beam cannot reach here.
    """
    expanded = [expand_pattern(pattern) for pattern in patterns]
    for pattern in expanded:
        try:
            (result,) = FileSystems.match([pattern])
        except (ValueError, beam.io.filesystem.BeamIOError) as error:
            raise ZooError(f"{pattern}: cannot list files there ({error}); for gs:// or s3:// install "
                           "apache-beam[gcp] or apache-beam[aws] next to musiczoo[beam]") from None
        if not any(not is_local(m.path) or os.path.isfile(m.path) for m in result.metadata_list) \
                and not dangling_links(pattern):
            raise ZooError(f"{pattern}: matches no file (check the path; quote wildcards so the shell "
                           "leaves them to Beam)")
    return expanded


class ReadPatches(beam.PTransform):
    """File patterns -> tagged `patches`, `files` and `errors` (see the module docstring).

    Args:
        patterns: file patterns on any Beam filesystem (`/data/**.mp3`, `gs://bucket/music/*.flac`).
        hop_seconds, last_patch, chunk_seconds, threads: as in `DecodePatches`.
    """

    def __init__(self, patterns, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH,
                 chunk_seconds=BLOCK_SECONDS, threads=None):
        super().__init__()
        patching.hop_frames(hop_seconds)
        patching.check_last_patch(last_patch)
        self.patterns = list(patterns)
        self.decode = DecodePatches(hop_seconds, last_patch, chunk_seconds, threads)

    def expand(self, pbegin):
        patterns = pbegin | "Patterns" >> beam.Create(self.patterns)
        read = (patterns
                | "Match" >> fileio.MatchAll()
                | "ByPath" >> beam.Map(lambda metadata: (metadata.path, metadata))
                | "Spread" >> beam.GroupByKey()  # spreads the files over the workers, each file once
                | "Once" >> beam.MapTuple(lambda path, matches: next(iter(matches)))
                | "Open" >> fileio.ReadMatches()
                | "Decode" >> beam.ParDo(self.decode).with_outputs("files", "errors", main="patches"))
        links = patterns | "DeadLinks" >> beam.ParDo(DeadLinks())
        return {"patches": read.patches, "files": read.files,
                "errors": (read.errors, links) | "Errors" >> beam.Flatten()}
