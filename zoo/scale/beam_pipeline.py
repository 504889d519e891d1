"""The `musiczoo beam tag` pipeline: patterns -> patches -> RunInference -> per-file tags, embeddings, dead letters.

Outputs, next to `prefix` (`PREFIX-tags-00000-of-00002.jsonl`, or `PREFIX/tags-...` when
the prefix ends with "/"):

- `tags-*.jsonl`: one line per file in the command line's JSON schema
  (`musiczoo_runtime.writers.taggram_record`): file, model, weights, duration and the
  clip-level probability of every tag (the mean over the file's patches, as `zoo.tag`);
- `errors-*.jsonl`: the dead letters, one `{"file", "error"}` line per unreadable file;
- `embeddings-*.parquet` (with `layer`): a named layer's rows as `zoo.extract` returns
  them (patches, or frames for frame-level layers) with their start times, or with
  `per="file"` their mean, one row per file.

A run first removes the outputs of an earlier run with the same prefix, so a re-run
replaces them and never mixes with them; Beam's sinks write each shard to a temporary
location and rename it at the end. Without `--runner`, the pipeline runs offline on
this machine on the Python FnApiRunner in multi-process mode with one worker process
per core (Beam's DirectRunner would first try to download the Prism runner's binary).
"""

import json
import os

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from musiczoo_runtime import checks
from musiczoo_runtime.choices import EMBEDDINGS_PER as PER
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
)
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.results import Features, Taggram
from musiczoo_runtime.writers import taggram_record
from zoo.scale.beam_inference import ZooModelHandler
from zoo.scale.beam_io import NAMESPACE, ReadPatches, check_patterns

LOCAL_RUNNER = "FnApiRunner"
LOCAL_THREADS = 1  # TensorFlow or ONNX Runtime threads of each local worker process
OUTPUTS = {"tags": ".jsonl", "errors": ".jsonl", "embeddings": ".parquet"}
SCHEMAS = {
    "patch": pa.schema([("file", pa.string()), ("row", pa.int32()), ("time", pa.float64()),
                        ("embedding", pa.list_(pa.float32()))]),
    "file": pa.schema([("file", pa.string()), ("rows", pa.int32()), ("embedding", pa.list_(pa.float32()))]),
}


def output_prefix(prefix, name):
    """Where output `name` goes: `PREFIX-name` (or `PREFIX/name` for a prefix ending in "/")."""
    return f"{prefix}{name}" if prefix.endswith("/") else f"{prefix}-{name}"


def prepare_outputs(prefix):
    """Checks that `prefix` is writable and removes an earlier run's outputs there.

    Raises:
        ZooError: the prefix cannot be written (missing bucket, read-only folder, no permission).
    """
    probe = output_prefix(prefix, ".musiczoo-write-test")
    try:
        if FileSystems.get_scheme(prefix) in (None, "file"):
            os.makedirs(os.path.dirname(os.path.abspath(probe)), exist_ok=True)
        FileSystems.create(probe).close()
        FileSystems.delete([probe])
    except (OSError, ValueError, beam.io.filesystem.BeamIOError) as error:
        raise ZooError(f"{prefix}: cannot write the outputs there ({error}); choose an output prefix you can "
                       "write to") from None
    old = [m.path for name, suffix in OUTPUTS.items()
           for m in FileSystems.match([output_prefix(prefix, name) + "-*-of-*" + suffix])[0].metadata_list]
    if old:
        FileSystems.delete(old)


