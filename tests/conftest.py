"""Shared fixtures: the bundled clip and synthesized audio written in real formats."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "traveling_minstrels.ogg"


def synth(kind, seconds, sample_rate=16000, seed=0):
    """Synthesized mono test audio `[samples]` float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    if kind == "noise":
        y = 0.1 * rng.standard_normal(t.size)
    elif kind == "sweep":
        y = 0.5 * np.sin(2 * np.pi * (50 * t + (7000 - 50) / (2 * seconds) * t ** 2))
    elif kind == "chords":
        y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0))
    elif kind == "clicks":
        y = np.zeros(t.size)
        y[:: sample_rate // 4] = 0.9
        y = np.convolve(y, np.exp(-np.arange(400) / 40.0), mode="same")
    elif kind == "silence":
        y = np.zeros(t.size)
    else:
        raise ValueError(kind)
    return y.astype(np.float32)


@pytest.fixture(scope="session")
def example_path():
    return EXAMPLE


@pytest.fixture
def write_audio(tmp_path):
    """Writes audio to a file in tmp_path: write_audio(name, data, sample_rate, format=None, subtype=None).

    Lossy formats (OGG/Vorbis, MP3) are encoded at the encoder's best quality, as collections usually are.
    """

    def write(name, data, sample_rate, format=None, subtype=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lossy = subtype in ("VORBIS", "MPEG_LAYER_III")
        soundfile.write(path, data, sample_rate, format=format, subtype=subtype,
                        **({"compression_level": 0.0} if lossy else {}))
        return path

    return write


_MEASUREMENTS = []


@pytest.fixture
def report(request):
    """report(text): a measured number shown in the 'measurements' section of the test summary."""

    def add(text):
        _MEASUREMENTS.append(f"{request.node.nodeid}: {text}")

    return add


def pytest_terminal_summary(terminalreporter):
    if _MEASUREMENTS:
        terminalreporter.section("measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)
