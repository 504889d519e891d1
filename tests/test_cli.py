"""The musiczoo command: list, tag (text, json, csv, plots, bad files), features."""

import json

import numpy as np
import pytest

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


def _subcommand_parsers(parser):
    """Every leaf sub-command parser under `parser`, by its prog ("musiczoo explain units")."""
    import argparse

    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(_subcommand_parsers(sub) or {sub.prog: sub})
    return found


def test_weights_none_is_the_random_initialisation_wherever_it_makes_sense():
    from zoo.cli import parser

    accepted = [["card", "vgg"], ["extract", "a.wav", "--out", "o"], ["evaluate", "data", "--out", "o"],
                ["finetune", "data", "--out", "o"], ["explain", "filters", "vgg", "--out", "o"],
                ["explain", "activations", "a.wav", "--out", "o"],
                ["explain", "units", "d", "--layer", "x", "--out", "o"], ["explain", "report", "a.wav", "--out", "o"],
                ["explain", "attribute", "a.wav", "--tag", "rock", "--out", "o"],
                ["explain", "auralise", "a.wav", "--layer", "x", "--top", "1", "--out", "o"],
                ["explain", "branches", "a.wav", "--out", "o"]]
    for argv in accepted:
        assert parser().parse_args([*argv, "--weights", "None"]).weights is None, argv
        assert parser().parse_args(argv).weights == "mtt", argv
    for argv in (["tag", "a.wav"], ["export", "vgg", "--out", "o"], ["explain", "scales", "a.wav", "--out", "o"]):
        with pytest.raises(SystemExit):
            parser().parse_args([*argv, "--weights", "none"])


def test_tag_refuses_random_weights_in_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["tag", "a.wav", "--weights", "none"])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert err.strip().splitlines()[-1].endswith("argument --weights: this command needs trained weights (mtt or "
                                                 "msd): none, a random initialisation, has no tags")


def test_every_model_and_weights_option_has_the_one_help():
    from zoo.cli import parser

    helps = {}
    for prog, sub in _subcommand_parsers(parser()).items():
        for action in sub._actions:
            if {"--model", "--weights"} & set(action.option_strings) or action.dest == "model":
                helps.setdefault(action.dest, set()).add(action.help.split(" (default")[0].split(";")[0])
    assert helps["model"] <= {"catalog name", "catalog name, or a folder written by `musiczoo finetune`"}
    assert helps["weights"] <= {"weight tag (mtt, msd) or the model's shipped .weights.h5 file",
                                "weight tag (mtt, msd) or the model's shipped .weights.h5 file, or none (random "
                                "initialisation)"}


def test_each_rule_has_one_home():
    """issue 27: the --model/--weights/--quiet options, the weight-file test and the positive-number messages are
    written once, in the ground floor (`musiczoo_runtime.cli_arguments` and `musiczoo_runtime.checks`)."""
    from fixtures import ROOT

    homes = {'"--model"': "cli_arguments.py", '"--weights"': "cli_arguments.py",
             'add_argument("--quiet"': "cli_arguments.py", 'endswith(".h5")': "checks.py",
             "must be a positive": "checks.py"}
    sources = [*(ROOT / "zoo").rglob("*.py"), *(ROOT / "runtime" / "musiczoo_runtime").rglob("*.py")]
    for text, home in homes.items():
        found = sorted({path.name for path in sources if text in path.read_text(encoding="utf-8")})
        assert found == [home], f"{text} is written in {found}"


def test_quiet_silences_the_progress_bar_of_the_file_loop(capsys):
    from musiczoo_runtime.cli_common import OK, each_result

    files = ["a.wav", "b.wav", "c.wav"]
    assert each_result(((name, None) for name in files), files, "counting", lambda path, result: None) == OK
    assert "counting" in capsys.readouterr().err
    assert each_result(((name, None) for name in files), files, "counting", lambda path, result: None, quiet=True) == OK
    assert capsys.readouterr().err == ""
