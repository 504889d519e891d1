"""Audio input in every supported format, rate and channel count; bad files; chunk invariance."""

import json

import librosa
import numpy as np
import pytest
import soundfile

import zoo
from fixtures import synth
from zoo import ZooError
from musiczoo_runtime import audio
from zoo.cli import main

FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
           "mp3": ("MP3", "MPEG_LAYER_III")}
RATES = (8000, 22050, 44100, 48000)


def music(seconds, sample_rate, channels):
    """Synthesized 'music' at a given rate: chords, a click track and a little noise."""
    y = synth("chords", seconds, sample_rate) + 0.5 * synth("clicks", seconds, sample_rate)
    y += synth("noise", seconds, sample_rate, seed=4) * 0.2
    y = 0.8 * y / np.abs(y).max()
    return np.stack([y, 0.7 * y], axis=1) if channels == 2 else y


def tag_folder(folder, capsys, *extra):
    status = main(["tag", str(folder), "--format", "json", *extra])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return status, {record["file"].rsplit("/", 1)[1]: record for record in records}


@pytest.mark.slow
def test_every_format_rate_and_channel_count(tmp_path, write_audio, capsys, report):
    for rate in RATES:
        for channels in (1, 2):
            data = music(6.0, rate, channels)
            for ext, (fmt, subtype) in FORMATS.items():
                write_audio(f"set/{rate}_{channels}ch.{ext}", data, rate, fmt, subtype)
    status, records = tag_folder(tmp_path / "set", capsys)
    assert status == 0 and len(records) == len(RATES) * 2 * len(FORMATS)
    worst = 0.0
    for rate in RATES:
        for channels in (1, 2):
            reference = records[f"{rate}_{channels}ch.wav"]
            for ext in FORMATS:
                record = records[f"{rate}_{channels}ch.{ext}"]
                assert len(record["tags"]) == 50 and record["duration"] == pytest.approx(6.0, abs=0.06)
                difference = max(abs(record["tags"][t] - p) for t, p in reference["tags"].items())
                worst = max(worst, difference)
    report(f"synthesized set: largest clip-probability gap between formats (vs WAV) {worst:.4f} (bar 0.02)")
    assert worst < 0.02


@pytest.mark.slow
def test_the_bundled_clip_in_every_format(tmp_path, example_path, write_audio, capsys, report):
    data, rate = soundfile.read(example_path, dtype="float32")
    for ext, (fmt, subtype) in FORMATS.items():
        write_audio(f"clip/clip.{ext}", data, rate, fmt, subtype)
    status, records = tag_folder(tmp_path / "clip", capsys)
    original = zoo.tag(example_path).clip_probabilities
    tags = zoo.card("timbral_temporal")["tags"]
    worst = max(abs(records[f"clip.{ext}"]["tags"][t] - p) for ext in FORMATS for t, p in zip(tags, original))
    report(f"bundled clip: largest clip-probability gap between formats {worst:.4f} (bar 0.02)")
    assert status == 0 and worst < 0.02


def write_bad(kind, folder, write_audio):
    """Writes one bad file of `kind` into folder; returns its name."""
    good = music(5.0, 44100, 2)
    if kind == "truncated wav":
        path = write_audio(f"{folder}/cut.wav", good, 44100)
    elif kind == "truncated flac":
        path = write_audio(f"{folder}/cut.flac", good, 44100, "FLAC")
    elif kind == "truncated ogg":
        path = write_audio(f"{folder}/cut.ogg", good, 44100, "OGG", "VORBIS")
    elif kind == "truncated mp3":
        path = write_audio(f"{folder}/cut.mp3", good, 44100, "MP3", "MPEG_LAYER_III")
    elif kind == "nan":
        good[2000:2010] = np.nan
        return write_audio(f"{folder}/nan.wav", good, 44100, "WAV", "FLOAT").name
    else:
        path = write_audio(f"{folder}/placeholder.wav", good, 44100)
        path.unlink()
        name = {"empty": "empty.flac", "all-zero bytes": "zeros.wav", "non-audio": "notes.mp3"}[kind]
        path = path.with_name(name)
        content = {"empty": b"", "all-zero bytes": bytes(50_000), "non-audio": b"not music\n" * 5000}[kind]
        path.write_bytes(content)
        return name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path.name


