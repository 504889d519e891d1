"""Progress of long commands on stderr: a tqdm bar with an estimate on a terminal, plain lines otherwise.

A command makes one `Progress` and runs its work in stages:

    progress = Progress(quiet=args.quiet)
    with progress.stage("integrated gradients for drums", total=10, unit="patch") as advance:
        for patch in patches:
            ...
            advance()

On a terminal each stage is a tqdm bar (rate and time left), redrawn every
`every` seconds even between steps so the clock keeps moving. When stderr is not
a terminal (a log file, CI) each stage prints one line when it starts and one
when it ends, and every `every` seconds a line of how far it got, so a log never
stays silent for long, even inside one long step. `quiet` prints nothing. The
library's functions take a `Progress` and default to `SILENT`.
"""

import sys
import threading
import time
from contextlib import contextmanager

REPORT_EVERY = 10.0  # seconds between lines of a long stage when stderr is not a terminal


class Progress:
    """Stages of a long command, shown on stderr.

    Args:
        quiet: show nothing.
        stream: where to write (default: sys.stderr at the time of each stage).
        every: seconds between progress lines of a stage when the stream is not a terminal.
    """

    def __init__(self, quiet=False, stream=None, every=REPORT_EVERY):
        self.quiet, self.stream, self.every = quiet, stream, every

    def _stream(self):
        return self.stream if self.stream is not None else sys.stderr

    @contextmanager
    def stage(self, name, total=None, unit="step"):
        """Shows one stage; yields `advance(n=1)`, to call as its steps finish.

        Args:
            name: what the stage does, e.g. "attribution of drums".
            total: steps in the stage (None: unknown, or a single step).
            unit: what a step is ("patch", "file").
        """
        stream = self._stream()
        if self.quiet:
            yield lambda n=1: None
            return
        if getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm

            with tqdm(total=total, desc=name, unit=unit, file=stream, leave=True) as bar, \
                    _every(self.every, bar.refresh):
                yield bar.update
            return
        began = time.monotonic()
        done = 0
        units = unit + ("es" if unit.endswith(("ch", "sh", "s")) else "s")
        of = f"/{total}" if total else ""
        print(f"{name}: started ({total} {units})" if total else f"{name}: started", file=stream, flush=True)

        def report():
            so_far = f"{done}{of} {units} done" if total else "working"
            print(f"{name}: {so_far}, {time.monotonic() - began:.0f} s", file=stream, flush=True)

        def advance(n=1):
            nonlocal done
            done += n

        with _every(self.every, report):
            yield advance
        print(f"{name}: done in {time.monotonic() - began:.0f} s", file=stream, flush=True)


@contextmanager
def _every(seconds, action):
    """Calls `action()` from a background thread every `seconds` while the block runs."""
    stop = threading.Event()

    def loop():
        while not stop.wait(seconds):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


SILENT = Progress(quiet=True)
