"""Progress on stderr: a line per stage (and every few seconds) off a terminal, nothing when quiet."""

import io
import time

from zoo.progress import Progress


def test_lines_off_a_terminal_even_inside_a_long_step():
    stream = io.StringIO()
    with Progress(stream=stream, every=0.05).stage("attribution of drums", total=3, unit="patch") as advance:
        advance()
        time.sleep(0.3)  # one long step: the clock keeps reporting
        advance(2)
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "attribution of drums: started (3 patches)"
    during = [line.split(", ")[0] for line in lines[1:-1]]
    assert during.count("attribution of drums: 1/3 patches done") >= 3
    assert during.count("attribution of drums: 3/3 patches done") >= 3
    assert lines[-1].startswith("attribution of drums: done in ")


def test_quiet_prints_nothing():
    stream = io.StringIO()
    with Progress(quiet=True, stream=stream).stage("filters") as advance:
        advance()
    assert stream.getvalue() == ""
