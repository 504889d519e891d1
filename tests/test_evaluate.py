"""`musiczoo evaluate` / `zoo.evaluate`: probes on frozen embeddings of synthesized clips, folds, cache, bad files."""

import json

import numpy as np
import pytest
import soundfile

from fixtures import synth
from zoo.cli import main
from musiczoo_runtime.errors import ZooError
from zoo.training import embeddings
from zoo.training.evaluate import evaluate, transfer_layers
from zoo.training.probes import folds, interval, read_clips

CLASSES = ("noise", "chords", "clicks")
PER_CLASS = 6
SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """Folder-per-class clips of three synthesized timbres (4 s each), one bad file, and a grouped CSV."""
    root = tmp_path_factory.mktemp("collection")
    rows = ["path,label,artist"]
    for kind in CLASSES:
        (root / "folders" / kind).mkdir(parents=True)
        for index in range(PER_CLASS):
            audio = synth(kind, 4.0, SAMPLE_RATE, seed=index) * (0.5 + 0.1 * index)
            path = root / "folders" / kind / f"{kind}{index}.wav"
            soundfile.write(path, audio, SAMPLE_RATE)
            rows.append(f"folders/{kind}/{path.name},{kind},artist{index % 3}")
    (root / "grouped.csv").write_text("\n".join(rows) + "\n")
    (root / "folders" / "noise" / "broken.wav").write_bytes(b"RIFF....WAVEnot really audio")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A module-wide embedding cache, so that later tests reuse earlier extractions."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICZOO_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def cli_run(collection, cache):
    """`musiczoo evaluate` of timbral_temporal (mtt) on the folders with 3 folds: (exit status, out folder)."""
    out = collection / "out"
    status = main(["evaluate", str(collection / "folders"), "--model", "timbral_temporal", "--weights", "mtt",
                   "--folds", "3", "--out", str(out), "--quiet"])
    return status, out


@pytest.mark.slow
def test_results_schema_intervals_and_pages(cli_run, capsys):
    status, out = cli_run
    results = json.loads((out / "results.json").read_text())
    assert status == 1  # the broken file failed; the others completed
    assert results["task"]["clips"] == 3 * PER_CLASS
    assert results["task"]["classes"] == {kind: PER_CLASS for kind in CLASSES}
    assert results["protocol"]["layers"] == transfer_layers("timbral_temporal") == ["max_pool", "penultimate"]
    assert results["protocol"]["pooling"] == ["mean", "max"]
    assert results["protocol"]["folds"] == 3 and results["protocol"]["cross_validation"] == "StratifiedKFold"
    assert set(results["protocol"]["versions"]) >= {"musiczoo", "tensorflow", "scikit-learn"}
    assert results["protocol"]["cpu"]
    assert set(results["scores"]) == {"logistic", "mlp"}
    for score in results["scores"].values():
        for metric in ("accuracy", "macro_f1"):
            values = score[metric]
            assert len(values["folds"]) == 3
            assert values["mean"] == pytest.approx(np.mean(values["folds"]))
            assert values["low"] <= values["mean"] <= values["high"]
        assert set(score["per_class_f1"]) == set(CLASSES)
        assert np.asarray(score["confusion"]).sum() == 3 * PER_CLASS
    # three synthesized timbres are easy: a working pipeline separates them, chance is 1/3
    assert results["scores"]["logistic"]["accuracy"]["mean"] >= 0.9
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| logistic |" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_bad_file_is_skipped_and_named(cli_run):
    _, out = cli_run
    skipped = json.loads((out / "results.json").read_text())["task"]["skipped"]
    assert [item["path"].endswith("broken.wav") for item in skipped] == [True]
    assert "broken.wav" in skipped[0]["error"]
    assert "broken.wav" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_second_probe_and_layer_hit_the_cache(cli_run, collection):
    first = json.loads((cli_run[1] / "results.json").read_text())
    again = evaluate(collection / "folders", "timbral_temporal", "mtt", n_folds=3, progress=False)
    assert again["timing"]["files_extracted"] == 1  # only the broken file is tried again
    assert again["scores"]["logistic"] == first["scores"]["logistic"]
    one_layer = evaluate(collection / "folders", "timbral_temporal", "mtt", layers=["penultimate"], n_folds=3,
                         progress=False)
    assert one_layer["timing"]["files_extracted"] == 1
    assert one_layer["protocol"]["feature_dimension"] == 2 * 200


def test_grouped_csv_folds_never_split_a_group(collection):
    clips = read_clips(collection / "grouped.csv")
    assert clips.groups is not None and len(set(clips.groups)) == 3
    for train, test in folds(clips.labels, clips.groups, 3, seed=0):
        assert not {clips.groups[i] for i in train} & {clips.groups[i] for i in test}
        assert {clips.labels[i] for i in test} == set(CLASSES)  # still stratified


def test_interval_is_student_t_over_folds_within_0_and_1():
    spread = interval([0.5, 0.6, 0.7])  # sd 0.1 over 3 folds, t(0.975, 2) = 4.303
    assert spread["mean"] == pytest.approx(0.6)
    assert spread["high"] - spread["mean"] == pytest.approx(4.3027 * 0.1 / np.sqrt(3), rel=1e-4)
    assert spread["mean"] - spread["low"] == pytest.approx(spread["high"] - spread["mean"])
    near_one = interval([0.9, 1.0, 1.0])
    assert near_one["high"] == 1.0 and near_one["low"] < near_one["mean"] < 1.0


def test_folds_need_enough_clips_or_groups():
    with pytest.raises(ZooError, match="at least 5 clips per class"):
        folds(["a"] * 3 + ["b"] * 10, None, 5, seed=0)
    with pytest.raises(ZooError, match="at least 3 groups"):
        folds(["a", "b"] * 4, ["g1", "g2"] * 4, 3, seed=0)


def test_unknown_layer_and_multi_label_csv_are_refused(collection, tmp_path):
    with pytest.raises(ZooError, match="no feature layer 'pool9'"):
        evaluate(collection / "folders", "timbral_temporal", "mtt", layers=["pool9"])
    table = tmp_path / "multi.csv"
    table.write_text(f"{collection / 'folders/noise/noise0.wav'},noise,loud\n")
    with pytest.raises(ZooError, match="one label per clip"):
        read_clips(table)


@pytest.mark.slow
def test_random_weights_floor_is_reproducible(collection, cache):
    results = evaluate(collection / "grouped.csv", "timbral_temporal", None, layers=["penultimate"], n_folds=3,
                       progress=False)
    assert results["weights"] is None and results["protocol"]["random_weights_seed"] == embeddings.RANDOM_SEED
    assert results["protocol"]["cross_validation"] == "StratifiedGroupKFold"
    cached = sorted((cache / "embeddings" / "timbral_temporal" / "none-seed0" / "penultimate").glob("*.npy"))
    assert len(cached) == 3 * PER_CLASS
    first = np.load(cached[0])
    for path in cached:
        path.unlink()
    evaluate(collection / "grouped.csv", "timbral_temporal", None, layers=["penultimate"], n_folds=3,
             progress=False)
    np.testing.assert_allclose(np.load(cached[0]), first, rtol=1e-5, atol=1e-6)
