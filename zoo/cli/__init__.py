"""The one `musiczoo` command (also `python -m zoo`); sub-commands mirror the API's names.

Every sub-command reports a failed input on its own `error: ...` line on
stderr and goes on with the others; exit status 0 when every input succeeded,
1 when some failed, 2 for a usage error.
"""

import argparse

from musiczoo_runtime.cli_common import run_command
from zoo import __version__
from zoo.cli import catalog, explain, inference, scale, training


def parser():
    """The argument parser of `musiczoo`."""
    main = argparse.ArgumentParser(prog="musiczoo", description="Musically motivated neural networks for music "
                                                                "audio: waveform in, tags and embeddings out.")
    main.add_argument("--version", action="version", version=f"musiczoo {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    catalog.add_commands(commands)
    inference.add_commands(commands)
    training.add_commands(commands)
    explain.add_commands(commands)
    scale.add_commands(commands)
    return main


def main(argv=None):
    """Entry point of the `musiczoo` console script; returns the exit status."""
    return run_command(parser(), argv)
