"""musiczoo-runtime on its own: the command's formats, folders, per-file errors and exit statuses, the API's
result types, and that nothing heavy is imported. `make test-runtime` runs these in a fresh virtual
environment holding only `pip install ./runtime` (and pytest), so a TensorFlow import cannot hide."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

import musiczoo_runtime
from musiczoo_runtime.graphs import index
from musiczoo_runtime.results import Features, Taggram

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "traveling_minstrels.ogg"
HEAVY = ("tensorflow", "keras", "kapre", "librosa", "scipy")


def command(*args):
    """Runs `python -m musiczoo_runtime ARGS` in a fresh interpreter; returns the completed process."""
    return subprocess.run([sys.executable, "-m", "musiczoo_runtime", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def tone(path, seconds, rate=22050):
    """A 440 Hz tone with noise, written to `path` (WAV); returns the path."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(len(t)), rate)
    return path


def test_tag_extract_and_the_command_import_nothing_heavy(tmp_path):
    code = (
        "import sys\nimport musiczoo_runtime\nfrom musiczoo_runtime.cli import main\n"
        f"musiczoo_runtime.tag({str(EXAMPLE)!r}).top(3)\n"
        f"musiczoo_runtime.extract({str(EXAMPLE)!r}, model='vgg', weights='msd')\n"
        f"assert main(['tag', {str(EXAMPLE)!r}, '--format', 'json']) == 0\n"
        f"assert main(['extract', {str(EXAMPLE)!r}, '--out', {str(tmp_path)!r}]) == 0\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_list_prints_every_shipped_model():
    done = command("list")
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert names == list(index()) == musiczoo_runtime.list_models()
    assert {"timbral_temporal", "vgg", "crnn", "multiscale"} <= set(names)
    assert command("list", "timbral*").stdout.count("\n") == 3  # header, timbral, timbral_temporal


def test_every_graph_is_shipped_with_its_sha256_and_tags():
    from musiczoo_runtime.graphs import graph

    assert sum(len(entry["weights"]) for entry in index().values()) == 12
    network = graph("crnn", "msd")
    assert network.tags == index()["crnn"]["weights"]["msd"]["tags"] and len(network.tags) == 50


def test_tag_json_csv_text_and_a_failed_file(tmp_path):
    good = tone(tmp_path / "tone.wav", 4.0)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    done = command("tag", good, bad, "--format", "json")
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[0]["file"] == str(good) and records[0]["model"] == "timbral_temporal"
    assert records[0]["weights"] == "mtt" and records[0]["duration"] == pytest.approx(4.0, abs=1e-3)
    assert len(records[0]["tags"]) == 50 and all(0 <= p <= 1 for p in records[0]["tags"].values())
    assert records[1]["file"] == str(bad) and "bad.wav" in records[1]["error"]
    assert f"error: {bad}" in done.stderr

    rows = list(csv.reader(io.StringIO(command("tag", good, bad, "--format", "csv").stdout)))
    assert rows[0][0] == "file" and len(rows[0]) == 51
    assert rows[1][0] == str(good) and float(rows[1][1]) == pytest.approx(records[0]["tags"][rows[0][1]], abs=1e-6)
    assert rows[2] == [str(bad)] + [""] * 50

    text = command("tag", good, "--top", "3")
    assert text.returncode == 0
    path, tags = text.stdout.strip().split("\t")
    assert path == str(good) and len(tags.split(", ")) == 3


def test_folders_are_searched_and_mirrored_by_extract(tmp_path):
    music = tmp_path / "music"
    (music / "album").mkdir(parents=True)
    tone(music / "a.wav", 3.5)
    tone(music / "album" / "b.wav", 7.0)
    (music / "notes.txt").write_text("not an input")
    done = command("tag", music, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["file"] for line in done.stdout.splitlines()] == [str(music / "a.wav"),
                                                                               str(music / "album" / "b.wav")]
    out = tmp_path / "features"
    done = command("features", music, "--out", out, "--layer", "penultimate", "--layer", "cnn1")
    assert done.returncode == 0, done.stderr
    with np.load(out / "album" / "b.npz") as saved:
        assert sorted(saved.files) == ["cnn1", "cnn1_times", "penultimate", "penultimate_times"]
        assert saved["penultimate"].shape == (3, 200)  # patches at 0, 3 and 6 s (the last repeat-padded)
        assert saved["cnn1"].shape[1] == 64 and len(saved["cnn1"]) == len(saved["cnn1_times"])
        assert saved["cnn1_times"][-1] < 7.0
    assert (out / "a.npz").exists()


@pytest.mark.parametrize("args", [
    ("tag", "{good}", "--model", "resnet"),
    ("tag", "{good}", "--weights", "imagenet"),
    ("tag", "{good}", "--weights", "my.weights.h5"),
    ("extract", "{good}", "--out", "{out}", "--layer", "nope"),
    ("tag", "{empty}"),
])
def test_usage_errors_exit_2_with_one_clear_line(tmp_path, args):
    good = tone(tmp_path / "tone.wav", 3.0)
    (tmp_path / "empty").mkdir()
    done = command(*(a.format(good=good, out=tmp_path / "out", empty=tmp_path / "empty") for a in args))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


@pytest.mark.parametrize("option", [("--hop", "0"), ("--batch-size", "0"), ("--top", "-1"), ("--threads", "0"),
                                    ("--last-patch", "pad"), ("--weights", "none")])
def test_bad_options_are_argparse_usage_errors(tmp_path, option):
    done = command("tag", tone(tmp_path / "tone.wav", 3.0), *option)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_the_api_returns_the_full_packages_result_types():
    rate = 16000
    t = np.arange(5 * rate) / rate
    taggram = musiczoo_runtime.tag(0.3 * np.sin(2 * np.pi * 220 * t), sample_rate=rate, weights="msd")
    assert isinstance(taggram, Taggram)
    assert taggram.probabilities.shape == (2, 50) and list(taggram.times) == [0.0, 187 * 256 / 16000]
    assert taggram.clip_probabilities == pytest.approx(taggram.probabilities.mean(axis=0))
    assert taggram.weights == "msd" and taggram.duration == 5.0

    results = list(musiczoo_runtime.tag_many([str(EXAMPLE), "missing.wav", str(EXAMPLE)], batch_size=3))
    assert [path for path, _ in results] == [str(EXAMPLE), "missing.wav", str(EXAMPLE)]
    assert isinstance(results[1][1], musiczoo_runtime.ZooError) and "missing.wav" in str(results[1][1])
    np.testing.assert_array_equal(results[0][1].probabilities, results[2][1].probabilities)
    assert [tag for tag, _ in results[0][1].top(3)] == ["classical", "violin", "strings"]

    features = musiczoo_runtime.extract(str(EXAMPLE), layers=["cnn3", "penultimate"])
    assert isinstance(features, Features)
    assert features["penultimate"].shape == (7, 200) and features["cnn3"].shape[1] == 64
    assert len(features.times["cnn3"]) == len(features["cnn3"]) and np.all(np.diff(features.times["cnn3"]) > 0)


def test_batching_does_not_change_the_tags():
    one = musiczoo_runtime.tag(str(EXAMPLE), batch_size=1, hop_seconds=1.5)
    many = musiczoo_runtime.tag(str(EXAMPLE), batch_size=16, hop_seconds=1.5)
    np.testing.assert_allclose(one.probabilities, many.probabilities, atol=1e-5)
    assert len(one.times) == 12  # starts 93 frames apart; the last 0.6 s tail adds too little for a patch
