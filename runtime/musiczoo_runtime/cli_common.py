"""What every `musiczoo` sub-command shares: finding input files, naming and owning outputs, one loop over
results, one error format (its options are defined in `musiczoo_runtime.cli_arguments`).

Exit status everywhere: `OK` (0) when every input succeeded, `SOME_FAILED` (1)
when some input failed (each reported on its own `error:` line), `USAGE` (2)
for a usage error (bad arguments, nothing to do, outputs that would clash),
`INTERRUPTED` (130) after Ctrl-C and `PIPE_CLOSED` (141) when stdout's reader
has gone, the numbers shells give those signals.
"""

import os
import sys
from pathlib import Path

from musiczoo_runtime.atomic import is_temporary, own_folder
from musiczoo_runtime.audio import EXTENSIONS
from musiczoo_runtime.errors import ZooError, ZooWarning, file_error, reason

OK, SOME_FAILED, USAGE = 0, 1, 2
INTERRUPTED, PIPE_CLOSED = 128 + 2, 128 + 13  # 128 + SIGINT, 128 + SIGPIPE


def find_inputs(paths):
    """Expands files and folders (recursively, audio extensions only) in the order given.

    Inside a folder, every entry with an audio extension that is not a folder is an input (a
    broken link or an unreadable file then fails as that file's error); the zoo's own
    temporaries are skipped.

    Args:
        paths: files and folders as given on the command line.

    Returns:
        list of (file path, its name relative to what was given): a folder's files relative to
        that folder, a file given directly by its name.

    Raises:
        ZooError: nothing to process, or a folder that cannot be listed (before any work, since
            its files would otherwise be missed without a word).
    """
    found, unlisted = [], []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            found.append((path, Path(path.name)))
            continue
        inside = []
        for folder, folders, names in os.walk(path, onerror=unlisted.append):
            folders[:] = [name for name in folders if not is_temporary(name)]
            inside.extend(Path(folder, name) for name in names
                          if Path(name).suffix.lower() in EXTENSIONS and not is_temporary(name))
        found.extend((p, p.relative_to(path)) for p in sorted(inside))
    if unlisted:
        raise ZooError("cannot list " + "; ".join(f"{e.filename}: {reason(e)}" for e in unlisted)
                       + ". Fix the permissions, or leave these folders out")
    if not found:
        raise ZooError(f"no audio files found in {', '.join(map(str, paths))} (looked for {', '.join(EXTENSIONS)})")
    return found


def audio_files(paths):
    """The files of `find_inputs(paths)`, in order."""
    return [path for path, _ in find_inputs(paths)]


def output_paths(inputs, out_dir, suffix):
    """The one naming rule for per-file outputs: the input's relative name under `out_dir`, with `suffix`.

    Checked before any work: two inputs that would write the same output (`x.wav` and `x.flac`,
    or two files given directly with the same name) are refused, all listed.

    Args:
        inputs: `find_inputs` pairs.
        out_dir: the output folder.
        suffix: the outputs' suffix (".npz", ".png").

    Returns:
        dict input path -> output path.

    Raises:
        ZooError: outputs would clash (compared case-insensitively, as some file systems do).
    """
    targets, owners = {}, {}
    for path, relative in inputs:
        target = Path(out_dir) / relative.with_suffix(suffix)
        targets[path] = target
        owners.setdefault(str(target).casefold(), []).append(path)
    clashes = [paths for paths in owners.values() if len(paths) > 1]
    if clashes:
        listed = "; ".join(f"{' and '.join(map(str, paths))} -> {targets[paths[0]]} ({clash_advice(paths)})"
                           for paths in clashes)
        raise ZooError(f"these inputs would write the same output, so nothing was done: {listed}")
    return targets


def clash_advice(paths):
    """What to do about input files that would write one output: one file given twice, names that differ
    only in their extension, or same-named files from different folders given directly."""
    if len({os.path.realpath(path) for path in paths}) < len(paths):
        return "the same file is given more than once: give it once"
    if len({str(Path(path).parent.resolve()) for path in paths}) < len(paths):
        return ("names that differ only in their extension or case: rename one, or run them separately with "
                "different output folders")
    return ("same-named files from different folders: give a folder holding both instead of the files (outputs "
            "mirror its layout), or run them separately with different output folders")


