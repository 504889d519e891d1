"""`musiczoo explain`: look inside a model: `filters`, `activations`, `units` and `report`.

The group is open: a module that adds its own `musiczoo explain` sub-commands
defines `add_explain_commands(explain_subparsers)` (importing TensorFlow only
inside its command functions) and is listed in `EXTENSIONS`, one line each.
"""

import importlib
from pathlib import Path

from musiczoo_runtime import checks
from musiczoo_runtime.atomic import LOCK_NAME, replace_folder, temporary
from musiczoo_runtime.choices import ATTRIBUTION_METHODS, FILTER_KINDS, UNIT_SCORES
from musiczoo_runtime.cli_arguments import add_folder_argument, add_model_arguments, add_quiet_argument, count
from musiczoo_runtime.cli_common import (
    OK,
    SOME_FAILED,
    audio_files,
    each_result,
    output_folder,
    per_file_outputs,
    report_error,
)
from musiczoo_runtime.contract import BATCH_SIZE
from musiczoo_runtime.errors import ZooError
from zoo.progress import Progress

EXTENSIONS = (  # modules adding `musiczoo explain` sub-commands with add_explain_commands(explain_subparsers)
    "zoo.cli.explain_attribution",
    "zoo.cli.explain_scales",
)


def positive(name):
    """An argparse `type=` for a positive integer option, checked with the API's own words (bounded)."""
    return count(name, checks.MAX_BATCH_SIZE if name == "--batch-size" else checks.MAX_TOP)


def cmd_filters(args):
    from zoo.explain.filter_plots import write_filter_map
    from zoo.explain.filters import TEMPO_RANGE_BPM, filters

    filter_map = filters(args.model, args.weights, kind=args.kind, layers=args.layer, null_draws=args.null_draws)
    written = write_filter_map(filter_map, output_folder(args.out, "--out"))
    for name, rows in filter_map.filters.items():
        kind = filter_map.kernels[name][0]
        print(f"{name}: {len(rows)} {kind} filters -> {written['images'][name]}")
    low, high = TEMPO_RANGE_BPM
    for name, share in filter_map.tempo_fractions().items():
        line = f"{name}: {share['learned']:.0%} of {share['filters']} learned filters in {low:g}-{high:g} BPM"
        if share["random"] is not None:
            line += (f"; random init {share['random']:.0%} (95% of {share['draws']} draws: "
                     f"{share['random_2.5%']:.0%}-{share['random_97.5%']:.0%})")
        cycle = share["one_cycle"]
        line += f"; with a whole cycle in the filter: learned {cycle['learned']:.0%}"
        if cycle["random"] is not None:
            line += f", random {cycle['random']:.0%}"
        print(line)
    print(f"filters.json: {written['json']}" + (f", null figure: {written['null']}" if written["null"] else ""))
    return OK


def cmd_activations(args):
    import numpy as np

    from musiczoo_runtime.atomic import atomic_path
    from zoo.explain.activations import activations
    from zoo.explain.network import open_network
    from zoo.explain.pictures import plot_activations

    files, targets = per_file_outputs(args.files, args.out, ".png")
    if args.layer:
        open_network(args.model, args.weights).check_layers(args.layer)  # a bad name is a usage error

    def results():
        for path in files:
            try:
                yield path, activations(path, args.model, args.weights, args.layer, max_columns=args.max_columns,
                                        batch_size=args.batch_size)
            except ZooError as error:
                yield path, error

    def write(path, acts):
        picture, arrays = targets[path], targets[path].with_suffix(".npz")
        plot_activations(acts, picture, title=path.name)
        with atomic_path(arrays) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, logmel=acts.logmel, times=acts.times, taggram=acts.taggram.probabilities,
                     taggram_times=acts.taggram.times, **acts.layers)
        print(picture, flush=True)

    return each_result(results(), files, "feature maps", write,
                       lambda path: f"its feature maps could not be written to {targets[path]}")


def cmd_units(args):
    from zoo.explain.units import UnitSearch

    files = audio_files(args.files)
    out = output_folder(args.out, "--out")
    search = UnitSearch(args.model, args.weights, args.layer, top=args.top, by=args.by, per_file=args.per_file,
                        batch_size=args.batch_size)
    status = each_result(search.scan(files), files, "ranking units", lambda path, patches: None, quiet=args.quiet)
    if not search.files:
        report_error("no recording could be read, so no unit has excerpts; nothing was written")
        return SOME_FAILED
    path, errors = search.write(out, progress=not args.quiet)
    for error in errors:
        report_error(error)
    short = [unit for unit in range(search.units) if len(search.excerpts(unit)) < search.top]
    if short:
        report_error(f"{len(short)} of {search.units} units have fewer than {search.top} excerpts: the collection "
                     f"has {len(search.files)} readable recording(s) and --per-file is {search.per_file}")
    print(f"{path}: {search.units} units of {search.layer}, up to {search.top} excerpts each, from "
          f"{len(search.files)} recordings ({len(search.failed)} failed)")
    return SOME_FAILED if errors or status != OK else OK