class CombineFile(beam.DoFn):
    """(file, {"outputs": [(index, outputs)], "info": [FileInfo]}) -> tags record; embeddings to `embeddings`.

    Args:
        model, weights: what produced the outputs (written into the records).
        tags: the weights' tag names.
        layer: the embedding layer (the second output), or None.
        per: "patch" (the layer's rows) or "file" (their mean).
        frame_layers: the model's frame-level layers -> input frames per step (`WeightsCard.frame_layers`).
        hop: frames between patch starts.
    """

    def __init__(self, model, weights, tags, layer, per, frame_layers, hop):
        self.model, self.weights, self.tags, self.layer, self.per = model, weights, list(tags), layer, per
        self.frame_layers, self.hop = dict(frame_layers), hop
        self.tagged = beam.metrics.Metrics.counter(NAMESPACE, "files_tagged")

    def process(self, element):
        path, grouped = element
        infos = list(grouped["info"])
        if infos:  # else the file failed while decoding and is already a dead letter
            yield from self.records(path, infos[0], sorted(grouped["outputs"], key=lambda row: row[0]))

    def records(self, path, info, rows):
        """The tags record of one file, then its embedding records (tagged `embeddings`)."""
        from zoo.inference.pipeline import Result  # TensorFlow: on the workers only, not the launcher

        if [index for index, _ in rows] != list(range(len(info.starts))):
            raise RuntimeError(f"{path}: {len(rows)} patch outputs for {len(info.starts)} patches")
        outputs = [np.stack(column) for column in zip(*(output for _, output in rows))]
        result = Result(0, source=info, outputs=outputs[:1], starts=np.asarray(info.starts), n_frames=info.n_frames)
        self.tagged.inc()
        yield taggram_record(path, Taggram.from_result(result, self.tags, self.model, self.weights))
        if not self.layer:
            return
        result.outputs = outputs[1:]
        features = Features.from_result(result, [self.layer], self.frame_layers, self.hop, self.model, self.weights)
        values = features[self.layer].reshape(len(features[self.layer]), -1).astype(np.float32)
        if self.per == "file":
            yield beam.pvalue.TaggedOutput("embeddings", {"file": path, "rows": len(values),
                                                          "embedding": values.mean(axis=0).tolist()})
            return
        for row, (time, value) in enumerate(zip(features.times[self.layer], values)):
            yield beam.pvalue.TaggedOutput("embeddings", {"file": path, "row": row, "time": float(time),
                                                          "embedding": value.tolist()})


def build(pipeline, patterns, prefix, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layer=None, per="patch",
          hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH, batch_size=BATCH_SIZE, threads=None,
          runtime="auto"):
    """Adds the tagging pipeline to `pipeline` (patterns already checked, outputs prepared).

    Args:
        pipeline: a `beam.Pipeline`.
        patterns: file patterns on any Beam filesystem.
        prefix: output prefix (see the module docstring).
        model, weights, hop_seconds, last_patch, batch_size: as in `zoo.tag_many`.
        layer: a feature layer to write as embeddings, or None.
        per: "patch" or "file" (see `CombineFile`).
        threads: TensorFlow or ONNX Runtime threads of each worker process (None: every core).
        runtime: what runs the network on the workers: "tensorflow", "onnx" or "auto".
    """
    from zoo.models.catalog import card
    from musiczoo_runtime.patching import hop_frames

    info = card(model, weights)
    read = pipeline | "Read" >> ReadPatches(patterns, hop_seconds, last_patch, threads=threads)
    handler = KeyedModelHandler(ZooModelHandler(model, weights, (layer,) if layer else (), batch_size, threads,
                                                runtime))
    outputs = (read["patches"]
               | "Infer" >> RunInference(handler)
               | "ByFile" >> beam.MapTuple(lambda key, prediction: (key[0], (key[1], prediction.inference))))
    combined = ({"outputs": outputs, "info": read["files"]}
                | "Group" >> beam.CoGroupByKey()
                | "Combine" >> beam.ParDo(CombineFile(model, weights, info.tags, layer, per, info.frame_layers,
                                                      hop_frames(hop_seconds))).with_outputs("embeddings",
                                                                                             main="tags"))
    for name, records in (("tags", combined.tags), ("errors", read["errors"])):
        _ = (records
             | f"{name.title()}Json" >> beam.Map(json.dumps)
             | f"Write{name.title()}" >> beam.io.WriteToText(output_prefix(prefix, name),
                                                             file_name_suffix=OUTPUTS[name]))
    if layer:
        _ = combined.embeddings | "WriteEmbeddings" >> beam.io.WriteToParquet(
            output_prefix(prefix, "embeddings"), SCHEMAS[per], file_name_suffix=OUTPUTS["embeddings"])


