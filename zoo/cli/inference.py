"""`musiczoo tag`, `extract` (alias `features`) and `predict`: recordings in, tags or features out."""

import csv
import json
import sys
from pathlib import Path

from zoo.cli.common import add_audio_arguments, add_patch_arguments, audio_files, each_result, error_message
from zoo.cli.startup import import_tensorflow
from zoo.contract import BATCH_SIZE
from zoo.errors import ZooError


class TaggramPrinter:
    """Prints one taggram per file to stdout as text, JSON lines or CSV; optionally writes its image.

    Args:
        output_format: "text", "json" or "csv".
        top: tags per file in text format.
        plot_dir: folder for one taggram PNG per file, or None.
    """

    def __init__(self, output_format, top, plot_dir=None):
        self.format, self.top, self.plot_dir = output_format, top, plot_dir
        self.writer = csv.writer(sys.stdout) if output_format == "csv" else None
        self.header_written = False

    def __call__(self, path, taggram):
        self.print(path, taggram)
        if self.plot_dir:
            from zoo.inference.plots import plot_taggram  # matplotlib loads only when images are asked for

            try:
                plot_taggram(taggram, Path(self.plot_dir) / f"{path.stem}.png", title=str(path))
            except OSError as error:
                return ZooError(f"{path}: its tags are printed, but its taggram image could not be written "
                                f"({error}); --plot needs a folder you can write to")
        return None

    def print(self, path, taggram):
        from zoo.inference.writers import taggram_record

        if self.format == "json":
            print(json.dumps(taggram_record(path, taggram)), flush=True)
        elif self.format == "csv":
            if not self.header_written:
                self.writer.writerow(["file", *taggram.tags])
                self.header_written = True
            self.writer.writerow([str(path), *(f"{p:.6f}" for p in taggram.clip_probabilities)])
            sys.stdout.flush()
        else:
            tags = ", ".join(f"{name} {p:.2f}" for name, p in taggram.top(self.top))
            print(f"{path}\t{tags}", flush=True)

    def error(self, path, message):
        """Prints the JSON error record of a failed file (text and CSV report errors on stderr only)."""
        from zoo.inference.writers import error_record

        if self.format == "json":
            print(json.dumps(error_record(path, message)), flush=True)


def _print_taggrams(results, files, printer, description):
    """The shared loop for `tag` and `predict`, with JSON error records for failed files."""
    def reported(results):
        for path, result in results:
            if isinstance(result, ZooError):
                printer.error(path, error_message(path, result))
            yield path, result

    return each_result(reported(results), files, description, printer)


def cmd_tag(args):
    import_tensorflow()
    from zoo.inference.api import tag_many

    files = audio_files(args.files)
    results = tag_many(files, model=args.model, weights=args.weights, hop_seconds=args.hop,
                       last_patch=args.last_patch, batch_size=args.batch_size, precision=args.precision,
                       runtime=args.runtime)
    return _print_taggrams(results, files, TaggramPrinter(args.format, args.top, args.plot), "tagging")


def cmd_predict(args):
    from zoo.training.predict import predict_many

    files = audio_files(args.files)
    results = predict_many(args.model_dir, files, hop_seconds=args.hop, last_patch=args.last_patch,
                           batch_size=args.batch_size)
    return _print_taggrams(results, files, TaggramPrinter(args.format, args.top, args.plot), "predicting")


def cmd_extract(args):
    import_tensorflow()
    from zoo.inference.api import extract_many
    from zoo.inference.writers import save_features

    files = audio_files(args.files)

    def write(path, features):
        try:
            save_features(features, Path(args.out) / f"{path.stem}.npz")
        except OSError as error:
            return ZooError(f"{path}: its features could not be written to {args.out} ({error})")
        return None

    results = extract_many(files, model=args.model, weights=args.weights, layers=args.layer or None,
                           hop_seconds=args.hop, last_patch=args.last_patch, batch_size=args.batch_size,
                           precision=args.precision, runtime=args.runtime)
    return each_result(results, files, "extracting", write)


def _add_output_arguments(parser):
    parser.add_argument("--top", type=int, default=5, help="tags shown per file in text format (default: 5)")
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text")
    parser.add_argument("--plot", metavar="DIR", help="write a taggram image per file into DIR")


def _add_network_options(parser):
    """--precision and --runtime: how the network computes."""
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="arithmetic of the network (default float32; bfloat16 is meant for CPUs with "
                             "AMX and is slower without it)")
    parser.add_argument("--runtime", choices=("auto", "tensorflow", "onnx"), default="auto",
                        help="what runs the network: auto (default: the faster for this model and batch size on "
                             "this CPU, as measured), tensorflow, or onnx (ONNX Runtime)")


def add_commands(commands):
    """Adds `tag`, `extract` (alias `features`) and `predict` to the sub-command parsers."""
    tag = commands.add_parser("tag", help="tag audio files (zoo.tag_many)")
    add_audio_arguments(tag, BATCH_SIZE)
    _add_output_arguments(tag)
    _add_network_options(tag)
    tag.set_defaults(run=cmd_tag)

    extract = commands.add_parser("extract", aliases=["features"], help="extract named intermediate features "
                                                                        "(zoo.extract_many), one .npz per file")
    add_audio_arguments(extract, BATCH_SIZE)
    extract.add_argument("--layer", action="append", metavar="NAME", help="feature layer (repeatable; default: "
                                                                           "every feature layer of the card)")
    extract.add_argument("--out", required=True, metavar="DIR", help="folder for one .npz per file")
    _add_network_options(extract)
    extract.set_defaults(run=cmd_extract)

    predict = commands.add_parser("predict", help="classify audio files with a model written by `musiczoo finetune`")
    predict.add_argument("model_dir", metavar="MODEL_DIR", help="the folder `musiczoo finetune` wrote")
    predict.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    add_patch_arguments(predict, BATCH_SIZE)
    _add_output_arguments(predict)
    predict.set_defaults(run=cmd_predict)
