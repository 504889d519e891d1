"""Atomic output: write to a temporary sibling, then rename, so no half-written file is ever seen.

Every writer of the zoo goes through `atomic_path` (files) or `temporary` (a folder staged whole,
then published with `rename_no_replace`). Temporaries are named `.<final name>.<random>.musiczoo-tmp`:
hidden, recognisable, and never ending in the final suffix, so a reader globbing `*.npz` (or
`musiczoo`'s own folder search) never sees one. While it writes, the owner holds an exclusive
`flock` on its temporary; the kernel drops the lock when the process dies, so a temporary nobody
holds is debris of a killed run, and the next write into the same folder removes it
(`clean_stale`). Locks, not process ids, tell the two apart, so neither a recycled process id nor a
writer in another container sharing the folder is mistaken for debris. POSIX only (fcntl).

An output folder is owned by one run at a time (`own_folder`): the owner holds an exclusive
`flock` on `<folder>/.musiczoo-lock`, which names its process id, command and start time; a
second run is refused with those, and a lock left by a dead process (the kernel dropped its
`flock`) is simply taken over.
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shlex
import shutil
import sys
import time
from pathlib import Path

from musiczoo_runtime.errors import ZooError

TMP_MARK = ".musiczoo-tmp"
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TMP_MARK) + r"(\.[A-Za-z0-9]+)?")
LOCK_NAME = ".musiczoo-lock"
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100
_cleaned = set()  # folders already cleaned by this process
_owned = {}  # real path of an owned folder -> (lock file path, locked descriptor)


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

    Writers that pick a format from the file name must be told the format (matplotlib's `format=`,
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


def _lock_file(folder):
    """Opens and locks `folder`'s lock file without waiting; returns the descriptor, or None when a live run holds it."""
    path = Path(folder) / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass  # its owner removed it as we opened it: lock the next one
        os.close(fd)


def _owner(folder):
    """What the lock file of `folder` says about its owner, in words."""
    try:
        fields = dict(line.split("=", 1) for line in (Path(folder) / LOCK_NAME).read_text().splitlines() if "=" in line)
    except (OSError, UnicodeDecodeError, ValueError):
        fields = {}
    return (f"process {fields.get('pid', '?')} (`{fields.get('command', '?')}`, started {fields.get('started', '?')})"
            if fields else "another run")


def own_folder(folder, option="--out"):
    """Makes this process the one owner of the output folder `folder` until it exits or calls `release_folders`.

    Owning a folder twice in one process is fine; a folder owned by another live process is refused.

    Args:
        folder: an existing folder.
        option: how the user named it, for the message ("--out", "--plot").

    Raises:
        ZooError: another live run owns the folder, or its lock file cannot be written.
    """
    key = os.path.realpath(folder)
    if key in _owned:
        return
    try:
        fd = _lock_file(folder)
    except OSError as error:
        raise ZooError(f"{option} {folder}: its lock file cannot be written ({error.strerror}); "
                       "choose a folder you can write to") from None
    if fd is None:
        raise ZooError(f"{option} {folder} is in use by {_owner(folder)}: two runs writing into one folder would "
                       "replace each other's outputs. Wait for it to finish, or choose another folder")
    command = shlex.join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    text = f"pid={os.getpid()}\ncommand={command}\nstarted={time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n".encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, text, 0)
    _owned[key] = (Path(folder) / LOCK_NAME, fd)


def _release(key):
    path, fd = _owned.pop(key)
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_ino == os.stat(path).st_ino:
            path.unlink()
    os.close(fd)


def release_folders():
    """Gives up every folder this process owns (removing their lock files); the kernel does it at any exit too."""
    for key in list(_owned):
        _release(key)


@contextlib.contextmanager
def owning(folder, option="--out"):
    """Within the block, this process owns `folder` (created if missing; see `own_folder`); given up after,
    unless it was owned before the block."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(folder)
    before = key in _owned
    own_folder(folder, option)
    try:
        yield Path(folder)
    finally:
        if not before and key in _owned:
            _release(key)


def replace_folder(staged, target):
    """Puts the complete folder `staged` at `target`, in one step: `target` shows the old or the new, never a mix.

    An existing `target` is swapped with `staged` atomically (renameat2 RENAME_EXCHANGE) and then
    removed; where the system cannot swap, it is renamed aside first. If this process owns `target`
    (`own_folder`), it owns the new folder afterwards.

    Args:
        staged: the new folder, in the same parent folder as `target`.
        target: the folder to replace (or create).
    """
    staged, target = Path(staged), Path(target)
    key = os.path.realpath(target)
    if key in _owned:  # hand the lock over to the new folder before it takes the name
        fd = _lock_file(staged)
        os.pwrite(fd, os.pread(_owned[key][1], 4096, 0), 0)
    if not target.exists():
        os.rename(staged, target)
    else:
        renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
        swapped = renameat2 is not None and renameat2(_AT_FDCWD, os.fsencode(staged), _AT_FDCWD,
                                                      os.fsencode(target), _RENAME_EXCHANGE) == 0
        if not swapped:
            aside = staged.with_name(staged.name + ".old")
            os.rename(target, aside)
            os.rename(staged, target)
            os.rename(aside, staged)
        shutil.rmtree(staged, ignore_errors=True)
    if key in _owned:
        os.close(_owned[key][1])
        _owned[key] = (target / LOCK_NAME, fd)
