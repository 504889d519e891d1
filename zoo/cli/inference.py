"""`musiczoo tag`, `extract` (alias `features`) and `predict`: recordings in, tags or features out."""

import csv
import json
import sys

from zoo import checks
from zoo.cli.common import (
    add_audio_arguments,
    add_patch_arguments,
    add_runtime_argument,
    checked,
    each_result,
    find_inputs,
    output_folder,
    output_paths,
    per_file_outputs,
)
from zoo.cli.startup import import_tensorflow
from zoo.contract import BATCH_SIZE
from zoo.errors import ZooError, file_error


class TaggramPrinter:
    """Prints one taggram per file to stdout as text, JSON lines or CSV; optionally writes its image.

    A failed file gets a JSON error record, or a CSV row with its path and empty tag cells (the
    reason is on its `error:` line); CSV rows stay in input order. Call `finish()` at the end.

    Args:
        output_format: "text", "json" or "csv".
        top: tags per file in text format.
        plots: input path -> PNG path (from `output_paths`), or None for no images.
        plot_tags: tag rows per image (an int, or "all").
    """

    def __init__(self, output_format, top, plots=None, plot_tags=10):
        self.format, self.top, self.plots, self.plot_tags = output_format, top, plots, plot_tags
        self.writer = csv.writer(sys.stdout) if output_format == "csv" else None
        self.header = None  # the CSV header, once the first taggram gives the tags
        self.failed_rows = []  # CSV rows of failed files waiting for the header

    def __call__(self, path, taggram):
        self.print(path, taggram)
        if self.plots:
            from zoo.inference.plots import plot_taggram, recording_logmel  # matplotlib loads only for images

            try:
                plot_taggram(taggram, self.plots[path], recording_logmel(path), title=str(path),
                             n_tags=self.plot_tags)
            except Exception as error:  # noqa: BLE001 - the tags are out; the image alone failed
                return file_error(path, error, f"its tags are printed, but its taggram image could not be "
                                               f"written to {self.plots[path]} (--plot needs a folder you can "
                                               "write to)")
        return None

    def print(self, path, taggram):
        from zoo.inference.writers import taggram_record

        if self.format == "json":
            print(json.dumps(taggram_record(path, taggram)), flush=True)
        elif self.format == "csv":
            if self.header is None:
                self.header = ["file", *taggram.tags]
                self.writer.writerow(self.header)
                self._write_failed()
            self.writer.writerow([str(path), *(f"{p:.6f}" for p in taggram.clip_probabilities)])
            sys.stdout.flush()
        else:
            tags = ", ".join(f"{name} {p:.2f}" for name, p in taggram.top(self.top))
            print(f"{path}\t{tags}", flush=True)

    def error(self, path, message):
        """Records a failed file: a JSON error record, or a CSV row with empty tag cells."""
        from zoo.inference.writers import error_record

        if self.format == "json":
            print(json.dumps(error_record(path, message)), flush=True)
        elif self.format == "csv":
            self.failed_rows.append(str(path))
            if self.header is not None:
                self._write_failed()

    def _write_failed(self):
        for path in self.failed_rows:
            self.writer.writerow([path, *[""] * (len(self.header) - 1)])
        self.failed_rows.clear()
        sys.stdout.flush()

    def finish(self):
        """Writes what is still waiting: when every file failed, a `file` header and their rows."""
        if self.format == "csv" and self.failed_rows:
            if self.header is None:
                self.header = ["file"]
                self.writer.writerow(self.header)
            self._write_failed()


def _print_taggrams(results, files, printer, description):
    """The shared loop for `tag` and `predict`, with error records (JSON) or rows (CSV) for failed files."""
    def reported(results):
        for path, result in results:
            if isinstance(result, ZooError):
                printer.error(path, str(file_error(path, result)))
            yield path, result

    status = each_result(reported(results), files, description, printer)
    printer.finish()
    return status


def _printer(args, inputs):
    """The TaggramPrinter of `tag` / `predict`, with the --plot folder and image names checked before any work."""
    plots = output_paths(inputs, output_folder(args.plot, "--plot"), ".png") if args.plot else None
    return TaggramPrinter(args.format, args.top, plots, args.plot_tags)


def cmd_tag(args):
    import_tensorflow()
    from zoo.inference.api import tag_many

    inputs = find_inputs(args.files)
    printer = _printer(args, inputs)
    files = [path for path, _ in inputs]
    results = tag_many(files, model=args.model, weights=args.weights, hop_seconds=args.hop,
                       last_patch=args.last_patch, batch_size=args.batch_size, precision=args.precision,
                       runtime=args.runtime)
    return _print_taggrams(results, files, printer, "tagging")


def cmd_predict(args):
    from zoo.training.predict import predict_many

    inputs = find_inputs(args.files)
    printer = _printer(args, inputs)
    files = [path for path, _ in inputs]
    results = predict_many(args.model_dir, files, hop_seconds=args.hop, last_patch=args.last_patch,
                           batch_size=args.batch_size)
    return _print_taggrams(results, files, printer, "predicting")


def cmd_extract(args):
    import_tensorflow()
    from zoo.inference.api import extract_many
    from zoo.inference.writers import save_features

    files, targets = per_file_outputs(args.files, args.out, ".npz")

    def write(path, features):
        save_features(features, targets[path])

    results = extract_many(files, model=args.model, weights=args.weights, layers=args.layer or None,
                           hop_seconds=args.hop, last_patch=args.last_patch, batch_size=args.batch_size,
                           precision=args.precision, runtime=args.runtime)
    return each_result(results, files, "extracting", write,
                       lambda path: f"its features could not be written to {targets[path]}")


def _add_output_arguments(parser):
    parser.add_argument("--top", type=checked(lambda n: checks.positive_integer(n, "--top"), int), default=5,
                        help="tags shown per file in text format (default: 5)")
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text")
    parser.add_argument("--plot", metavar="DIR", help="write a taggram image per file into DIR (named like "
                                                      "extract's .npz files): the log-mel spectrogram above "
                                                      "the top tags over time")
    parser.add_argument("--plot-tags", default=10,
                        type=checked(lambda n: n == "all" or checks.positive_integer(n, "--plot-tags"),
                                     lambda text: text if text == "all" else int(text)), metavar="N|all",
                        help="tags drawn in each --plot image, most probable first (default: 10)")


def _add_network_options(parser):
    """--precision and --runtime: how the network computes."""
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="arithmetic of the network (default float32; bfloat16 is meant for CPUs with "
                             "AMX and is slower without it)")
    add_runtime_argument(parser)


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
    extract.add_argument("--out", required=True, metavar="DIR", help="folder for one .npz per file, mirroring the "
                                                                     "layout of the folders given")
    _add_network_options(extract)
    extract.set_defaults(run=cmd_extract)

    predict = commands.add_parser("predict", help="classify audio files with a model written by `musiczoo finetune`")
    predict.add_argument("model_dir", metavar="MODEL_DIR", help="the folder `musiczoo finetune` wrote")
    predict.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    add_patch_arguments(predict, BATCH_SIZE)
    _add_output_arguments(predict)
    predict.set_defaults(run=cmd_predict)
