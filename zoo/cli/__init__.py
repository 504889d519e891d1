"""The one `musiczoo` command (also `python -m zoo`); sub-commands mirror the API's names.

Exit statuses, Ctrl-C and closed pipes are handled as in `musiczoo-runtime`
(`musiczoo_runtime.command`): 0 when every input succeeded, 1 when some failed
(each on its own `error:` line), 2 for a usage error, 130 and 141 for SIGINT and
SIGPIPE, every output finished so far kept.
"""

import argparse

from musiczoo_runtime import checks
from musiczoo_runtime.command import run_command
from zoo import __version__
from zoo.cli import catalog, evaluate, explain, inference, scale, training
from zoo.cli.startup import import_tensorflow

WITHOUT_TENSORFLOW = ("list", "card", "beam")  # the others run networks here (beam on its workers): TensorFlow first


def parser():
    """The argument parser of `musiczoo`."""
    main = argparse.ArgumentParser(prog="musiczoo", description="Musically motivated neural networks for music "
                                                                "audio: waveform in, tags and embeddings out.")
    main.add_argument("--version", action="version", version=f"musiczoo {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    catalog.add_commands(commands)
    inference.add_commands(commands)
    training.add_commands(commands)
    evaluate.add_commands(commands)
    explain.add_commands(commands)
    scale.add_commands(commands)
    return main


def prepare(args):
    """Imports TensorFlow quietly for the commands that run networks; a shipped weight file stands for its tag.

    The command runner has already created and owned the command's output folders
    (`musiczoo_runtime.command.claim_folders`), so a second run into one of them is refused before TensorFlow loads.
    """
    if args.command not in WITHOUT_TENSORFLOW:
        import_tensorflow()
    if checks.is_weight_file(getattr(args, "weights", None)) and hasattr(args, "model"):
        from zoo.models.catalog import shipped_tag

        args.weights = shipped_tag(args.model, args.weights)


def main(argv=None):
    """Entry point of the `musiczoo` console script; returns the exit status."""
    return run_command(parser(), argv, prepare)
