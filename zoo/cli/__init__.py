"""The one `musiczoo` command (also `python -m zoo`); sub-commands mirror the API's names.

Every sub-command reports a failed input on its own `error: ...` line on
stderr and goes on with the others; exit status 0 when every input succeeded,
1 when some failed, 2 for a usage error. Ctrl-C (SIGINT) ends a run with 130
and a closed output pipe (`musiczoo tag DIR | head -1`) with 141, as shells
report those signals: quietly, every output finished so far kept, files not
reached left unreported.
"""

import argparse
import os
import sys

from zoo import __version__
from zoo.atomic import release_folders
from zoo.cli import catalog, explain, inference, scale, training
from zoo.cli.common import CREATED, INTERRUPTED, PIPE_CLOSED, USAGE, remove_unused_folders, report_error, show_warnings
from zoo.cli.startup import import_tensorflow
from zoo.errors import ZooError
from zoo.signal import native_stderr

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
    explain.add_commands(commands)
    scale.add_commands(commands)
    return main


def main(argv=None):
    """Entry point of the `musiczoo` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.argv = argv
    CREATED.clear()
    native_stderr.separate()  # decoders' own notes stay off the terminal; error lines still reach it
    show_warnings()
    refused = False
    try:
        if args.command not in WITHOUT_TENSORFLOW:
            import_tensorflow()
        if str(getattr(args, "weights", None)).endswith(".h5") and hasattr(args, "model"):
            from zoo.models.catalog import shipped_tag

            args.weights = shipped_tag(args.model, args.weights)  # a shipped weight file stands for its tag
        return args.run(args)
    except ZooError as error:
        report_error(error)
        refused = True
        return USAGE
    except KeyboardInterrupt:
        report_error("interrupted: the outputs finished so far are kept")
        return INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return PIPE_CLOSED
    finally:
        release_folders()  # removes the lock files, so that
        if refused:
            remove_unused_folders()  # a run refused up front leaves no empty --out or --plot behind


def _discard_stdout():
    """Points stdout at /dev/null once its reader has gone, so that nothing fails writing to it again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
