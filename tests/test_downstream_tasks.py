"""The downstream benchmark's scripts (benchmarks/downstream): the task builder, the paired comparisons of the
probe table, and from-scratch training against frozen probes on one split with its report."""

import csv
import importlib.util
import json
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parents[1] / "benchmarks" / "downstream"


def script(name):
    """The benchmark's script `name`.py as a module of its own name (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"downstream_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run, tasks, scratch_report = script("run"), script("tasks"), script("scratch_report")

METADATA = ("Song", "Artist", "Quadrant", "GenresStr")


def write_metadata(root, entries):
    """A 4Q-style metadata CSV and an empty MP3 file per entry (song, artist, quadrant, genres)."""
    with open(root / "panda_dataset_taffc_metadata.csv", "w", newline="", encoding="latin-1") as handle:
        writer = csv.writer(handle)
        writer.writerow(METADATA)
        for song, artist, quadrant, genres in entries:
            writer.writerow((song, artist, quadrant, genres))
            (root / quadrant).mkdir(exist_ok=True)
            (root / quadrant / f"{song}.mp3").write_bytes(b"")


def test_genre_rows_keep_single_genre_clips_of_genres_with_enough_clips(tmp_path):
    entries = [(f"A{i}", f"artist{i}", "Q1", "Jazz") for i in range(5)]
    entries += [(f"B{i}", f"artist{i}", "Q2", " Rap ") for i in range(3)]
    entries += [("C0", "x", "Q3", "Jazz; Pop/Rock"), ("C1", "y", "Q4", "")]
    write_metadata(tmp_path, entries)

    rows = tasks.genre_rows(tmp_path, per_genre=4, min_genre=3)

    assert [(path.name, genre, artist) for path, genre, artist in rows] == (
        [(f"A{i}.mp3", "Jazz", f"artist{i}") for i in range(4)] + [(f"B{i}.mp3", "Rap", f"artist{i}") for i in range(3)])
    assert tasks.genre_rows(tmp_path, per_genre=10, min_genre=4) == [row for row in rows if row[1] == "Jazz"] + [
        (tmp_path / "Q1" / "A4.mp3", "Jazz", "artist4")]


def test_mood_rows_take_the_first_clips_of_each_quadrant_and_skip_missing_files(tmp_path):
    write_metadata(tmp_path, [("S1", "a", "Q1", "Jazz"), ("S2", "b", "Q1", "Jazz"), ("S3", "c", "Q2", "Rap")])
    (tmp_path / "Q1" / "S1.mp3").unlink()

    assert tasks.mood_rows(tmp_path, per_quadrant=1) == [(tmp_path / "Q1" / "S2.mp3", "Q1", "b"),
                                                          (tmp_path / "Q2" / "S3.mp3", "Q2", "c")]


def row(task, model, weights, folds, layers=()):
    """A finished row as run.rows() returns it, with only the logistic and MLP fold accuracies."""
    scores = {probe: {"accuracy": {"folds": list(folds)}} for probe in ("logistic", "mlp")}
    return {"task": task, "model": model, "weights": weights, "layers": list(layers), "results": {"scores": scores}}


def test_design_comparisons_pair_the_same_task_and_weights_fold_by_fold():
    found = [row("notes", "timbral", "msd", [0.8, 0.7, 0.9]), row("notes", "temporal", "msd", [0.6, 0.5, 0.7]),
             row("notes", "temporal", "none", [0.1, 0.1, 0.1]),
             row("notes", "multiscale", "msd", [0.5, 0.5, 0.5], layers=("scale0",))]

    lines = [line for line in run.designs(found) if line.startswith("| vertical")]

    assert lines == ["| vertical minus horizontal filters: `timbral` minus `temporal` | notes | msd | "
                     "+0.200 [+0.200, +0.200] | +0.200 [+0.200, +0.200] |"]
    assert not [line for line in run.designs(found) if "scale0" in line and "| notes |" in line]


def test_a_difference_interval_follows_the_spread_of_the_fold_differences():
    ours, theirs = row("t", "a", "msd", [0.8, 0.6, 0.7]), row("t", "b", "msd", [0.6, 0.6, 0.6])

    cell = run.difference(ours, theirs, "logistic")

    mean, low, high = (float(part.strip("[],")) for part in cell.split())
    assert mean == pytest.approx(0.1) and low < 0 < 0.1 < high


def test_the_bootstrap_interval_holds_the_mean_and_narrows_with_more_clips():
    rng = np.random.default_rng(1)
    few, many = (rng.random(n) < 0.7 for n in (100, 2000))

    mean, low, high = scratch_report.bootstrap(few)
    _, low_many, high_many = scratch_report.bootstrap(many)

    assert mean == pytest.approx(few.mean()) and low < mean < high
    assert high_many - low_many < (high - low) / 3  # sqrt(20) ~ 4.5 times narrower
    assert scratch_report.bootstrap(np.ones(50)) == (1.0, 1.0, 1.0)


def test_correctness_averages_the_seeds_over_the_clips_every_run_predicted():
    labels = np.array([0, 1, 2, 0])
    runs = [{"test": [0, 1, 2], "predicted": [0, 1, 0]}, {"test": [0, 1, 3], "predicted": [0, 2, 0]}]

    assert scratch_report.correctness(runs, labels) == {0: 1.0, 1: 0.5}


def test_paired_differences_are_taken_clip_by_clip():
    better, worse = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}, {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 0.0}

    mean, low, high = scratch_report.paired(better, worse)

    assert mean == pytest.approx(0.5) and 0 <= low <= 0.5 <= high <= 1
    assert scratch_report.paired(worse, worse) == (0.0, 0.0, 0.0)


def test_the_report_tables_every_model_and_pairs_the_comparisons(tmp_path):
    labels = np.arange(40) % 4
    test = list(range(20, 40))

    def run(model, init, hits, **extra):
        predicted = [int(labels[c]) if i < hits else int(labels[c] + 1) % 4 for i, c in enumerate(test)]
        return {"task": "notes", "model": model, "init": init, "test": test, "predicted": predicted,
                "train_clips": 20, **extra}

    scratch = dict(epochs=2, presentations=40, trainable_params=1000, train_seconds=60.0, final_loss=0.5)
    runs = [run("timbral", "scratch", 18, seed=0, **scratch), run("temporal", "scratch", 10, seed=0, **scratch),
            run("timbral", "frozen msd", 20), run("temporal", "frozen none", 5),
            run("temporal", "scratch", 0, seed=0, **{**scratch, "epochs": 1})]  # another budget: left out
    args = Namespace(task=Path("notes.csv"), epochs=2)

    scratch_report.write(runs, labels, ["a", "b", "c", "d"], args, tmp_path)

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
