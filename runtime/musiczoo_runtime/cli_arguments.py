"""The options of the `musiczoo` and `musiczoo-runtime` sub-commands, each defined once: the model and its
weights, recordings and patching, what `tag` prints and `extract` writes, and the output folders that the
command runner creates and owns before a command runs (`musiczoo_runtime.command.claim_folders`).

Every option that takes a number checks it with the API's own rule and words (`musiczoo_runtime.checks`),
and every option with named choices offers the library's list (`musiczoo_runtime.choices`).
"""

import argparse

from musiczoo_runtime import checks
from musiczoo_runtime.choices import PRECISIONS, RUNTIMES
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
    HOP_LENGTH,
    LAST_PATCH_POLICIES,
    SAMPLE_RATE,
    WEIGHT_TAGS,
)
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.patching import hop_frames
from musiczoo_runtime.printing import FORMATS

RANDOM = "none"  # `--weights none`: the random initialisation (the API's weights=None)


def whole(text):
    """Text as an int, written as one ("1000") or as a float with a whole value ("1e3", "1000.0").

    Raises:
        ValueError: not a whole number.
    """
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(text) from None
        return int(value)


def count(name, maximum=None):
    """An argparse `type=` for a count option (`--top`, `--batch-size`): a whole number from 1 to `maximum`."""
    return checked(lambda n: checks.positive_integer(n, name, maximum), whole)


def checked(check, convert=float):
    """An argparse `type=` that converts the text, then applies the API's own check (same rule, same words).

    Args:
        check: a function raising ZooError for a bad value (e.g. `musiczoo_runtime.checks.positive_integer`
            with its name bound).
        convert: text -> value (float or int).
    """
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            kind = "a whole number" if convert in (int, whole) else "a number"
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        try:
            check(value)
        except ZooError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    return parse


def weights_or_random(text):
    """--weights where random weights make sense: "none" (any case) is None, the random initialisation."""
    return None if text.lower() == RANDOM else text


def trained_weights(text):
    """--weights where only trained weights make sense: "none" is refused in one line."""
    if text.lower() == RANDOM:
        raise argparse.ArgumentTypeError(f"this command needs trained weights ({' or '.join(WEIGHT_TAGS)}): "
                                         f"{RANDOM}, a random initialisation, has no tags")
    return text


def add_model_arguments(parser, default_model=DEFAULT_MODEL, *, fine_tuned=False, random=True):
    """--model (or a MODEL argument) and --weights, with the same words for every sub-command.

    Args:
        parser: the sub-command's parser.
        default_model: the --model default, or None for a MODEL argument (the command's first).
        fine_tuned: a folder written by `musiczoo finetune` is accepted as the model.
        random: --weights none (random initialisation) is accepted; otherwise it is refused in one line.
    """
    model_help = "catalog name" + (", or a folder written by `musiczoo finetune`" if fine_tuned else "")
    if default_model is None:
        parser.add_argument("model", metavar="MODEL", help=model_help)
    else:
        parser.add_argument("--model", default=default_model, help=f"{model_help} (default: {default_model})")
    parser.add_argument("--weights", type=weights_or_random if random else trained_weights, default=DEFAULT_WEIGHTS,
                        help=f"weight tag ({', '.join(WEIGHT_TAGS)}) or the model's shipped .weights.h5 file"
                             + (f", or {RANDOM} (random initialisation)" if random else "")
                             + ("; a fine-tuned folder brings its own" if fine_tuned else "")
                             + f" (default: {DEFAULT_WEIGHTS})")


def add_folder_argument(parser, help, option="--out", required=True, default=None):
    """An output folder option (`--out DIR`), which the command runner creates and owns for this run before the
    command runs and before TensorFlow loads, so that a second run into it is refused at once."""
    action = parser.add_argument(option, required=required, default=default, metavar="DIR", help=help)
    parser.set_defaults(output_folders=(*(parser.get_default("output_folders") or ()), (option, action.dest)))


def add_quiet_argument(parser):
    """`--quiet`: no progress bars or stage lines on stderr (errors and warnings still show)."""
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr (errors and warnings still show)")


def add_audio_arguments(parser, random):
    """FILE... and the options every command over recordings takes (model, weights, hop, last patch, batch)."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    add_model_arguments(parser, random=random)
    add_patch_arguments(parser, BATCH_SIZE)


def add_runtime_argument(parser, where="this CPU"):
    """--runtime: what runs the network (`musiczoo_runtime.choices.RUNTIMES`)."""
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help=f"what runs the network: auto (default: the faster for this model and batch size on "
                             f"{where}, as measured), tensorflow, or onnx (ONNX Runtime)")


def add_precision_argument(parser):
    """--precision: the network's arithmetic (`musiczoo_runtime.choices.PRECISIONS`)."""
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="arithmetic of the network (default float32; bfloat16 is meant for CPUs with "
                             "AMX and is slower without it)")


def add_patch_arguments(parser, default_batch_size):
    """--hop-seconds (alias --hop), --last-patch and --batch-size."""
    parser.add_argument("--hop-seconds", "--hop", dest="hop", type=checked(hop_frames), default=DEFAULT_HOP_SECONDS,
                        metavar="SECONDS",
                        help=f"seconds between patch starts, in whole 16 ms frames (default: {DEFAULT_HOP_SECONDS:g}, "
                             f"which is {hop_frames(DEFAULT_HOP_SECONDS)} frames: "
                             f"{hop_frames(DEFAULT_HOP_SECONDS) * HOP_LENGTH / SAMPLE_RATE:g} s)")
    parser.add_argument("--last-patch", choices=LAST_PATCH_POLICIES, default=DEFAULT_LAST_PATCH,
                        help="pad the final partial patch (repeat) or discard it (drop)")
    parser.add_argument("--batch-size", type=count("--batch-size", checks.MAX_BATCH_SIZE),
                        default=default_batch_size,
                        help=f"3 s patches per forward pass, shared across files (default: {default_batch_size})")


def add_output_arguments(parser):
    """--top and --format, the options of what `tag` prints."""
    parser.add_argument("--top", type=count("--top", checks.MAX_TOP), default=5,
                        help="tags shown per file in text format (default: 5)")
    parser.add_argument("--format", choices=FORMATS, default="text")


def add_tag_parser(commands, library):
    """The `tag` sub-command with what `musiczoo` and `musiczoo-runtime` share: FILE..., the model (tags need
    trained weights), patching, --top and --format; the caller adds its own options and its `run`.

    Args:
        commands: the sub-command parsers.
        library: the package whose `tag_many` runs it, for the help ("zoo").
    """
    tag = commands.add_parser("tag", help=f"tag audio files ({library}.tag_many)")
    add_audio_arguments(tag, random=False)
    add_output_arguments(tag)
    return tag


def add_extract_parser(commands, library, random):
    """The `extract` sub-command (alias `features`) with what both commands share: FILE..., the model, patching,
    --layer and --out; `random`: whether --weights none is accepted."""
    extract = commands.add_parser("extract", aliases=["features"], help=f"extract named intermediate features "
                                                                        f"({library}.extract_many), one .npz per file")
    add_audio_arguments(extract, random=random)
    extract.add_argument("--layer", action="append", metavar="NAME", help="feature layer (repeatable; default: "
                                                                          "every feature layer of the card)")
    add_folder_argument(extract, "folder for one .npz per file, mirroring the layout of the folders given")
    return extract
