"""Property tests (Hypothesis) over the audio reader and the command line's file loop.

Invariant: every input yields a result or that input's `ZooError` (naming it), never another
exception, and one bad input changes nothing for the others; any Python value given to the API's door
as audio, layers or sample rate gives a result or a `ZooError` (issue 25). The inputs: random bytes (bare or
behind a real container's magic), truncations, bit flips and spliced garbage of valid WAV, FLAC,
OGG and MP3 files, valid files and arrays of 1 to 16 channels at 1 to 192 kHz in every sample
type, from empty to several minutes long. `make test` runs the bounded "musiczoo" profile
(tests/conftest.py); `pytest tests/test_hardening_properties.py --hypothesis-profile=long` runs 20
times more examples.
"""

import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

import zoo
from fixtures import synth
from zoo import ZooError
from musiczoo_runtime.checks import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from musiczoo_runtime.results import Taggram
from zoo.cli import main
from musiczoo_runtime import audio

EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".au", ".m4a")
MAGIC = (b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS\x00\x02", b"ID3\x03\x00\x00", b"\xff\xfb\x90\x64",
         b"FORM\x00\x00\x00\x00AIFF", b".snd")
MAX_SAMPLES = 3_000_000  # per generated recording (samples x channels): minutes at low rates, bounded memory


def budget(share):
    """Settings with a share of the loaded profile's examples, for tests whose examples cost more."""
    return settings(max_examples=max(3, int(settings.default.max_examples * share)))


def read_or_error(path):
    """Reads a file through the zoo's reader: its 16 kHz waveform, or None after a ZooError naming it."""
    try:
        waveform = audio.open_file(path).read()
    except ZooError as error:
        assert str(path) in str(error)
        return None
    assert waveform.dtype == np.float32 and waveform.ndim == 1 and np.all(np.isfinite(waveform))
    return waveform


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    """A valid file per format (2 s of stereo music at 44.1 kHz): name -> bytes."""
    folder = tmp_path_factory.mktemp("valid")
    y = 0.5 * synth("chords", 2.0, 44100) + 0.2 * synth("clicks", 2.0, 44100)
    files = {}
    for ext, fmt, subtype in [("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"),
                              ("mp3", "MP3", "MPEG_LAYER_III")]:
        path = folder / f"valid.{ext}"
        soundfile.write(path, np.stack([y, 0.5 * y], axis=1), 44100, format=fmt, subtype=subtype)
        files[ext] = path.read_bytes()
    return files


@given(content=st.binary(max_size=4096), magic=st.sampled_from(MAGIC), ext=st.sampled_from(EXTENSIONS))
def test_random_bytes_are_read_or_refused_with_a_zoo_error(content, magic, ext, tmp_path):
    path = tmp_path / f"random{ext}"
    path.write_bytes(magic + content)
    read_or_error(path)


@given(data=st.data(), ext=st.sampled_from(("wav", "flac", "ogg", "mp3")),
       mutation=st.sampled_from(("truncate", "flip bits", "splice")))
