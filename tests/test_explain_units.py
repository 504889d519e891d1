"""Each unit's favourite excerpts: the right patches, K per unit, bad files reported, audio cut where it belongs."""

import json

import numpy as np
import pytest
import soundfile

import zoo
from fixtures import synth
from zoo.cli import main
from musiczoo_runtime.contract import HOP_LENGTH
from zoo.explain import UnitSearch, report
from zoo.explain.network import open_network
from zoo.explain.units import segments
from musiczoo_runtime.audio import from_array, open_audio
from zoo.signal.streaming import stream_patches

KINDS = ("noise", "sweep", "chords", "clicks")


def write_collection(folder, count, corrupt=True):
    """`count` synthesized WAV files of 3.5 to 8 s (plus one corrupt file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        audio = synth(KINDS[i % 4], 3.5 + (i % 10) * 0.5, seed=i) * (0.3 + 0.07 * (i % 10))
        soundfile.write(folder / f"clip{i:02d}.wav", audio, 16000)
    if corrupt:
        (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio")
    return sorted(folder.glob("*.wav"))


@pytest.mark.slow
def test_the_kept_excerpts_are_each_units_best_patches(tmp_path):
    files = write_collection(tmp_path / "in", 5, corrupt=False)
    search = UnitSearch("timbral_temporal", "mtt", "cnn3", top=3, per_file=2)
    assert all(isinstance(n, int) for _, n in search.scan(files))
    function = open_network("timbral_temporal", "mtt").function(("cnn3",))
    scores = []  # brute force: every patch of every file, scored one by one
    for index, path in enumerate(files):
        for start, patch in stream_patches(open_audio(path), 3.0, "repeat", 60.0, {}):
            values = np.asarray(function(patch[None])[0])[0]
            scores.append((index, start, values.max(axis=0)))
    table = np.stack([s for _, _, s in scores])
    for unit in range(64):
        expected, per_file = [], {}
        for row in np.argsort(-table[:, unit], kind="stable"):
            file, start, _ = scores[row]
            if per_file.get(file, 0) < 2:
                per_file[file] = per_file.get(file, 0) + 1
                expected.append((file, start))
        kept = search.excerpts(unit)
        assert [(e.file, e.start) for e in kept] == expected[:3]
        rows = [[s[:2] for s in scores].index(key) for key in expected[:3]]
        np.testing.assert_allclose([e.score for e in kept], table[rows, unit], rtol=1e-4)  # batch of 8 against 1


def test_segments_cut_the_samples_at_each_start():
    audio = (np.arange(100_000) / 100_000).astype(np.float32)  # distinct values in [0, 1)
    source = from_array(audio, 16000)
    got = dict(segments(source, [0, 5 * HOP_LENGTH, 90_000], 48_000))
    np.testing.assert_array_equal(got[0], audio[:48_000])
    np.testing.assert_array_equal(got[5 * HOP_LENGTH], audio[1280:49_280])
    np.testing.assert_array_equal(got[90_000], audio[90_000:])  # past the end: shorter


def test_bad_arguments_and_unknown_layers_are_zoo_errors():
    with pytest.raises(zoo.ZooError, match=r"has no layer 'cnn7'; layers you can look at: timbral, temporal"):
        UnitSearch("timbral_temporal", "mtt", "cnn7")
    with pytest.raises(zoo.ZooError, match="by must be one of peak, mean"):
        UnitSearch("timbral_temporal", "mtt", "cnn3", by="median")
    with pytest.raises(zoo.ZooError, match="top must be a positive integer"):
        UnitSearch("timbral_temporal", "mtt", "cnn3", top=0)


def test_the_report_names_a_bad_layer_or_a_folder_without_units(tmp_path):
    song = tmp_path / "song.wav"
    soundfile.write(song, synth("chords", 3.0), 16000)
    with pytest.raises(zoo.ZooError, match=r"crnn has no layer 'cnn3'; layers you can look at: frame_features"):
        report(song, tmp_path / "out", model="crnn", layers=["cnn3"])
    with pytest.raises(zoo.ZooError, match="not a folder written by `musiczoo explain units`"):
        report(tmp_path, tmp_path / "out")


@pytest.mark.slow
def test_cli_over_30_files_with_one_corrupt(tmp_path, capsys):
    files = write_collection(tmp_path / "in", 29)
    assert len(files) == 30
    status = main(["explain", "units", str(tmp_path / "in"), "--model", "timbral_temporal", "--layer", "cnn2",
                   "--top", "4", "--by", "mean", "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert status == 1
    assert "ranking units" not in captured.err and "cutting excerpts" not in captured.err  # --quiet: no bars
    assert [line for line in captured.err.splitlines() if line.startswith("error:")] == [
        line for line in captured.err.splitlines() if "corrupt.wav" in line and line.startswith("error:")]
    assert "corrupt.wav" in captured.err
    doc = json.loads((tmp_path / "out" / "units.json").read_text())
    assert len(doc["files"]) == 29 and [f["file"] for f in doc["failed"]] == [str(tmp_path / "in" / "corrupt.wav")]
    assert len(doc["units"]) == 64
    for unit in doc["units"]:
        assert len(unit["excerpts"]) == 4
        assert len({e["file"] for e in unit["excerpts"]}) == 4  # at most one excerpt per recording
        assert [e["score"] for e in unit["excerpts"]] == sorted((e["score"] for e in unit["excerpts"]), reverse=True)
        over = unit["over_represented"]
        assert over["tag"] in doc["collection_tags"] and over["difference"] >= 0
        for excerpt in unit["excerpts"]:
            info = soundfile.info(tmp_path / "out" / excerpt["audio"])
            assert info.samplerate == 16000 and 0.5 < info.duration <= 3.0
            assert (tmp_path / "out" / excerpt["thumbnail"]).stat().st_size > 0
            assert len(excerpt["top_tags"]) == 3


def test_cli_with_no_readable_file_fails_without_writing(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEnot audio")
    assert main(["explain", "units", str(tmp_path / "in"), "--layer", "cnn3", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "bad.wav" in err and "no recording could be read" in err
    assert not (tmp_path / "out" / "units.json").exists()
    with pytest.raises(SystemExit) as usage:
        main(["explain", "units", str(tmp_path / "in"), "--layer", "cnn3", "--top", "0", "--out", "x"])
    assert usage.value.code == 2 and "--top must be a positive integer" in capsys.readouterr().err