def pipeline_options(beam_args):
    """Beam options from the command line's pass-through arguments, with the offline local defaults.

    Without `--runner`: FnApiRunner, multi-process, one worker process per core (`--direct_num_workers`
    overrides), each running TensorFlow on one thread: N workers use N cores, so a worker is the unit
    the pipeline scales by, as on a cluster.

    Returns:
        (PipelineOptions, TensorFlow threads per worker process or None).

    Raises:
        ZooError: an option no Beam runner knows (Beam itself would only log and drop it).
    """
    options = PipelineOptions(list(beam_args))
    known = options.get_all_options(retain_unknown_options=False)
    unknown = sorted(set(options.get_all_options(retain_unknown_options=True)) - set(known))
    if unknown:
        raise ZooError(f"unknown option(s) {', '.join('--' + name for name in unknown)}: neither musiczoo beam tag "
                       "nor Beam knows them (see musiczoo beam tag --help and Beam's pipeline options)")
    standard, direct = options.view_as(StandardOptions), options.view_as(DirectOptions)
    if standard.runner is not None:
        return options, None
    standard.runner = LOCAL_RUNNER
    given = any(arg.split("=")[0] == "--direct_num_workers" for arg in beam_args)
    workers = (direct.direct_num_workers if given else 0) or os.cpu_count() or 1  # Beam's 0 means every core too
    direct.direct_num_workers, direct.direct_running_mode = workers, "multi_processing"
    return options, LOCAL_THREADS


def prepare_runtime(model, weights, runtime, batch_size, local):
    """The runtime the workers are given: for a local run "auto" is settled here and the ONNX graph converted
    once, before the workers start; remote workers decide "auto" on their own CPU (and convert on first use).

    Raises:
        ZooError: unknown runtime.
    """
    from zoo.inference.runtimes import onnx_path, resolve

    if runtime == "auto" and not local:
        return runtime
    chosen = resolve(model, weights, runtime, "float32", batch_size)
    if chosen == "onnx" and local:
        onnx_path(model, weights)
    return chosen if local else runtime


def run(patterns, prefix, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layer=None, per="patch",
        hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH, batch_size=BATCH_SIZE, beam_args=(),
        runtime="auto"):
    """Runs the tagging pipeline to the end.

    Args:
        patterns, prefix, model, weights, layer, per, hop_seconds, last_patch, batch_size, runtime: as in `build`.
        beam_args: Beam pipeline options (`--runner=...`, `--direct_num_workers=2`, `--temp_location=...`).

    Returns:
        dict of the run's counters: files_decoded, files_failed, files_tagged, patches, audio_seconds.

    Raises:
        ZooError: unknown model, weights, layer, runtime or Beam option, a pattern matching nothing, an
            unwritable prefix (all before anything is deleted or run).
    """
    from zoo.models.catalog import card

    info = card(model, weights)
    if layer is not None and layer not in info.feature_layers:
        raise ZooError(f"{model} has no feature layer {layer!r}; choose from {', '.join(info.feature_layers)}")
    if per not in PER:
        raise ZooError(f"embeddings are written per patch or per file, not {per!r}")
    checks.positive_integer(batch_size, "batch_size")
    options, threads = pipeline_options(beam_args)
    runtime = prepare_runtime(model, weights, runtime, batch_size, local=threads is not None)  # set for local runs
    patterns = check_patterns(patterns)
    prepare_outputs(prefix)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, patterns, prefix, model, weights, layer, per, hop_seconds, last_patch, batch_size, threads,
          runtime)
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    totals = {name: 0 for name in ("files_decoded", "files_failed", "files_tagged", "patches", "audio_seconds")}
    for counter in counters:
        if counter.key.metric.name in totals:
            totals[counter.key.metric.name] += counter.committed or 0
    return totals
