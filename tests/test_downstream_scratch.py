"""From-scratch training against frozen probes on one split (benchmarks/downstream/scratch.py and its report)."""

import importlib.util
import json
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parents[1] / "benchmarks" / "downstream"


def script(name):
    """The benchmark's script `name`.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"downstream_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = script("scratch_report")


def test_the_bootstrap_interval_holds_the_mean_and_narrows_with_more_clips():
    rng = np.random.default_rng(1)
    few, many = (rng.random(n) < 0.7 for n in (100, 2000))

    mean, low, high = report.bootstrap(few)
    _, low_many, high_many = report.bootstrap(many)

    assert mean == pytest.approx(few.mean()) and low < mean < high
    assert high_many - low_many < (high - low) / 3  # sqrt(20) ~ 4.5 times narrower
    assert report.bootstrap(np.ones(50)) == (1.0, 1.0, 1.0)


def test_correctness_averages_the_seeds_over_the_clips_every_run_predicted():
    labels = np.array([0, 1, 2, 0])
    runs = [{"test": [0, 1, 2], "predicted": [0, 1, 0]}, {"test": [0, 1, 3], "predicted": [0, 2, 0]}]

    assert report.correctness(runs, labels) == {0: 1.0, 1: 0.5}


def test_paired_differences_are_taken_clip_by_clip():
    better, worse = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}, {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 0.0}

    mean, low, high = report.paired(better, worse)

    assert mean == pytest.approx(0.5) and 0 <= low <= 0.5 <= high <= 1
    assert report.paired(worse, worse) == (0.0, 0.0, 0.0)


def test_the_report_tables_every_model_and_pairs_the_comparisons(tmp_path):
    labels = np.arange(40) % 4
    test = list(range(20, 40))

    def run(model, init, hits, **extra):
        predicted = [int(labels[c]) if i < hits else int(labels[c] + 1) % 4 for i, c in enumerate(test)]
        return {"task": "notes", "model": model, "init": init, "test": test, "predicted": predicted,
                "train_clips": 20, **extra}

    scratch = dict(epochs=2, presentations=40, trainable_params=1000, train_seconds=60.0)
    runs = [run("timbral", "scratch", 18, seed=0, **scratch), run("temporal", "scratch", 10, seed=0, **scratch),
            run("timbral", "frozen msd", 20), run("temporal", "frozen none", 5),
            run("temporal", "scratch", 0, seed=0, **{**scratch, "epochs": 1})]  # another budget: left out
    args = Namespace(task=Path("notes.csv"), epochs=2)

    report.write(runs, labels, ["a", "b", "c", "d"], args, tmp_path)

    text = (tmp_path / "SCRATCH.md").read_text()
    assert "| timbral | " in text and "| 0.900 [" in text and "| 0.500 [" in text
    assert "| `timbral` - `temporal` | +0.400 [" in text
    assert "2 epochs" in text and "40 patch presentations" in text
    assert (tmp_path / "scratch.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_run_trains_probes_reports_and_resumes(tmp_path, write_audio, monkeypatch):
    rng = np.random.default_rng(0)
    seconds = np.arange(16000 * 2) / 16000
    rows = ["path,label"]
    for i in range(8):  # a low hum against noise bursts: two classes any network can tell apart
        low = 0.3 * np.sin(2 * np.pi * (110 + 5 * i) * seconds)
        noise = 0.3 * rng.standard_normal(len(seconds)) * (seconds % 0.5 < 0.1)
        rows.append(f"{write_audio(f'hum/{i}.wav', low, 16000)},hum")
        rows.append(f"{write_audio(f'noise/{i}.flac', noise, 16000)},noise")
    (tmp_path / "bad.wav").write_bytes(b"RIFF not audio")
    rows.append(f"{tmp_path / 'bad.wav'},noise")
    (tmp_path / "task.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path / "cache"))
    command = ["scratch.py", "--task", str(tmp_path / "task.csv"), "--out", str(tmp_path / "runs"),
               "--models", "multiscale", "--epochs", "1", "--frozen", "none", "--report", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", command)
    scratch = script("scratch")

    scratch.main()
    first = (tmp_path / "runs" / "runs.jsonl").read_text().splitlines()
    scratch.main()  # everything done: nothing is run again

    found = [json.loads(line) for line in first]
    assert [(r["model"], r["init"]) for r in found] == [("multiscale", "frozen none"), ("multiscale", "scratch")]
    assert all(len(r["test"]) == len(r["predicted"]) == 8 for r in found)  # the bad file is left out
    assert 16 not in found[1]["test"]
    assert (tmp_path / "runs" / "runs.jsonl").read_text().splitlines() == first
    assert "| multiscale | 0.09 |" in (tmp_path / "SCRATCH.md").read_text()
