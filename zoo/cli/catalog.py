"""`musiczoo list`, `card` and `export`: the catalog, one model's card, a SavedModel for TF Serving or ONNX."""

import json
import sys
from pathlib import Path

from musiczoo_runtime.cli_arguments import add_folder_argument, add_model_arguments
from musiczoo_runtime.cli_common import OK, output_folder
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.printing import print_catalog


def cmd_list(args):
    from zoo.models.catalog import list_models, spec, tag_spaces

    pretrained = True if args.pretrained == "any" else args.pretrained
    rows = []
    for name in list_models(args.pattern, pretrained):
        model = spec(name)
        weights = ", ".join(model.weights) or "none yet"
        tags = ", ".join(str(len(tag_spaces()[tag]["tags"])) for tag in model.weights) or "-"
        rows.append((name, f"{model.params:,}", weights, tags, model.description))
    print_catalog(rows)
    return OK


def cmd_card(args):
    from zoo.models.catalog import card

    print(json.dumps(card(args.model, args.weights).to_dict(), indent=2))
    return OK


def cmd_export(args):
    if args.format == "onnx" and (args.version is not None or args.served_name):
        raise ZooError("--version and --served-name apply to --format savedmodel, not onnx")
    if args.format != "onnx" and args.input is not None:
        raise ZooError("--input applies to --format onnx (a SavedModel takes the waveform)")
    output_folder(args.out, "--out")
    if args.format == "onnx":
        from zoo.deploy.onnx_export import DEFAULT_INPUT, export_onnx

        print(export_onnx(args.model, weights=args.weights, out_dir=args.out, force=args.force,
                          input=args.input or DEFAULT_INPUT))
        return OK
    from zoo.deploy.savedmodel import export

    path = export(args.model, weights=args.weights, out_dir=args.out, version=args.version, force=args.force,
                  served_as=args.served_name)
    print(path)
    print(f"TF Serving config: {Path(args.out) / 'models.config'}", file=sys.stderr)
    return OK


def add_commands(commands):
    """Adds `list`, `card` and `export` to the sub-command parsers."""
    listing = commands.add_parser("list", help="print the model catalog (zoo.list_models)")
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style name pattern (default: *)")
    listing.add_argument("--pretrained", metavar="TAG", help="only models with these weights: mtt, msd or any")
    listing.set_defaults(run=cmd_list)

    card = commands.add_parser("card", help="print a model card as JSON (zoo.card)")
    add_model_arguments(card, None)  # --weights none: the architecture alone
    card.set_defaults(run=cmd_card)

    export = commands.add_parser("export", help="write a TF Serving SavedModel (zoo.export) or an ONNX file")
    add_model_arguments(export, None, random=False)  # an export serves tags
    export.add_argument("--format", choices=("savedmodel", "onnx"), default="savedmodel",
                        help="savedmodel (TF Serving, waveform in; the default) or onnx (ONNX Runtime, "
                             "input as --input)")
    export.add_argument("--input", choices=("waveform", "logmel"),
                        help="with --format onnx: waveform (the default: the front end in ONNX operators, so the "
                             "file alone tags audio with the exact front end the weights were trained with; input "
                             "a patch's window of the reflect-padded recording; OUT/NAME.WEIGHTS.onnx) or logmel "
                             "(the network alone, log-mel patches [batch, 187, 96] in; OUT/NAME.WEIGHTS.logmel.onnx)")
    add_folder_argument(export, "export root (OUT/<name>/<version>/), or the folder of the .onnx file")
    export.add_argument("--version", type=int, help="version number (default: the next free one)")
    export.add_argument("--force", action="store_true", help="replace an existing version (or .onnx file)")
    export.add_argument("--served-name", help="TF Serving model name (default: NAME, or NAME_WEIGHTS "
                                              "for weights other than mtt)")
    export.set_defaults(run=cmd_export)
