"""Atomic output: write to a temporary sibling, then rename, so no half-written file is ever seen.

Every writer of the zoo goes through `atomic_path` (files) or `temporary` (a folder staged whole,
then published with `rename_no_replace`). Temporaries are named `.<final name>.<random>.musiczoo-tmp`:
hidden, recognisable, and never ending in the final suffix, so a reader globbing `*.npz` (or
`musiczoo`'s own folder search) never sees one. While it writes, the owner holds an exclusive
`flock` on its temporary; the kernel drops the lock when the process dies, so a temporary nobody
holds is debris of a killed run, and the next write into the same folder removes it
(`clean_stale`). Locks, not process ids, tell the two apart, so neither a recycled process id nor a
writer in another container sharing the folder is mistaken for debris. POSIX only (fcntl).
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shutil
from pathlib import Path

TMP_MARK = ".musiczoo-tmp"
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TMP_MARK) + r"(\.[A-Za-z0-9]+)?")
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
_cleaned = set()  # folders already cleaned by this process


def is_temporary(name):
    """True for the name of a temporary written by `temporary` (readers skip these)."""
    return bool(TEMPORARY.fullmatch(name))


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_stale(folder):
    """Removes the temporaries in `folder` that no live writer holds (debris of killed runs).

    Args:
        folder: the folder to clean (missing folders are fine).

    Returns:
        list of the removed paths.
    """
    removed = []
    try:
        entries = [entry.name for entry in os.scandir(folder) if is_temporary(entry.name)]
    except OSError:
        return removed
    for name in entries:
        path = Path(folder) / name
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it
        else:
            _remove(path)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def _claim(folder, name, directory, suffix):
    """Creates and locks a fresh temporary in `folder`; returns (path, locked descriptor)."""
    while True:
        path = folder / f".{name}.{secrets.token_hex(6)}{TMP_MARK}{suffix}"
        if directory:
            os.mkdir(path)
            fd = os.open(path, os.O_RDONLY)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return path, fd
        except FileNotFoundError:
            pass  # a cleaner removed it between creation and locking: take another name
        os.close(fd)


@contextlib.contextmanager
def temporary(folder, name, directory=False, keep_suffix=False):
    """A locked temporary file or folder in `folder`, removed at the end unless it was renamed away.

    Cleans the folder's stale temporaries first (once per folder and process).

    Args:
        folder: where the temporary lives (created if missing); the final path must be in the same folder.
        name: the final name (part of the temporary's name, for whoever finds it).
        directory: create an empty folder instead of an empty file.
        keep_suffix: end the name with the final name's suffix too, for writers that insist on
            it (Keras' `.keras`); readers opening files by their exact name still never see it.

    Yields:
        Path of the temporary.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(folder)
    if key not in _cleaned:
        clean_stale(folder)
        _cleaned.add(key)
    path, fd = _claim(folder, name, directory, Path(name).suffix if keep_suffix else "")
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            _remove(path)
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, keep_suffix=False):
    """Yields a temporary path next to `path`; renames it onto `path` only if the block succeeds.

    Writers that pick a format from the file name must be told the format (`savefig(format=...)`,
    a handle for `np.savez`), since the temporary's name ends in `.musiczoo-tmp`; writers that
    `flock` files themselves must be told not to (`h5py.File(tmp, "w", locking=False)`), since the
    temporary is locked by its owner.

    Args:
        path: the final file path (its folder is created if missing).
        keep_suffix: see `temporary`.

    Yields:
        Path of the temporary file to write (it exists, empty; writers may replace or truncate it).
    """
    path = Path(path)
    with temporary(path.parent, path.name, keep_suffix=keep_suffix) as tmp:
        yield tmp
        os.replace(tmp, path)


def rename_no_replace(source, target):
    """Renames `source` to `target` atomically, failing if `target` exists (renameat2 RENAME_NOREPLACE).

    Where the system lacks renameat2 (not Linux, or a file system without it), falls back to a
    check then `os.rename`, which Linux and macOS refuse anyway when `target` is a non-empty folder.

    Raises:
        FileExistsError: `target` exists; nothing was moved.
        OSError: any other failure of the rename.
    """
    source, target = os.fsencode(source), os.fsencode(target)
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, source, _AT_FDCWD, target, _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):
            raise (FileExistsError if code == errno.EEXIST else OSError)(code, os.strerror(code), target.decode())
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target.decode())
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target.decode()) from None
        raise