def test_damaged_real_files_are_read_or_refused_with_a_zoo_error(data, ext, mutation, valid_files, tmp_path):
    content = bytearray(valid_files[ext])
    if mutation == "truncate":
        content = content[:data.draw(st.integers(0, len(content)), label="cut at")]
    elif mutation == "flip bits":
        for position in data.draw(st.lists(st.integers(0, 8 * len(content) - 1), min_size=1, max_size=64),
                                  label="bits"):
            content[position // 8] ^= 1 << (position % 8)
    else:
        start = data.draw(st.integers(0, len(content)), label="at")
        content[start:start + data.draw(st.integers(0, 4096), label="length")] = data.draw(
            st.binary(min_size=1, max_size=4096), label="garbage")
    path = tmp_path / f"damaged.{ext}"
    path.write_bytes(bytes(content))
    read_or_error(path)


SUBTYPES = {"WAV": ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"), "FLAC": ("PCM_S8", "PCM_16", "PCM_24")}


@st.composite
def recordings(draw):
    """(format, subtype, channels, rate, samples) of a valid file, within `MAX_SAMPLES`."""
    fmt = draw(st.sampled_from(("WAV", "FLAC")))
    channels = draw(st.integers(1, 16 if fmt == "WAV" else 8))
    rate = draw(st.integers(MIN_SAMPLE_RATE, 192_000))
    samples = draw(st.integers(0, min(MAX_SAMPLES // channels, 300 * rate)))
    return fmt, draw(st.sampled_from(SUBTYPES[fmt])), channels, rate, samples


@budget(0.5)
@given(recording=recordings(), seed=st.integers(0, 2**16))
def test_valid_files_of_any_layout_are_read_at_16k(recording, seed, tmp_path):
    fmt, subtype, channels, rate, samples = recording
    rng = np.random.default_rng(seed)
    path = tmp_path / f"valid.{fmt.lower()}"
    try:
        soundfile.write(path, rng.uniform(-0.9, 0.9, (samples, channels)).astype(np.float32), rate, format=fmt,
                        subtype=subtype)
    except soundfile.LibsndfileError:
        reject()  # a combination libsndfile cannot encode (e.g. FLAC at 65536 Hz) is no input for the reader
    waveform = read_or_error(path)
    if samples == 0:
        assert waveform is None  # an empty recording is that file's error
    else:
        assert waveform is not None and abs(len(waveform) - samples * 16000 / rate) <= 1


@st.composite
def arrays(draw):
    """Arrays as users pass them: any dtype, 1-D or 2-D in either channel layout, sometimes bad values."""
    channels = draw(st.integers(1, 16))
    rate = draw(st.integers(MIN_SAMPLE_RATE, 192_000))
    samples = draw(st.integers(0, min(MAX_SAMPLES // channels, 300 * rate)))
    dtype = draw(st.sampled_from((np.float16, np.float32, np.float64, np.int16, np.int32)))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).uniform(-1, 1, (samples, channels))
    if samples and draw(st.booleans()):
        values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from((np.nan, np.inf, 1e6, 40.0)))
    layout = draw(st.sampled_from(("samples, channels", "channels, samples", "mono")))
    if layout == "mono":
        values = values[:, 0]
    elif layout == "channels, samples":
        values = values.T
    with np.errstate(invalid="ignore"):  # NaN cast to an integer dtype: any value will do, it is refused
        return values.astype(dtype), rate


@budget(0.5)
@given(array=arrays())
def test_arrays_are_read_or_refused_with_a_zoo_error(array):
    data, rate = array
    try:
        waveform = audio.from_array(data, rate).read()
    except ZooError:
        return
    frames = max(data.shape) if data.ndim == 2 and min(data.shape) <= audio.MAX_CHANNELS else len(data)
    assert waveform.dtype == np.float32 and abs(len(waveform) - frames * 16000 / rate) <= 1


def whole_rate(rate):
    """True for a float holding a whole number of Hz in range (16000.0), which is accepted (issue 25 case 16)."""
    return math.isfinite(rate) and rate.is_integer() and MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE


@given(rate=st.one_of(st.integers(-10, MIN_SAMPLE_RATE - 1), st.integers(MAX_SAMPLE_RATE + 1, 10**9),
                      st.floats(allow_nan=True).filter(lambda rate: not whole_rate(rate)), st.booleans(),
                      st.none()))
def test_sample_rates_out_of_range_are_refused(rate):
    with pytest.raises(ZooError, match="sample rate must be a whole number of Hz"):
        audio.from_array(np.zeros(100, np.float32), rate)


# The API's door (issue 25): any Python value given as audio, layers or sample rate.

SAMPLES = st.one_of(st.floats(-2, 2), st.floats(allow_nan=True, allow_infinity=True), st.integers(-40000, 40000),
                    st.booleans(), st.none(), st.text(max_size=4))
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.binary(max_size=12), st.builds(Path, st.text(max_size=12)),
    st.lists(SAMPLES, max_size=6), st.tuples(SAMPLES, SAMPLES), st.sets(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.lists(st.lists(st.floats(-1, 1), max_size=3),
                                                                              max_size=3),
    st.builds(object), st.sampled_from([np.zeros((2, 2, 2), np.float32), np.zeros((3, 3), np.float32),
                                        np.full(5, 0.1, np.float32), np.arange(5), np.array("x")]),
)


def result_or_zoo_error(call):
    """Runs `call`; a ZooError (or a result) is fine, any other exception fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # silent or short inputs warn; that is not what is tested here
            return call()
    except ZooError as error:
        return error


@budget(0.25)
@given(audio_value=ANY_VALUE, rate=st.one_of(st.none(), st.just(16000), st.just(16000.0), ANY_VALUE))
def test_any_value_as_audio_or_rate_gives_a_result_or_a_zoo_error(audio_value, rate):
    result_or_zoo_error(lambda: zoo.tag(audio_value, sample_rate=rate, runtime="tensorflow"))
    outcome = result_or_zoo_error(lambda: list(zoo.tag_many(audio_value, sample_rate=rate, runtime="tensorflow")))
    if not isinstance(outcome, ZooError):
        assert all(isinstance(result, (ZooError, Taggram)) for _, result in outcome)


@budget(0.25)
@given(layers=ANY_VALUE)
def test_any_value_as_layers_gives_a_result_or_a_zoo_error(layers):
    result_or_zoo_error(lambda: zoo.extract(np.full(8000, 0.1, np.float32), sample_rate=16000, layers=layers,
                                            runtime="tensorflow"))


# The command line's file loop: a folder of good files and bad ones, tagged in one run.

GOOD = {"g1.wav": ("chords", 2.5, 16000), "g2.flac": ("noise", 4.0, 22050), "g3.ogg": ("sweep", 3.5, 44100),
        "g4.wav": ("clicks", 7.0, 8000)}
BAD = ("random bytes", "truncated", "empty", "broken link", "nan", "too loud", "unreadable", "garbage header")


def write_good(folder, name):
    kind, seconds, rate = GOOD[name]
    fmt = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[name.rsplit(".", 1)[1]]
    subtype = "VORBIS" if fmt == "OGG" else "PCM_16"
    soundfile.write(folder / name, synth(kind, seconds, rate), rate, format=fmt, subtype=subtype)


def write_bad(folder, name, kind, rng):
    """Writes a bad input; returns a function that makes it unreadable (or None)."""
    path = folder / name
    if kind == "random bytes":
        path.write_bytes(rng.bytes(int(rng.integers(1, 5000))))
    elif kind == "truncated":
        buffer = io.BytesIO()
        soundfile.write(buffer, synth("chords", 3.0), 16000, format="WAV")
        path.write_bytes(buffer.getvalue()[: int(rng.integers(12, 40000))])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "broken link":
        path.symlink_to(folder / "missing-target.wav")
    elif kind in ("nan", "too loud"):
        y = synth("noise", 3.0)
        y[int(rng.integers(0, len(y)))] = np.nan if kind == "nan" else 1e6
        soundfile.write(path, y, 16000, format="WAV", subtype="FLOAT")
    elif kind == "unreadable":
        soundfile.write(path, synth("chords", 3.0), 16000, format="WAV")
        return path
    else:
        path.write_bytes(b"RIFF\xff\xff\xff\xffWAVEfmt " + rng.bytes(200))
    return None


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Each good file's clip-level tags, tagged alone."""
    folder = tmp_path_factory.mktemp("references")
    out = {}
    for name in GOOD:
        write_good(folder, name)
        out[name] = zoo.tag(folder / name).clip_probabilities
    return out


@budget(0.25)
@given(good=st.lists(st.sampled_from(sorted(GOOD)), min_size=1, max_size=3, unique=True),
       bad=st.lists(st.sampled_from(BAD), max_size=3), seed=st.integers(0, 2**16))
def test_the_file_loop_reports_each_bad_file_and_keeps_every_good_result(good, bad, seed, references, tmp_path_factory,
                                                                          capsys, monkeypatch):
    import builtins

    assume(good or bad)
    folder = tmp_path_factory.mktemp("loop")
    rng = np.random.default_rng(seed)
    for name in good:
        write_good(folder, name)
    unreadable = set()
    bad_names = [f"bad{i}_{kind.replace(' ', '_')}.wav" for i, kind in enumerate(bad)]
    for name, kind in zip(bad_names, bad):
        victim = write_bad(folder, name, kind, rng)
        if victim is not None:
            unreadable.add(str(victim))
    real_open = builtins.open

    def guarded(file, *args, **kwargs):  # what a non-root user meets for a file without read permission
        if str(file) in unreadable:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    capsys.readouterr()
    status = main(["tag", str(folder), "--format", "json"])
    captured = capsys.readouterr()
    records = {json.loads(line)["file"].rsplit("/", 1)[1]: json.loads(line) for line in captured.out.splitlines()}
    assert set(records) == set(good) | set(bad_names)
    for name in good:
        np.testing.assert_allclose([records[name]["tags"][t] for t in zoo.card("timbral_temporal").tags],
                                   references[name], atol=1e-5)
    failed = [name for name in bad_names if "error" in records[name]]
    assert set(failed) == set(bad_names)  # every kind of bad input here is refused, none tagged
    assert all(records[name]["error"].startswith(str(folder / name)) for name in failed)
    assert status == (1 if failed else 0)
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == len(failed) and "Traceback" not in captured.err
