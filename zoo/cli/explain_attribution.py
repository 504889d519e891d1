"""`musiczoo explain auralise`, `attribute` and `branches`: what a unit hears, why a tag, which branch."""

import csv
from pathlib import Path

from musiczoo_runtime import checks
from musiczoo_runtime.choices import ATTRIBUTION_BASELINES, ATTRIBUTION_METHODS, EXACT_MAX_POINTS, FAST_MAX_POINTS
from musiczoo_runtime.cli_arguments import add_folder_argument, add_model_arguments, add_quiet_argument, checked, count
from musiczoo_runtime.cli_common import OK, each_result, output_folder, per_file_outputs
from musiczoo_runtime.contract import DEFAULT_MODEL
from zoo.progress import Progress


def _write_wav(path, waveform):
    from zoo.outputs.audio import write_audio

    write_audio(waveform, path)
    print(path, flush=True)


def cmd_auralise(args):
    from zoo.explain.auralise import auralise_top_units, auralise_units, check_layer
    from zoo.explain.network import open_network

    check_layer(open_network(args.model, args.weights), args.layer)
    out = output_folder(args.out, "--out")
    path = Path(args.file)
    if args.top:
        units, waveforms, waveform = auralise_top_units(path, args.model, args.weights, args.layer, args.top)
    else:
        units = args.unit
        waveforms, waveform = auralise_units(path, args.model, args.weights, args.layer, units)
    _write_wav(out / f"{path.stem}.input.wav", waveform)
    for unit, audio in zip(units, waveforms):
        _write_wav(out / f"{path.stem}.{args.layer}.unit{unit}.wav", audio)
    return OK


def cmd_attribute(args):
    import numpy as np

    from musiczoo_runtime.atomic import atomic_path
    from zoo.explain.attribution import attribute, completeness_sentence
    from zoo.explain.attribution_plots import plot_attribution
    from zoo.outputs.names import safe_name

    out = output_folder(args.out, "--out")
    path = Path(args.file)
    with Progress(quiet=args.quiet).stage(f"{args.method} for {args.tag}", unit="patch") as advance:
        result = attribute(path, args.model, args.weights, args.tag, args.method, layer=args.layer,
                           baseline=args.baseline, tolerance=args.tolerance, max_points=args.max_points,
                           progress=advance)
    stem = f"{path.stem}.{safe_name(args.tag)}.{args.method}"  # has dots: no Path.with_suffix below
    picture, arrays, audio = (out / f"{stem}.{kind}" for kind in ("png", "npz", "wav"))
    plot_attribution(result, picture, title=path.name)
    print(picture, flush=True)
    extra = {k: np.asarray(v) for k, v in result.details.items() if not isinstance(v, str)}
    with atomic_path(arrays) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, logmel=result.logmel, maps=result.maps, times=result.times, logits=result.logits, **extra)
    print(arrays, flush=True)
    if "completeness_gap" in result.details:
        print(completeness_sentence(result), flush=True)
    if args.listen:
        _write_wav(audio, result.listen())
    return OK


def write_branch_table(result, path):
    """Writes a BranchAttribution's per-tag summary as a tab-separated table (atomically)."""
    from musiczoo_runtime.atomic import atomic_path

    summary = result.summary()
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["tag", "probability", "logit", "baseline_logit",
                         *(f"integrated_{b}" for b in result.branches), *(f"ablation_{b}" for b in result.branches),
                         "completeness_gap"])
        for tag, row in summary.items():
            writer.writerow([tag, f"{row['probability']:.4f}", f"{row['logit']:.4f}", f"{row['baseline_logit']:.4f}",
                             *(f"{row['integrated'][b]:.4f}" for b in result.branches),
                             *(f"{row['ablation'][b]:.4f}" for b in result.branches), f"{row['gap']:.1e}"])


