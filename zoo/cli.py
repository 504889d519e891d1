"""The `musiczoo` command: list, tag, features, export, finetune (also `python -m zoo`)."""

import argparse
import csv
import json
import sys
from pathlib import Path

from zoo.audio import EXTENSIONS
from zoo.errors import ZooError
from zoo.pipeline import BATCH_SIZE


def _files(paths):
    """Expands files and folders (recursively, audio extensions only) in the order given."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS))
        else:
            found.append(path)
    return found


def _progress(items, total, description):
    """Wraps an iterable of `total` items in a tqdm progress bar on stderr when there is more than one."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=description, unit="file", file=sys.stderr, disable=total < 2)


def _report_error(path, error):
    """One error line on stderr naming the file (printed above any progress bar); returns the message."""
    from tqdm import tqdm

    message = str(error) if str(path) in str(error) else f"{path}: {error}"
    tqdm.write(f"error: {message}", file=sys.stderr)
    return message


def cmd_list(args):
    from zoo.registry import card, list_models

    rows = [("name", "parameters", "weights", "tags", "description")]
    for name in list_models():
        info = card(name, weights=None)
        params = info["params"]
        weights = ", ".join(info["available_weights"]) or "none yet"
        tags = ", ".join(str(len(card(name, tag)["tags"])) for tag in info["available_weights"]) or "-"
        rows.append((name, f"{params:,}", weights, tags, info["description"]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def _text_line(path, result, top):
    tags = ", ".join(f"{name} {p:.2f}" for name, p in result.top(top))
    return f"{path}\t{tags}"


def cmd_tag(args):
    from zoo.features import tag_many

    files = _files(args.files)
    if not files:
        print("musiczoo tag: no audio files found in the paths given", file=sys.stderr)
        return 1
    failed = 0
    writer = csv.writer(sys.stdout) if args.format == "csv" else None
    header_written = False
    results = tag_many(files, model=args.model, weights=args.weights, hop_seconds=args.hop,
                       last_patch=args.last_patch, batch_size=args.batch_size, precision=args.precision)
    for path, result in _progress(results, len(files), "tagging"):
        if args.plot and not isinstance(result, ZooError):
            from zoo.plots import plot_taggram  # matplotlib loads only when images are asked for

            try:
                plot_taggram(result, Path(args.plot) / f"{path.stem}.png", title=str(path))
            except OSError as error:
                result = ZooError(f"{path}: could not write its taggram image: {error}")
        if isinstance(result, ZooError):
            failed += 1
            message = _report_error(path, result)
            if args.format == "json":
                print(json.dumps({"file": str(path), "error": message}), flush=True)
            continue
        if args.format == "json":
            record = {"file": str(path), "model": result.model, "weights": result.weights,
                      "duration": round(result.duration, 3),
                      "tags": {t: round(float(p), 6) for t, p in zip(result.tags, result.clip_probabilities)}}
            print(json.dumps(record), flush=True)
        elif args.format == "csv":
            if not header_written:
                writer.writerow(["file", *result.tags])
                header_written = True
            writer.writerow([str(path), *(f"{p:.6f}" for p in result.clip_probabilities)])
        else:
            print(_text_line(path, result, args.top), flush=True)
    return 1 if failed else 0


def cmd_features(args):
    import numpy as np

    from zoo.atomic import atomic_path
    from zoo.features import extract_many

    files = _files(args.files)
    if not files:
        print("musiczoo features: no audio files found in the paths given", file=sys.stderr)
        return 1
    failed = 0
    results = extract_many(files, model=args.model, weights=args.weights, layers=args.layer or None,
                           hop_seconds=args.hop, last_patch=args.last_patch, batch_size=args.batch_size)
    for path, result in _progress(results, len(files), "extracting"):
        if isinstance(result, ZooError):
            failed += 1
            _report_error(path, result)
            continue
        arrays = dict(result.layers)
        arrays.update({f"{name}_times": times for name, times in result.times.items()})
        with atomic_path(Path(args.out) / f"{path.stem}.npz") as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    return 1 if failed else 0


def cmd_export(args):
    from zoo.export import export

    path = export(args.name, weights=args.weights, out_dir=args.out, version=args.version, force=args.force,
                  served_as=args.served_name)
    print(path)
    print(f"TF Serving config: {Path(args.out) / 'models.config'}", file=sys.stderr)
    return 0


def cmd_finetune(args):
    from zoo.transfer import finetune

    weights = None if args.weights.lower() == "none" else args.weights
    result = finetune(args.data, model=args.model, weights=weights, out_dir=args.out, layout=args.layout,
                      multi_label=args.multi_label, pooling=args.pooling, epochs=args.epochs,
                      fine_tune_blocks=args.fine_tune_blocks, learning_rate=args.learning_rate,
                      fine_tune_learning_rate=args.fine_tune_learning_rate, validation_split=args.validation_split,
                      patience=args.patience, batch_size=args.batch_size, seed=args.seed, verbose=not args.quiet)
    scores = result.report["validation"]
    if scores:
        print(f"validation: clip accuracy {scores['clip_accuracy']:.3f}, patch accuracy "
              f"{scores['patch_accuracy']:.3f} over {scores['files']} files", file=sys.stderr)
    print(Path(args.out) / "model.keras")
    return 0


def _add_model_arguments(parser):
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    parser.add_argument("--model", default="timbral_temporal", help="catalog name (default: timbral_temporal)")
    parser.add_argument("--weights", default="mtt", help="weight tag: mtt or msd (default: mtt)")
    parser.add_argument("--hop", type=float, default=3.0, help="seconds between patch starts (default: 3)")
    parser.add_argument("--last-patch", choices=("repeat", "drop"), default="repeat",
                        help="pad the final partial patch (repeat) or discard it (drop)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"3 s patches per forward pass, shared across files (default: {BATCH_SIZE})")


def parser():
    """The argument parser of `musiczoo`."""
    main = argparse.ArgumentParser(prog="musiczoo", description="Musically motivated neural networks for music audio.")
    commands = main.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="print the model catalog").set_defaults(run=cmd_list)

    tag_parser = commands.add_parser("tag", help="tag audio files")
    _add_model_arguments(tag_parser)
    tag_parser.add_argument("--top", type=int, default=5, help="tags shown per file in text format (default: 5)")
    tag_parser.add_argument("--format", choices=("text", "json", "csv"), default="text")
    tag_parser.add_argument("--plot", metavar="DIR", help="write a taggram image per file into DIR")
    tag_parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                            help="arithmetic of the network (default float32; bfloat16 is meant for CPUs with "
                                 "AMX and is slower without it)")
    tag_parser.set_defaults(run=cmd_tag)

    features_parser = commands.add_parser("features", help="extract named intermediate features")
    _add_model_arguments(features_parser)
    features_parser.add_argument("--layer", action="append", metavar="NAME", help="feature layer (repeatable)")
    features_parser.add_argument("--out", required=True, metavar="DIR", help="folder for one .npz per file")
    features_parser.set_defaults(run=cmd_features)

    export_parser = commands.add_parser("export", help="write a TF Serving SavedModel")
    export_parser.add_argument("name", help="catalog name")
    export_parser.add_argument("--weights", default="mtt", help="weight tag: mtt or msd (default: mtt)")
    export_parser.add_argument("--out", required=True, metavar="DIR", help="export root (OUT/<name>/<version>/)")
    export_parser.add_argument("--version", type=int, help="version number (default: the next free one)")
    export_parser.add_argument("--force", action="store_true", help="replace an existing version")
    export_parser.add_argument("--served-name", help="TF Serving model name (default: NAME, or NAME_WEIGHTS "
                                                     "for weights other than mtt)")
    export_parser.set_defaults(run=cmd_export)

    finetune_parser = commands.add_parser("finetune", help="train a new classifier on a pretrained backbone")
    finetune_parser.add_argument("data", metavar="DATA", help="dataset folder (GTZAN, Ballroom, IRMAS or one "
                                                              "folder per class) or CSV of path,label[,label...]")
    finetune_parser.add_argument("--model", default="timbral_temporal", help="backbone (default: timbral_temporal)")
    finetune_parser.add_argument("--weights", default="mtt", help="backbone weights: mtt, msd or none (default: mtt)")
    finetune_parser.add_argument("--out", required=True, metavar="DIR",
                                 help="folder for model.keras, labels.json and history.json")
    finetune_parser.add_argument("--layout", default="auto", choices=("auto", "gtzan", "ballroom", "irmas",
                                                                      "folders", "csv"),
                                 help="dataset layout (default: detected)")
    labels = finetune_parser.add_mutually_exclusive_group()
    labels.add_argument("--multi-label", dest="multi_label", action="store_const", const=True,
                        help="sigmoid outputs (default: when some file has several labels)")
    labels.add_argument("--single-label", dest="multi_label", action="store_const", const=False,
                        help="softmax outputs")
    finetune_parser.add_argument("--pooling", choices=("avg", "max"), default="avg",
                                 help="pooling of the backbone output (default: avg)")
    finetune_parser.add_argument("--epochs", type=int, default=30, help="at most N epochs per phase (default: 30)")
    finetune_parser.add_argument("--fine-tune-blocks", type=int, default=0, metavar="N",
                                 help="then unfreeze the top N backbone blocks and train again (default: 0)")
    finetune_parser.add_argument("--learning-rate", type=float, default=1e-3, help="head phase (default: 1e-3)")
    finetune_parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-4,
                                 help="fine-tuning phase (default: 1e-4)")
    finetune_parser.add_argument("--validation-split", type=float, default=0.2,
                                 help="share of files held out (default: 0.2)")
    finetune_parser.add_argument("--patience", type=int, default=5,
                                 help="epochs without a better validation loss before stopping (default: 5)")
    finetune_parser.add_argument("--batch-size", type=int, default=16, help="patches per step (default: 16)")
    finetune_parser.add_argument("--seed", type=int, default=0, help="fixes split and initialisation (default: 0)")
    finetune_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    finetune_parser.set_defaults(run=cmd_finetune)
    return main


def main(argv=None):
    """Entry point of the `musiczoo` console script."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ZooError as error:
        print(f"musiczoo: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
