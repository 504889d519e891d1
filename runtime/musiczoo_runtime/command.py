"""Running a sub-command of `musiczoo` or `musiczoo-runtime`: exit statuses, interruptions, owned folders.

Exit status 0 when every input succeeded, 1 when some failed (each reported on
its own `error:` line), 2 for a usage error (a `ZooError` the command raised).
Ctrl-C (SIGINT) ends a run with 130 and a closed output pipe (`musiczoo tag DIR
| head -1`) with 141, as shells report those signals: quietly, every output
finished so far kept, files not reached left unreported.
"""

import os
import sys

from musiczoo_runtime import native_stderr
from musiczoo_runtime.atomic import release_folders
from musiczoo_runtime.cli_common import (
    CREATED,
    INTERRUPTED,
    PIPE_CLOSED,
    USAGE,
    output_folder,
    remove_unused_folders,
    report_error,
    show_warnings,
)
from musiczoo_runtime.errors import ZooError


def run_command(parser, argv=None, prepare=None):
    """Parses `argv` (default: sys.argv) with `parser` and runs the chosen sub-command's `run(args)`.

    Args:
        parser: an argparse parser whose sub-commands set `run`.
        argv: the arguments, or None for `sys.argv[1:]`.
        prepare: called with the parsed arguments before the command runs and after its output folders are
            owned (`claim_folders`; the full package imports TensorFlow quietly there); a ZooError it raises
            is a usage error.

    Returns:
        The exit status.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    CREATED.clear()
    native_stderr.separate()  # decoders' own notes stay off the terminal; error lines still reach it
    show_warnings()
    refused = False
    try:
        claim_folders(args)
        if prepare is not None:
            prepare(args)
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


def claim_folders(args):
    """Creates and owns every output folder the sub-command declares (`cli_arguments.add_folder_argument`) and
    was given, before anything else runs: a second run into one of them is refused at once.

    Raises:
        ZooError: a folder that is a file, cannot be created or written to, or is owned by another run.
    """
    for option, dest in getattr(args, "output_folders", ()):
        if getattr(args, dest) is not None:
            output_folder(getattr(args, dest), option)


def _discard_stdout():
    """Points stdout at /dev/null once its reader has gone, so that nothing fails writing to it again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
