"""`musiczoo tag`, `extract` (alias `features`) and `predict`: recordings in, tags or features out."""

from musiczoo_runtime import checks
from musiczoo_runtime.cli_arguments import (
    add_extract_parser,
    add_folder_argument,
    add_output_arguments,
    add_patch_arguments,
    add_precision_argument,
    add_runtime_argument,
    add_tag_parser,
    checked,
)
from musiczoo_runtime.cli_common import each_result, find_inputs, output_folder, output_paths, per_file_outputs
from musiczoo_runtime.contract import BATCH_SIZE
from musiczoo_runtime.errors import file_error
from musiczoo_runtime.printing import TaggramPrinter, print_taggrams


def _printer(args, inputs):
    """The TaggramPrinter of `tag` / `predict`, with the --plot folder and image names checked before any work."""
    if not args.plot:
        return TaggramPrinter(args.format, args.top)
    plots = output_paths(inputs, output_folder(args.plot, "--plot"), ".png")

    def plot(path, taggram):
        from zoo.inference.plots import plot_taggram, recording_logmel  # matplotlib loads only for images

        try:
            plot_taggram(taggram, plots[path], recording_logmel(path), title=str(path), n_tags=args.plot_tags)
        except Exception as error:  # noqa: BLE001 - the tags are out; the image alone failed
            return file_error(path, error, f"its tags are printed, but its taggram image could not be "
                                           f"written to {plots[path]} (--plot needs a folder you can write to)")
        return None

    return TaggramPrinter(args.format, args.top, plot)


def cmd_tag(args):
    from zoo.inference.api import tag_many

    inputs = find_inputs(args.files)
    printer = _printer(args, inputs)

    files = [path for path, _ in inputs]
    results = tag_many(files, model=args.model, weights=args.weights, hop_seconds=args.hop,
                       last_patch=args.last_patch, batch_size=args.batch_size, precision=args.precision,
                       runtime=args.runtime)
    return print_taggrams(results, files, printer, "tagging")


def cmd_predict(args):
    from zoo.training.predict import predict_many

    inputs = find_inputs(args.files)
    printer = _printer(args, inputs)
    files = [path for path, _ in inputs]
    results = predict_many(args.model_dir, files, hop_seconds=args.hop, last_patch=args.last_patch,
                           batch_size=args.batch_size)
    return print_taggrams(results, files, printer, "predicting")


def cmd_extract(args):
    from musiczoo_runtime.writers import save_features
    from zoo.inference.api import extract_many

    files, targets = per_file_outputs(args.files, args.out, ".npz")

    def write(path, features):
        save_features(features, targets[path])

    results = extract_many(files, model=args.model, weights=args.weights, layers=args.layer or None,
                           hop_seconds=args.hop, last_patch=args.last_patch, batch_size=args.batch_size,
                           precision=args.precision, runtime=args.runtime)
    return each_result(results, files, "extracting", write,
                       lambda path: f"its features could not be written to {targets[path]}")


def _add_plot_arguments(parser):
    """--plot and --plot-tags: a taggram image per file."""
    add_folder_argument(parser, "write a taggram image per file into DIR (named like extract's .npz files): the "
                                "log-mel spectrogram above the top tags over time", "--plot", required=False)
    parser.add_argument("--plot-tags", default=10,
                        type=checked(lambda n: n == "all" or checks.positive_integer(n, "--plot-tags"),
                                     lambda text: text if text == "all" else int(text)), metavar="N|all",
                        help="tags drawn in each --plot image, most probable first (default: 10)")


def _add_network_options(parser):
    """--precision and --runtime: how the network computes."""
    add_precision_argument(parser)
    add_runtime_argument(parser)


def add_commands(commands):
    """Adds `tag`, `extract` (alias `features`) and `predict` to the sub-command parsers."""
    tag = add_tag_parser(commands, "zoo")
    _add_plot_arguments(tag)
    _add_network_options(tag)
    tag.set_defaults(run=cmd_tag)

    extract = add_extract_parser(commands, "zoo", random=True)
    _add_network_options(extract)
    extract.set_defaults(run=cmd_extract)

    predict = commands.add_parser("predict", help="classify audio files with a model written by `musiczoo finetune`")
    predict.add_argument("model_dir", metavar="MODEL_DIR", help="the folder `musiczoo finetune` wrote")
    predict.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    add_patch_arguments(predict, BATCH_SIZE)
    add_output_arguments(predict)
    _add_plot_arguments(predict)
    predict.set_defaults(run=cmd_predict)
