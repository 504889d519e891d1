"""The downstream benchmark's task builder and its paired comparisons (benchmarks/downstream)."""

import csv
import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1] / "benchmarks" / "downstream"


def script(name):
    """The benchmark's script `name`.py as a module of its own name (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"downstream_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run, tasks = script("run"), script("tasks")

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
