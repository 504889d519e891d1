"""Distillation and agreement: split by track, cached patches and teacher outputs, weights that load back."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import zoo
from fixtures import synth
from zoo import ZooError
from zoo.training import agreement, corpus as corpora, distill
from zoo.training.patch_cache import PatchCache

KINDS = ("chords", "clicks", "sweep", "noise")


@pytest.fixture
def corpus(tmp_path):
    """A manifest corpus of 12 synthesized 4 s WAVs: 6 tracks of 2 files each."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows = []
    for track in range(6):
        for part in range(2):
            name = f"t{track}_{part}.wav"
            soundfile.write(folder / name, synth(KINDS[(track + part) % 4], 4.0, seed=track), 16000)
            rows.append({"path": name, "track": f"track{track}", "source": "synth", "license": "CC0",
                         "duration": 4.0, "split": ("train", "train", "validation", "test")[track % 4]})
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_agreement_metric_on_hand_made_cases():
    teacher = np.array([[0.9, 0.1], [0.8, 0.7], [0.2, 0.6], [0.1, 0.3]])
    same = agreement.agreement(teacher, teacher)
    assert same["roc_auc_at_0.5"] == 1.0 and same["tags_used_at_0.5"] == 2
    assert same["mean_abs_difference"] == 0.0
    reversed_ = agreement.agreement(1.0 - teacher, teacher)
    assert reversed_["roc_auc_at_0.5"] == 0.0
    one_class = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])  # tag 1 never reaches 0.5
    auc, used = agreement.macro_roc_auc(one_class, one_class >= 0.5)
    assert np.isnan(auc) and used == 0
    assert agreement.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    with pytest.raises(ZooError, match="differ in shape"):
        agreement.agreement(teacher[:, :1], teacher)


def test_split_is_the_same_in_every_process_and_hash_seed():
    tracks = [f"pkg:music/{i}.ogg" for i in range(200)]
    here = [corpora.split_of(t) for t in tracks]
    code = ("import json, sys; from zoo.training.corpus import split_of; "
            "print(json.dumps([split_of(t) for t in json.loads(sys.argv[1])]))")
    for seed in ("0", "1", "12345"):
        done = subprocess.run([sys.executable, "-c", code, json.dumps(tracks)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert json.loads(done.stdout) == here, f"PYTHONHASHSEED={seed}"


def test_split_shares():
    splits = [corpora.split_of(f"track {i}") for i in range(2000)]
    share = {name: splits.count(name) / len(splits) for name in ("train", "validation", "test")}
    assert 0.75 < share["train"] < 0.85 and 0.07 < share["test"] < 0.13


def test_plain_folder_corpus_and_bad_input(tmp_path):
    (tmp_path / "a").mkdir()
    soundfile.write(tmp_path / "a" / "x.wav", synth("chords", 1.0), 16000)
    (rows,) = corpora.corpus_rows(tmp_path)
    assert rows["track"] == "a/x.wav" and rows["split"] == corpora.split_of("a/x.wav")
    with pytest.raises(ZooError, match="does not exist"):
        corpora.corpus_rows(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="no audio files"):
        corpora.corpus_rows(tmp_path / "empty")


@pytest.mark.slow
def test_distill_one_epoch_caches_and_loads(corpus, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    patches = PatchCache.for_corpus(corpus, cache, log=lambda *_: None)
    assert patches.logmel.shape == (24, 187, 96)  # 4 s files: one whole patch and a repeated tail each
    by_track = {}  # every patch of a track sits in one split
    for i, split in zip(patches.file_index, patches.split):
        by_track.setdefault(patches.rows[i]["track"], set()).add(split)
    assert all(len(s) == 1 for s in by_track.values())

    entry = distill.distill(corpus, "temporal", "mtt", out, cache=cache, epochs=1, log=lambda *_: None)
    from tensorflow.python.framework import config

    assert not config.is_op_determinism_enabled()  # restored: other code (the original graph) needs it off
    folders = [p for p in cache.iterdir() if p.is_dir()]
    assert len(folders) == 1
    mtime = (folders[0] / "logmel.npy").stat().st_mtime_ns
    teacher_files = sorted((folders[0] / "teachers").iterdir())
    assert [p.name.rsplit(".", 2)[-2] for p in teacher_files] == ["probabilities", "temporal", "timbral"]
    again = PatchCache.for_corpus(corpus, cache, log=lambda *_: None)
    assert (folders[0] / "logmel.npy").stat().st_mtime_ns == mtime  # reused, not recomputed
    assert np.array_equal(again.teacher_outputs("timbral_temporal", "mtt", log=print)["probabilities"],
                          patches.teacher_outputs("timbral_temporal", "mtt", log=print)["probabilities"])

    path = out / "temporal.mtt.weights.h5"
    model = zoo.load("temporal", weights=str(path), include_frontend=False)
    assert model.output.shape[-1] == 50
    card = json.loads((out / "temporal.mtt.card.json").read_text())
    assert card["kind"] == "distilled" and card["sha256"] == entry["sha256"]
    assert card["training"]["trained_layers"] == "above the frozen temporal branch"
    assert card["training"]["initialised_from_teacher"]["cnn1_conv"] == "sliced"
    test = patches.indices("test")
    teacher = patches.teacher_outputs("timbral_temporal", "mtt", log=print)["probabilities"][test]
    measured = agreement.agreement(agreement.predict(model, patches.logmel[test]), teacher)
    for key in ("roc_auc_at_0.5", "roc_auc_top10", "mean_abs_difference", "patches"):
        np.testing.assert_equal(card["metrics"][key], measured[key], err_msg=key)  # what the saved weights do
    assert card["metrics"]["patches"] == 4 and card["metrics"]["tags_used_top10"] > 0


def test_init_from_teacher_keeps_the_students_channels():
    teacher = zoo.load("timbral_temporal", include_frontend=False)
    student = zoo.load("timbral", weights=None, include_frontend=False)
    done = distill.init_from_teacher(teacher, student)
    assert done["timbral_7x38_conv"] == "copied" and done["backend_dense"] == "sliced"
    kept = np.r_[0:408, 561:753, 753:1161, 1314:1506]  # timbral + mid-end channels, max then mean
    assert np.array_equal(student.get_layer("backend_dense").get_weights()[0],
                          teacher.get_layer("backend_dense").get_weights()[0][kept])
    assert distill._frozen_cut(student, done, {"timbral": None}) == "timbral"
