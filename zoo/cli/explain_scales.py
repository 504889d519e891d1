"""`musiczoo explain scales`: which pyramid level of the multiscale model carries each tag of a recording."""

from musiczoo_runtime import checks
from musiczoo_runtime.cli_arguments import add_folder_argument, add_model_arguments, count
from musiczoo_runtime.cli_common import each_result, per_file_outputs


def cmd_scales(args):
    from zoo.explain.scales import plot_contributions, scale_contributions_many, write_table

    files, targets = per_file_outputs(args.files, args.out, ".scales.tsv")

    def write(path, result):
        table = targets[path]
        picture = table.with_name(table.name.removesuffix(".tsv") + ".png")
        write_table(result, table)
        plot_contributions(result, picture, title=path.name, n_tags=args.top)
        print(picture, flush=True)

    results = scale_contributions_many(files, model=args.model, weights=args.weights, tags=args.tag)
    return each_result(results, files, "ablating levels", write,
                       lambda path: f"its table or picture could not be written next to {targets[path]}")


def add_explain_commands(subcommands):
    """Adds `scales` to the `musiczoo explain` sub-command parsers."""
    parser = subcommands.add_parser(
        "scales", help="multiscale model: each tag's probability drop when one pyramid level is replaced by its "
                       "corpus mean")
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    add_folder_argument(parser, "folder for NAME.scales.tsv (every tag) and NAME.scales.png (the top tags)")
    add_model_arguments(parser, "multiscale", random=False)  # a level is ablated with its corpus mean
    parser.add_argument("--tag", action="append", metavar="TAG", help="only this tag (repeatable; default: every tag)")
    parser.add_argument("--top", type=count("--top", checks.MAX_TOP), default=10,
                        help="tags in the picture, most probable first (default: 10)")
    parser.set_defaults(run=cmd_scales)