def per_file_outputs(paths, out, suffix):
    """Inputs and outputs of a command that writes one file per input under `--out`.

    Args:
        paths: files and folders as given on the command line.
        out: the `--out` folder (created up front).
        suffix: the outputs' suffix (".npz", ".scales.tsv").

    Returns:
        (input files in order, dict input path -> output path).

    Raises:
        ZooError: `--out` unusable, or two inputs that would write the same output.
    """
    inputs = find_inputs(paths)
    return [path for path, _ in inputs], output_paths(inputs, output_folder(out, "--out"), suffix)


CREATED = []  # folders `output_folder` created in this process, deepest first, for `remove_unused_folders`


def remove_unused_folders():
    """Removes the output folders this run created and left empty (a run refused after making them)."""
    while CREATED:
        folder = CREATED.pop(0)
        try:
            folder.rmdir()  # only when empty; the deepest come first, so emptied parents follow
        except OSError:
            pass


def output_folder(path, option):
    """Creates the output folder `path` of `option` (e.g. "--out") up front and owns it for this run
    (`musiczoo_runtime.atomic.own_folder`), or says why it cannot.

    Raises:
        ZooError: it is a file, cannot be created, cannot be written to, or another run owns it.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ZooError(f"{option} {path}: this is a file; {option} needs a folder (created if missing)")
    new = [folder for folder in (path, *path.parents) if not folder.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ZooError(f"{option} {path}: the folder cannot be created ({reason(error)})") from None
    CREATED.extend(new)  # deepest first
    if not os.access(path, os.W_OK | os.X_OK):
        raise ZooError(f"{option} {path}: you cannot write to this folder; choose one you can write to")
    own_folder(path, option)
    return path


ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def one_line(path):
    """A path as one line of text output: backslash, newline, carriage return and tab written as \\\\, \\n,
    \\r and \\t, so a name holding them cannot split a line or shift a column."""
    return str(path).translate(ESCAPES)


def report_error(message):
    """Writes one `error: ...` line on stderr, above any progress bar."""
    from tqdm import tqdm

    tqdm.write(f"error: {message}", file=sys.stderr)


def show_warnings():
    """Prints every `ZooWarning` as one `warning: ...` line on stderr, above any progress bar (other
    warnings as Python shows them)."""
    import warnings

    if getattr(warnings.showwarning, "zoo", False):
        return
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ZooWarning):
            from tqdm import tqdm

            tqdm.write(f"warning: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    show.zoo = True
    warnings.showwarning = show
    warnings.simplefilter("always", ZooWarning)  # each file's warning, even when two say the same


def each_result(results, files, description, handle, failure=None, quiet=False):
    """The one loop over per-file results: progress bar, error lines, exit status.

    Args:
        results: iterable of (path, result or ZooError), one per file.
        files: the input files (for the bar's total).
        description: what the bar says ("tagging", ...).
        handle: `handle(path, result)` for each success (printing or writing its output); returns
            None or a ZooError, and any exception it raises is that file's error too.
        failure: `failure(path)` says where that file's output was going, for the error line of an
            exception from `handle` (default: "its output could not be written").
        quiet: no progress bar.

    Returns:
        `OK`, or `SOME_FAILED` when any file failed (each failure on its own `error:` line).
    """
    from tqdm import tqdm

    failed = 0
    for path, result in tqdm(results, total=len(files), desc=description, unit="file", file=sys.stderr,
                             disable=quiet or len(files) < 2):
        if not isinstance(result, ZooError):
            try:
                result = handle(path, result)
            except BrokenPipeError:
                raise  # stdout's reader has gone: the run ends (exit 141), it is no file's error
            except Exception as error:  # noqa: BLE001 - a failed output is that file's error, the others go on
                result = file_error(path, error, failure(path) if failure else "its output could not be written")
        if isinstance(result, ZooError):
            failed += 1
            report_error(file_error(path, result))
    return SOME_FAILED if failed else OK
