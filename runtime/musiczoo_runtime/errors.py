"""The one exception type the zoo raises for problems a user can fix, and the one rule that turns any
failure of one input into that input's `ZooError`."""

import errno


class ZooError(ValueError):
    """A bad argument, a missing or corrupt weight file, or unreadable audio.

    The message always names what was wrong and what to do about it.
    """


class ZooWarning(UserWarning):
    """Input the zoo processes but whose result a user should doubt or know about (silent audio, audio
    shorter than a patch, samples beyond full scale that were normalised, a hop longer than the
    recording). Issued through the `warnings` module; the command line prints each as a `warning:` line.
    """


_OS_ADVICE = {
    errno.EACCES: "permission denied: check the permissions of the file or folder (chmod), or run as a user "
                   "who may use it",
    errno.EPERM: "operation not permitted: check the file's permissions",
    errno.ENOENT: "no such file (it was moved or deleted)",
    errno.EISDIR: "it is a folder, not an audio file",
    errno.ENOSPC: "no space left on the device: free some space and run again",
    errno.EDQUOT: "disk quota exceeded: free some space and run again",
    errno.EROFS: "the file system is read-only: choose a folder you can write to",
    errno.EIO: "input/output error: the disk or the network share failed; check it and run again",
}


def reason(error):
    """What went wrong, in words, for any exception: the ZooError's message, an OSError with advice,
    or the type and message of anything else (a decoder's own failure)."""
    if isinstance(error, ZooError):
        return str(error)
    if isinstance(error, OSError) and error.errno in _OS_ADVICE:
        return _OS_ADVICE[error.errno]
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} (errno {error.errno})"
    if isinstance(error, MemoryError):
        return "out of memory"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def file_error(label, error, doing=""):
    """The `ZooError` of one input (a file or an array) that failed with any exception.

    Args:
        label: the input's path or name; the message names it exactly once, first.
        error: the exception it failed with.
        doing: what failed, e.g. "its features could not be written to out/a.npz" (optional).

    Returns:
        ZooError with message `"<label>: [<doing>: ]<reason>"`.
    """
    text = reason(error)
    label = str(label)
    if text.startswith(f"{label}: "):
        text = text[len(label) + 2:]
    elif label in text and not doing:
        return ZooError(text)
    return ZooError(f"{label}: {doing}: {text}" if doing else f"{label}: {text}")