def cmd_report(args):
    out = output_folder(args.out, "--out")
    in_place = Path(args.source).is_dir() and out.samefile(args.source)  # a units folder's own page
    if (out / "index.html").exists() and not args.force:
        raise ZooError(f"{out / 'index.html'} already exists: pass --force to replace that report, or choose "
                       "another folder")
    foreign = sorted(entry.name for entry in out.iterdir() if entry.name != LOCK_NAME)
    if foreign and not in_place and not (out / "index.html").exists():
        raise ZooError(f"--out {out} holds files that are not a report ({', '.join(foreign[:3])}"
                       f"{', ...' if len(foreign) > 3 else ''}): choose an empty or new folder")
    from zoo.explain.report import report

    explain = {"attribution_tags": args.attribution_tags, "method": args.method, "branches": not args.no_branches,
               "auralised_units": args.auralised_units}
    progress = Progress(quiet=args.quiet)

    def write(folder):
        return report(args.source, folder, args.model, args.weights, args.layer, args.max_columns,
                      with_filters=not args.no_filters, explain=explain, progress=progress)

    if in_place:
        print(write(out))
        return OK
    with temporary(out.parent, out.name, directory=True) as staged:  # the old report stays whole until done
        write(staged)
        replace_folder(staged, out)
    print(out / "index.html")
    return OK


def add_explain_commands(subcommands):
    """Adds `filters`, `activations`, `units` and `report` to the `musiczoo explain` sub-command parsers."""
    filters = subcommands.add_parser("filters", help="draw and analyse the first-layer filters (band, BPM) against "
                                                     "random initialisation")
    add_model_arguments(filters, None, fine_tuned=True)
    filters.add_argument("--kind", choices=FILTER_KINDS, help="only this kind of filter")
    filters.add_argument("--layer", action="append", metavar="NAME", help="only this first-layer convolution "
                                                                          "(repeatable)")
    filters.add_argument("--null-draws", type=int, default=20, metavar="N",
                         help="random initialisations per layer for the null (default: 20)")
    add_folder_argument(filters, "folder for the PNGs and filters.json")
    filters.set_defaults(run=cmd_filters)

    acts = subcommands.add_parser("activations", help="feature maps of recordings: log-mel, layers and taggram on "
                                                      "one time axis")
    acts.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    add_model_arguments(acts, fine_tuned=True)
    acts.add_argument("--layer", action="append", metavar="NAME", help="layer to show (repeatable; default: the "
                                                                       "feature layers with a fine time axis)")
    acts.add_argument("--max-columns", type=positive("--max-columns"), default=1500, help="most time columns per picture (default: 1500)")
    acts.add_argument("--batch-size", type=positive("--batch-size"), default=BATCH_SIZE, help=f"patches per pass (default: {BATCH_SIZE})")
    add_folder_argument(acts, "folder for one PNG and one .npz per file")
    acts.set_defaults(run=cmd_activations)

    units = subcommands.add_parser("units", help="each unit's most exciting 3 s excerpts over a collection")
    units.add_argument("files", nargs="+", metavar="FOLDER", help="audio files or folders (searched recursively)")
    add_model_arguments(units, fine_tuned=True)
    units.add_argument("--layer", required=True, metavar="NAME", help="layer whose units are ranked")
    units.add_argument("--top", type=positive("--top"), default=5, metavar="K", help="excerpts per unit (default: 5)")
    units.add_argument("--by", choices=UNIT_SCORES, default="peak",
                       help="rank by peak activation over the excerpt or by its mean over time (default: peak)")
    units.add_argument("--per-file", type=positive("--per-file"), default=1, metavar="N",
                       help="most excerpts of one recording per unit (default: 1)")
    units.add_argument("--batch-size", type=positive("--batch-size"), default=BATCH_SIZE, help=f"patches per pass (default: {BATCH_SIZE})")
    add_folder_argument(units, "folder for excerpts/, thumbnails/, units.json")
    add_quiet_argument(units)
    units.set_defaults(run=cmd_units)

    report = subcommands.add_parser("report", help="one self-contained HTML page of a recording or a units folder")
    report.add_argument("source", metavar="FILE_OR_UNITS_DIR", help="an audio file, or a folder written by "
                                                                    "`musiczoo explain units`")
    add_model_arguments(report, fine_tuned=True)
    report.add_argument("--layer", action="append", metavar="NAME", help="for a file: layer to show (repeatable)")
    report.add_argument("--max-columns", type=positive("--max-columns"), default=1500, help="for a file: most time columns (default: 1500)")
    report.add_argument("--no-filters", action="store_true", help="leave out the model's filter maps")
    report.add_argument("--attribution-tags", type=int, default=2, metavar="N",
                        help="for a file: attribution maps of the N top tags (0: none; default: 2)")
    report.add_argument("--method", choices=ATTRIBUTION_METHODS,
                        default="integrated_gradients",
                        help="for a file: attribution method (default: integrated_gradients, the most faithful in "
                             "benchmarks/faithfulness.py)")
    report.add_argument("--no-branches", action="store_true", help="for a file: leave out the branch shares")
    report.add_argument("--auralised-units", type=int, default=3, metavar="N",
                        help="for a file: auralise the N most active first-layer units (0: none; default: 3)")
    add_folder_argument(report, "folder for index.html and its assets")
    report.add_argument("--force", action="store_true", help="replace the report already in --out (the folder "
                                                             "is replaced whole, once the new report is complete)")
    add_quiet_argument(report)
    report.set_defaults(run=cmd_report)


def add_commands(commands):
    """Adds the `explain` group to the `musiczoo` sub-command parsers, with this module's sub-commands and those
    of every module in `EXTENSIONS`."""
    explain = commands.add_parser("explain", help="look inside a model: filters, activations, units, report")
    explain_subparsers = explain.add_subparsers(dest="explain_command", required=True, metavar="WHAT")
    add_explain_commands(explain_subparsers)
    for module in EXTENSIONS:
        importlib.import_module(module).add_explain_commands(explain_subparsers)
    return explain_subparsers
