"""The musiczoo command: list, tag (text, json, csv, plots, bad files), features."""

import json

import numpy as np

from fixtures import synth
from zoo.cli import main


def test_list_prints_the_catalog(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("timbral", "temporal", "timbral_temporal", "vgg", "crnn"):
        assert name in out
    assert "787,159" in out and "605,748" in out


def test_tag_json_gives_every_tag(example_path, capsys):
    assert main(["tag", str(example_path), "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["file"] == str(example_path) and record["model"] == "timbral_temporal"
    assert len(record["tags"]) == 50 and record["duration"] == 20.0


def test_folder_with_a_corrupt_file(tmp_path, write_audio, capsys):
    folder = tmp_path / "music"
    folder.mkdir()
    write_audio("music/a.wav", synth("chords", 4.0), 16000)
    write_audio("music/sub/b.flac", synth("noise", 4.0, sample_rate=44100), 44100)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    status = main(["tag", str(folder), "--format", "json"])
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert status == 1
    assert sorted(r["file"].rsplit("/", 1)[1] for r in records if "tags" in r) == ["a.wav", "b.flac"]
    errors = [r for r in records if "error" in r]
    assert len(errors) == 1 and "broken.wav" in errors[0]["error"]
    assert captured.err.count("error:") == 1


def test_csv_and_plot(tmp_path, write_audio, capsys):
    path = write_audio("song.wav", synth("chords", 7.0), 16000)
    assert main(["tag", str(path), "--format", "csv", "--plot", str(tmp_path / "plots")]) == 0
    header, row = capsys.readouterr().out.strip().splitlines()
    assert header.split(",")[0] == "file" and len(header.split(",")) == 51
    assert (tmp_path / "plots" / "song.png").stat().st_size > 1000


def test_features_writes_one_npz_per_file(tmp_path, write_audio):
    path = write_audio("song.wav", synth("chords", 7.0), 16000)
    assert main(["features", str(path), "--layer", "penultimate", "--layer", "cnn1", "--out", str(tmp_path / "f")]) == 0
    data = np.load(tmp_path / "f" / "song.npz")
    assert data["penultimate"].shape == (3, 200) and data["cnn1"].shape[1] == 64
    assert len(data["cnn1_times"]) == len(data["cnn1"])
