"""The one `musiczoo` command (also `python -m zoo`); sub-commands mirror the API's names.

Every sub-command reports a failed input on its own `error: ...` line on
stderr and goes on with the others; exit status 0 when every input succeeded,
1 when some failed, 2 for a usage error.
"""

import argparse
import sys

from zoo import __version__
from zoo.cli import catalog, evaluate, explain, inference, scale, training
from zoo.cli.common import USAGE, report_error
from zoo.errors import ZooError
from zoo.signal import native_stderr


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


def main(argv=None):
    """Entry point of the `musiczoo` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.argv = argv
    native_stderr.separate()  # decoders' own notes stay off the terminal; error lines still reach it
    try:
        return args.run(args)
    except ZooError as error:
        report_error(error)
        return USAGE