BAD_KINDS = ["truncated wav", "truncated flac", "truncated ogg", "truncated mp3", "nan", "empty",
             "all-zero bytes", "non-audio"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_one_bad_file_among_good_ones(kind, tmp_path, write_audio, capsys):
    write_audio("set/a.wav", music(4.0, 22050, 1), 22050)
    write_audio("set/b.flac", music(4.0, 48000, 2), 48000, "FLAC")
    bad = write_bad(kind, "set", write_audio)
    status = main(["tag", str(tmp_path / "set"), "--format", "json"])
    captured = capsys.readouterr()
    records = {json.loads(line)["file"].rsplit("/", 1)[1]: json.loads(line) for line in captured.out.splitlines()}
    assert status == 1
    assert "tags" in records["a.wav"] and "tags" in records["b.flac"]
    assert bad in records[bad]["error"]
    error_lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and bad in error_lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("kind,reason", [("truncated wav", "truncated"), ("truncated ogg", "truncated"),
                                         ("truncated mp3", "truncated"), ("nan", "NaN"),
                                         ("empty", "empty"), ("non-audio", "not a readable audio file")])
def test_bad_file_reasons(kind, reason, tmp_path, write_audio):
    name = write_bad(kind, "bad", write_audio)
    with pytest.raises(ZooError, match=reason):
        zoo.tag(tmp_path / "bad" / name)


def test_arrays_in_both_channel_layouts_and_rates():
    stereo = music(4.0, 44100, 2)
    a = zoo.tag(stereo, sample_rate=44100).clip_probabilities
    b = zoo.tag(stereo.T.copy(), sample_rate=44100).clip_probabilities
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ZooError, match="float"):
        zoo.tag((stereo * 32767).astype(np.int16), sample_rate=44100)


@pytest.mark.slow
def test_resampling_matches_librosa_soxr_hq(write_audio):
    data = music(3.0, 44100, 1)
    path = write_audio("r.wav", data.astype(np.float32), 44100, "WAV", "FLOAT")
    ours, duration = audio.read_file(path)
    reference = librosa.load(path, sr=16000)[0]  # librosa's default resampler is soxr_hq
    assert duration == pytest.approx(3.0)
    np.testing.assert_allclose(ours, reference, atol=1e-6)


@pytest.mark.slow
def test_chunk_size_does_not_change_the_taggram(tmp_path, write_audio, report):
    rng = np.random.default_rng(11)
    minutes = 10
    pieces = [music(30.0, 44100, 2) * rng.uniform(0.2, 1.0) for _ in range(minutes * 2)]
    path = write_audio("long.flac", np.concatenate(pieces), 44100, "FLAC")
    one_go = zoo.tag(path, chunk_seconds=minutes * 60 + 1)
    tiny = zoo.tag(path, chunk_seconds=0.37)
    difference = float(np.abs(one_go.probabilities - tiny.probabilities).max())
    report(f"10-minute file, one chunk vs 0.37 s chunks: max taggram |diff| {difference:.2e} (bar 1e-5)")
    assert one_go.probabilities.shape == (201, 50)  # 200 whole patches of 2.992 s and a padded 1.6 s tail
    assert difference <= 1e-5


def test_tensorflow_io_decoder_reads_what_libsndfile_reads(tmp_path):
    """The optional tensorflow-io fallback (the io extra, where its wheels exist) decodes a WAV as libsndfile does."""
    pytest.importorskip("tensorflow_io", reason="tensorflow-io is not installed (the io extra, Python <= 3.12)")
    path = tmp_path / "chords.wav"
    soundfile.write(path, music(2.0, 22050, 2), 22050, subtype="PCM_16")
    via_io, via_sndfile = audio._tensorflow_io_source(path), audio._soundfile_source(path)
    assert (via_io.sample_rate, via_io.frames) == (via_sndfile.sample_rate, via_sndfile.frames) == (22050, 44100)
    np.testing.assert_array_equal(via_io.read(), via_sndfile.read())


def test_an_mp3_whose_estimated_length_exceeds_its_audio_is_read(tmp_path, write_audio, monkeypatch):
    """libsndfile estimates an MP3's length when no header states it (real previews and samples read up to 6%
    long); that estimate is no sign of a cut file, so it is not held against the decoded audio."""
    path = write_audio("estimate.mp3", music(4.0, 44100, 1), 44100, "MP3", "MPEG_LAYER_III")
    real_frames = soundfile.SoundFile.frames
    monkeypatch.setattr(soundfile.SoundFile, "frames",
                        property(lambda self: int(real_frames.fget(self) * 1.06)))
    assert abs(audio.open_file(path).read().size / 16000 - 4.0) < 0.1
    wav = write_audio("estimate.wav", music(4.0, 44100, 1), 44100)
    with pytest.raises(ZooError, match="truncated"):  # an exact header's length still is
        audio.open_file(wav).read()


def test_a_cut_mp3_is_told_by_its_last_frame(tmp_path, write_audio):
    from musiczoo_runtime.containers import mp3_cut_bytes

    path = write_audio("whole.mp3", music(3.0, 44100, 1), 44100, "MP3", "MPEG_LAYER_III")
    data = path.read_bytes()
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0x10, 0]) + bytes(2048)  # an ID3v2 tag of 2048 bytes in front
    (tmp_path / "tagged.mp3").write_bytes(tag + data)
    (tmp_path / "cut.mp3").write_bytes(tag + data[:len(data) * 2 // 3])
    assert mp3_cut_bytes(path) == 0 and mp3_cut_bytes(tmp_path / "tagged.mp3") == 0
    assert mp3_cut_bytes(tmp_path / "cut.mp3") > 0
    with pytest.raises(ZooError, match="truncated MP3"):
        audio.open_file(tmp_path / "cut.mp3")
