"""Keeping native decoders' chatter off the terminal.

libmpg123 (inside libsndfile) writes notes such as "Note: Trying to resync..." straight to file
descriptor 2, bypassing Python. The command line calls `separate()` once: Python's `sys.stderr`
moves to a duplicate of descriptor 2 (so `error:` lines and progress bars still reach the
terminal), and from then on `silenced()` points descriptor 2 at /dev/null while a decoder runs.
Without `separate()` (the Python API), `silenced()` does nothing and chatter passes through as
the C libraries intend. What a decoder says is never needed: every failure it reports also
surfaces as a `ZooError` naming the file.
"""

import contextlib
import os
import sys
import threading

_lock = threading.Lock()
_state = {"separate": False, "users": 0, "saved": None}


def separate():
    """Moves Python's `sys.stderr` off descriptor 2 (when it is on it) and enables `silenced()`."""
    try:
        on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        on_fd2 = False  # already elsewhere (a test's capture, a notebook)
    if on_fd2:
        sys.stderr.flush()
        sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding,
                               errors=sys.stderr.errors)
    _state["separate"] = True


@contextlib.contextmanager
def silenced():
    """Within the block, what native code writes to descriptor 2 is discarded (after `separate()` only)."""
    if not _state["separate"]:
        yield
        return
    with _lock:
        if _state["users"] == 0:
            _state["saved"] = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _state["users"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["users"] -= 1
            if _state["users"] == 0:
                os.dup2(_state["saved"], 2)
                os.close(_state["saved"])
