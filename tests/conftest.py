"""Shared pytest fixtures: the bundled clip, audio files written in real formats, measured numbers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import soundfile  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from fixtures import EXAMPLE  # noqa: E402

# Property tests (Hypothesis): `make test` runs the bounded, derandomized "musiczoo" profile (the same
# examples every run, a few minutes at most); `pytest --hypothesis-profile=long` draws 20 times more,
# at random. Neither keeps an example database (nothing is written into the checkout).
_HYPOTHESIS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
settings.register_profile("musiczoo", max_examples=40, derandomize=True, **_HYPOTHESIS)
settings.register_profile("long", max_examples=800, **_HYPOTHESIS)
settings.load_profile("musiczoo")  # --hypothesis-profile=NAME, when given, loads NAME after this


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


@pytest.fixture(scope="session")
def serving(tmp_path_factory):
    """The export's serving module of vgg (mtt), built and traced once: its signatures on bad requests."""
    from zoo.deploy.savedmodel import serving_module

    tags = tmp_path_factory.mktemp("tags") / "tags.txt"
    tags.write_text("x\n")
    return serving_module("vgg", "mtt", tags)
