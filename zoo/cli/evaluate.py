"""`musiczoo evaluate`: frozen-embedding probes of a catalog model on labelled clips, with k-fold intervals."""

import sys

from musiczoo_runtime.choices import DATASET_LAYOUTS
from musiczoo_runtime.cli_arguments import (
    add_folder_argument, add_model_arguments, add_quiet_argument, add_runtime_argument, count)
from musiczoo_runtime.cli_common import OK, SOME_FAILED, output_folder, report_error


def cmd_evaluate(args):
    from zoo.training.evaluate import evaluate

    out = output_folder(args.out, "--out")
    results = evaluate(args.data, model=args.model, weights=args.weights, out_dir=out, layers=args.layer,
                       layout=args.layout, n_folds=args.folds, seed=args.seed, batch_size=args.batch_size,
                       runtime=args.runtime, progress=not args.quiet)
    for item in results["task"]["skipped"]:
        report_error(item["error"])
    for name, score in results["scores"].items():
        accuracy, macro = score["accuracy"], score["macro_f1"]
        print(f"{name}: accuracy {accuracy['mean']:.3f} [{accuracy['low']:.3f}, {accuracy['high']:.3f}], "
              f"macro-F1 {macro['mean']:.3f} [{macro['low']:.3f}, {macro['high']:.3f}]", file=sys.stderr)
    print(out / "results.json")
    return SOME_FAILED if results["task"]["skipped"] else OK


def add_commands(commands):
    """Adds `evaluate` to the sub-command parsers."""
    parser = commands.add_parser("evaluate", help="score a model's frozen embeddings on labelled clips "
                                                  "(linear and MLP probes, k-fold intervals)")
    parser.add_argument("data", metavar="DATA", help="dataset folder (GTZAN, Ballroom, IRMAS or one folder per "
                                                     "class), CSV of path,label, or CSV with a header "
                                                     "path,label,group (or artist): no group spans folds")
    add_model_arguments(parser)  # --weights none: the random-initialisation floor
    add_folder_argument(parser, "folder for results.json, confusion.png and summary.md")
    parser.add_argument("--layer", action="append", metavar="NAME",
                        help="feature layer to probe (repeatable; default: the model's transfer layers, "
                             "zoo.training.evaluate.TRANSFER_LAYERS)")
    parser.add_argument("--layout", default="auto", choices=("auto", *DATASET_LAYOUTS),
                        help="dataset layout (default: detected)")
    parser.add_argument("--folds", type=count("--folds"), default=5, help="cross-validation folds (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="fold shuffling and MLP initialisation (default: 0)")
    parser.add_argument("--batch-size", type=count("--batch-size"), default=8,
                        help="3 s patches per forward pass, shared across files (default: 8)")
    add_runtime_argument(parser)
    add_quiet_argument(parser)
    parser.set_defaults(run=cmd_evaluate)
