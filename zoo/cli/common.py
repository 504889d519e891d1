"""What every `musiczoo` sub-command shares: finding input files, one loop over results, one error format.

Exit status everywhere: `OK` (0) when every input succeeded, `SOME_FAILED` (1)
when some input failed (each reported on its own `error:` line), `USAGE` (2)
for a usage error (bad arguments, nothing to do).
"""

import sys
from pathlib import Path

from zoo.contract import DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH, DEFAULT_MODEL, DEFAULT_WEIGHTS, LAST_PATCH_POLICIES
from zoo.errors import ZooError
from zoo.signal.audio import EXTENSIONS

OK, SOME_FAILED, USAGE = 0, 1, 2


def audio_files(paths):
    """Expands files and folders (recursively, audio extensions only) in the order given.

    Raises:
        ZooError: nothing to process (folders without audio files only).
    """
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS))
        else:
            found.append(path)
    if not found:
        raise ZooError(f"no audio files found in {', '.join(map(str, paths))} (looked for {', '.join(EXTENSIONS)})")
    return found


def report_error(message):
    """Writes one `error: ...` line on stderr, above any progress bar."""
    from tqdm import tqdm

    tqdm.write(f"error: {message}", file=sys.stderr)


def error_message(path, error):
    """The message of a failed input, naming the file once."""
    return str(error) if str(path) in str(error) else f"{path}: {error}"


def each_result(results, files, description, handle):
    """The one loop over per-file results: progress bar, error lines, exit status.

    Args:
        results: iterable of (path, result or ZooError), one per file.
        files: the input files (for the bar's total).
        description: what the bar says ("tagging", ...).
        handle: `handle(path, result)` for each success; returns None, or a ZooError
            when writing that file's output failed.

    Returns:
        `OK`, or `SOME_FAILED` when any file failed (each failure on its own `error:` line).
    """
    from tqdm import tqdm

    failed = 0
    for path, result in tqdm(results, total=len(files), desc=description, unit="file", file=sys.stderr,
                             disable=len(files) < 2):
        if not isinstance(result, ZooError):
            result = handle(path, result)
        if isinstance(result, ZooError):
            failed += 1
            report_error(error_message(path, result))
    return SOME_FAILED if failed else OK


def add_audio_arguments(parser, default_batch_size):
    """FILE... and the options every command over recordings takes (model, weights, hop, last patch, batch)."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders (searched recursively)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default: {DEFAULT_MODEL})")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS, help="weight tag: mtt or msd, or a .weights.h5 file "
                                                                 f"(default: {DEFAULT_WEIGHTS})")
    add_patch_arguments(parser, default_batch_size)


def add_patch_arguments(parser, default_batch_size):
    """--hop-seconds (alias --hop), --last-patch and --batch-size."""
    parser.add_argument("--hop-seconds", "--hop", dest="hop", type=float, default=DEFAULT_HOP_SECONDS,
                        metavar="SECONDS",
                        help=f"seconds between patch starts (default: {DEFAULT_HOP_SECONDS:g})")
    parser.add_argument("--last-patch", choices=LAST_PATCH_POLICIES, default=DEFAULT_LAST_PATCH,
                        help="pad the final partial patch (repeat) or discard it (drop)")
    parser.add_argument("--batch-size", type=int, default=default_batch_size,
                        help=f"3 s patches per forward pass, shared across files (default: {default_batch_size})")
