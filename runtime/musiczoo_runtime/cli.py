"""The `musiczoo-runtime` command (also `python -m musiczoo_runtime`): `list`, `tag` and `extract` (alias
`features`) as in `musiczoo`, on the shipped ONNX graphs, without TensorFlow.

Options, output formats and exit statuses are the full command's: 0 when every input succeeded, 1 when some
failed (each on its own `error:` line, and as a JSON error record or an empty CSV row), 2 for a usage error.
What needs TensorFlow is not here: `--plot` (matplotlib), `--precision` and `--runtime`, weight files.
"""

import argparse

from musiczoo_runtime import __version__
from musiczoo_runtime.cli_arguments import add_extract_parser, add_tag_parser, count
from musiczoo_runtime.cli_common import OK, each_result, find_inputs, per_file_outputs
from musiczoo_runtime.command import run_command
from musiczoo_runtime.printing import TaggramPrinter, print_catalog, print_taggrams


def cmd_list(args):
    from fnmatch import fnmatchcase

    from musiczoo_runtime.graphs import index

    rows = []
    for name, entry in index().items():
        weights = entry["weights"]
        if fnmatchcase(name, args.pattern) and (args.pretrained in (None, "any") or args.pretrained in weights):
            rows.append((name, f"{entry['params']:,}", ", ".join(weights),
                         ", ".join(str(len(w["tags"])) for w in weights.values()), entry["description"]))
    print_catalog(rows)
    return OK


def cmd_tag(args):
    from musiczoo_runtime.inference import tag_many

    inputs = find_inputs(args.files)
    printer = TaggramPrinter(args.format, args.top)
    files = [path for path, _ in inputs]
    results = tag_many(files, model=args.model, weights=args.weights, hop_seconds=args.hop,
                       last_patch=args.last_patch, batch_size=args.batch_size, threads=args.threads)
    return print_taggrams(results, files, printer, "tagging")


def cmd_extract(args):
    from musiczoo_runtime.inference import extract_many
    from musiczoo_runtime.writers import save_features

    files, targets = per_file_outputs(args.files, args.out, ".npz")

    def write(path, features):
        save_features(features, targets[path])

    results = extract_many(files, model=args.model, weights=args.weights, layers=args.layer or None,
                           hop_seconds=args.hop, last_patch=args.last_patch, batch_size=args.batch_size,
                           threads=args.threads)
    return each_result(results, files, "extracting", write,
                       lambda path: f"its features could not be written to {targets[path]}")


def add_threads_argument(parser):
    parser.add_argument("--threads", type=count("--threads"), default=None, metavar="N",
                        help="ONNX Runtime's threads (default: every core)")


def parser():
    """The argument parser of `musiczoo-runtime`."""
    main = argparse.ArgumentParser(prog="musiczoo-runtime", description="Tag and embed music audio with the "
                                   "musiczoo models on ONNX Runtime, without TensorFlow.")
    main.add_argument("--version", action="version", version=f"musiczoo-runtime {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="print the models and weights this runtime ships")
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style name pattern (default: *)")
    listing.add_argument("--pretrained", metavar="TAG", help="only models with these weights: mtt, msd or any")
    listing.set_defaults(run=cmd_list)

    tag = add_tag_parser(commands, "musiczoo_runtime")
    add_threads_argument(tag)
    tag.set_defaults(run=cmd_tag)

    extract = add_extract_parser(commands, "musiczoo_runtime", random=False)  # graphs exist for trained weights only
    add_threads_argument(extract)
    extract.set_defaults(run=cmd_extract)
    return main


def main(argv=None):
    """Entry point of the `musiczoo-runtime` console script; returns the exit status."""
    return run_command(parser(), argv)
