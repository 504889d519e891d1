"""Progress on stderr: a line per stage (and every few seconds) off a terminal, nothing when quiet."""

import io

from zoo.progress import Progress


def test_lines_off_a_terminal():
    stream = io.StringIO()
    with Progress(stream=stream, every=0.0).stage("attribution of drums", total=3, unit="patch") as advance:
        for _ in range(3):
            advance()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "attribution of drums: started (3 patches)"
    assert [line.split(", ")[0] for line in lines[1:4]] == [f"attribution of drums: {i}/3 patches done"
                                                            for i in (1, 2, 3)]
    assert lines[-1].startswith("attribution of drums: done in ")


def test_quiet_prints_nothing():
    stream = io.StringIO()
    with Progress(quiet=True, stream=stream).stage("filters") as advance:
        advance()
    assert stream.getvalue() == ""
