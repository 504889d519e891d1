"""`musiczoo beam tag`: tag (and embed) a collection on Apache Beam; Beam's own options pass through."""

import argparse
import sys

from musiczoo_runtime.choices import EMBEDDINGS_PER
from musiczoo_runtime.cli_arguments import add_model_arguments, add_patch_arguments, add_runtime_argument
from musiczoo_runtime.cli_common import OK
from musiczoo_runtime.contract import BATCH_SIZE
from musiczoo_runtime.errors import ZooError

BEAM_OPTIONS = ("Any other option is a Beam pipeline option and goes to Beam as given (write --name=value, or "
                "put it after the patterns): --runner=DataflowRunner, --direct_num_workers=2, --project=..., "
                "--temp_location=gs://.... Without --runner the pipeline runs on this machine, offline, with one "
                "worker process per core (FnApiRunner, multi_processing).")


class _PassThrough(argparse.ArgumentParser):
    """A sub-command parser that keeps the arguments it does not know as `beam_args` instead of failing."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, unknown = super().parse_known_args(args, namespace)
        namespace.beam_args = unknown
        return namespace, []


def cmd_beam_tag(args):
    try:
        from zoo.scale.beam_pipeline import output_prefix, run
    except ModuleNotFoundError as error:
        if error.name not in ("apache_beam", "pyarrow"):
            raise
        raise ZooError("musiczoo beam needs Apache Beam: pip install 'musiczoo[beam]'") from None

    totals = run(args.patterns, args.out, model=args.model, weights=args.weights, layer=args.embeddings,
                 per=args.embeddings_per, hop_seconds=args.hop, last_patch=args.last_patch,
                 batch_size=args.batch_size, beam_args=args.beam_args, runtime=args.runtime)
    print(f"tagged {totals['files_tagged']} files ({totals['audio_seconds']} s of audio, {totals['patches']} "
          f"patches) into {output_prefix(args.out, 'tags')}-*.jsonl; {totals['files_failed']} unreadable, listed "
          f"in {output_prefix(args.out, 'errors')}-*.jsonl", file=sys.stderr)
    return OK


def add_commands(commands):
    """Adds the `beam` command group (`beam tag`) to the sub-command parsers."""
    beam = commands.add_parser("beam", help="run the zoo on Apache Beam (needs musiczoo[beam])",
                               description="Run the zoo on Apache Beam: locally on every core, or on Dataflow, "
                                           "Flink or Spark (see deploy/beam/README.md).")
    group = beam.add_subparsers(dest="beam_command", required=True, metavar="COMMAND", parser_class=_PassThrough)
    parser = group.add_parser("tag", help="tag files matching patterns; tags as JSON lines, embeddings as Parquet",
                              epilog=BEAM_OPTIONS)
    parser.add_argument("patterns", nargs="+", metavar="PATTERN",
                        help="file patterns on any Beam filesystem (quote wildcards): /data/**.mp3, "
                             "gs://bucket/music/*.flac, or a local folder")
    parser.add_argument("--out", required=True, metavar="PREFIX",
                        help="output prefix: PREFIX-tags-*.jsonl, PREFIX-errors-*.jsonl, PREFIX-embeddings-*.parquet "
                             "(an earlier run's outputs there are replaced)")
    add_model_arguments(parser, random=False)  # it writes tags
    parser.add_argument("--embeddings", metavar="LAYER", help="also write this feature layer as Parquet")
    parser.add_argument("--embeddings-per", choices=EMBEDDINGS_PER, default="patch",
                        help="one row per patch (per frame for frame-level layers) or their mean per file "
                             "(default: patch)")
    add_runtime_argument(parser, "the workers' CPU")
    add_patch_arguments(parser, default_batch_size=BATCH_SIZE)
    parser.set_defaults(run=cmd_beam_tag)
