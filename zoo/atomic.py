"""Atomic output: write to a temporary sibling, then rename, so no half-written file is ever seen."""

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path next to `path`; renames it onto `path` only if the block succeeds.

    Args:
        path: the final file path (its folder is created if missing).

    Yields:
        Path of the temporary file to write (same suffix, so format-sniffing writers work).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