def cmd_branches(args):
    from musiczoo_runtime.cli_common import audio_files
    from zoo.explain.attribution_plots import plot_branches
    from zoo.explain.branches import aggregate, branch_attribution_many

    files, targets = per_file_outputs(args.files, args.out, ".branches.tsv")
    out = Path(args.out)
    reference = audio_files(args.reference) if args.reference else None
    done = []

    def write(path, result):
        table = targets[path]
        write_branch_table(result, table)
        plot_branches(result, table.with_suffix(".png"), n_tags=args.top)
        print(table, flush=True)
        done.append(result)

    status = each_result(branch_attribution_many(files, args.model, args.weights, args.tag or None,
                                                 reference=reference), files, "attributing", write,
                         lambda path: f"its table or picture could not be written next to {targets[path]}")
    if len(done) > 1:
        collection = aggregate(done)
        write_branch_table(collection, out / "collection.branches.tsv")
        plot_branches(collection, out / "collection.branches.png", n_tags=args.top)
        print(out / "collection.branches.tsv", flush=True)
    return status


def _model_and_out_arguments(parser, default_model=DEFAULT_MODEL, fine_tuned=True):
    """--model, --weights (`add_model_arguments`) and --out of the three commands."""
    add_model_arguments(parser, default_model, fine_tuned=fine_tuned)
    add_folder_argument(parser, "output folder (created if missing)")


def add_explain_commands(commands):
    """Adds `auralise`, `attribute` and `branches` to the `musiczoo explain` sub-command parsers."""
    auralise = commands.add_parser("auralise", help="what units of a convolutional layer hear, as audio files "
                                                    "(deconvolution, Choi et al. 2016)")
    auralise.add_argument("file", metavar="FILE", help="an audio file")
    auralise.add_argument("--layer", required=True, help="a conv, batch-norm or max-pooling layer on a path of "
                                                         "convolutions from the input (e.g. timbral_7x38_conv, conv2)")
    units = auralise.add_mutually_exclusive_group(required=True)
    units.add_argument("--unit", type=int, action="append", metavar="N", help="unit index (repeatable)")
    units.add_argument("--top", type=count("--top", checks.MAX_TOP), metavar="N",
                       help="the N units most active on this recording")
    _model_and_out_arguments(auralise)
    auralise.set_defaults(run=cmd_auralise)

    attribute = commands.add_parser("attribute", help="which log-mel bins made the model say a tag: a picture "
                                                      "(and, with --listen, the recording masked by it)")
    attribute.add_argument("file", metavar="FILE", help="an audio file")
    attribute.add_argument("--tag", required=True, help="the tag to explain (one of the model's tags)")
    attribute.add_argument("--method", default="saliency",
                           choices=ATTRIBUTION_METHODS)
    attribute.add_argument("--layer", help="Grad-CAM's convolution layer (default: the last convolution)")
    attribute.add_argument("--baseline", default="mean", choices=ATTRIBUTION_BASELINES,
                           help="integrated gradients' starting point: each patch's mean log-mel (default) or silence")
    attribute.add_argument("--tolerance", type=checked(lambda t: checks.positive_number(t, "--tolerance")),
                           metavar="T",
                           help="integrated gradients: refine each patch's path until its attributions sum to "
                                "logit - baseline logit within T (e.g. 1e-3; slower). Default: a fixed budget of "
                                "gradients per patch, the gap reached is printed")
    attribute.add_argument("--max-points", type=count("--max-points", EXACT_MAX_POINTS), metavar="N",
                           help=f"integrated gradients: most gradients per patch (default: {FAST_MAX_POINTS}, or "
                                f"{EXACT_MAX_POINTS} with --tolerance)")
    add_quiet_argument(attribute)
    attribute.add_argument("--listen", action="store_true", help="also write the recording masked by the map")
    _model_and_out_arguments(attribute)
    attribute.set_defaults(run=cmd_attribute)

    branches = commands.add_parser("branches", help="the timbral and the temporal branch's share of each tag, "
                                                    "per file and over the collection (table and bar chart)")
    branches.add_argument("files", nargs="+", metavar="FILE_OR_FOLDER", help="audio files or folders")
    branches.add_argument("--tag", action="append", metavar="TAG", help="only this tag (repeatable; default: all)")
    branches.add_argument("--reference", action="append", metavar="FILE_OR_FOLDER",
                          help="recordings whose mean is the baseline (default: the training data's mean)")
    branches.add_argument("--top", type=count("--top", checks.MAX_TOP), default=12,
                          help="tags in the bar chart (default: 12)")
    _model_and_out_arguments(branches, "timbral_temporal", fine_tuned=False)
    branches.set_defaults(run=cmd_branches)
