"""Transfer learning: portable front end, patches, split by file, end-to-end training, zoo-free reload, CLI."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import zoo
from fixtures import ROOT, synth
from zoo.cli import main
from musiczoo_runtime.contract import PATCH_SAMPLES, frames_in
from musiczoo_runtime.errors import ZooError
from zoo.signal.logmel import logmel_frontend
from zoo.training import datasets, finetune, portable, predict

SR = 16000


def _tonal(seconds, seed):
    """Low sine chords (root 55-110 Hz, major triad with octave) with a slow swell."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    root = rng.uniform(55, 110)
    y = sum(0.12 * np.sin(2 * np.pi * root * ratio * t + rng.uniform(0, 6)) for ratio in (1, 1.26, 1.5, 2))
    return (y * (0.7 + 0.3 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)


def _bursts(seconds, seed):
    """White-noise bursts gated a few times a second."""
    noise = synth("noise", seconds, seed=seed) * 3
    t = np.arange(noise.size) / SR
    return (noise * (np.sin(2 * np.pi * (2 + seed % 3) * t) > 0)).astype(np.float32)


def _write_classes(root, files_per_class, rate=SR):
    for i in range(files_per_class):
        seconds = 3.0 + (i % 3)
        for name, make in (("tonal", _tonal), ("noisy", _bursts)):
            (root / name).mkdir(parents=True, exist_ok=True)
            soundfile.write(root / name / f"{name}{i:02d}.wav", make(seconds, seed=i), rate)
    return root


def test_portable_frontend_matches_zoo_frontend():
    reference = logmel_frontend(PATCH_SAMPLES, frames_in(3.0))
    rebuilt = portable.portable_frontend()
    assert not [layer for layer in rebuilt.layers if type(layer).__module__.startswith("zoo")]
    batch = np.stack([synth(kind, 3.0) for kind in ("noise", "chords", "sweep", "clicks", "silence")])
    batch = np.concatenate([batch, 40 * batch[:1]])  # loud enough to saturate float16
    difference = np.abs(reference(batch).numpy() - rebuilt(batch).numpy()).max()
    assert difference < 1e-5


def test_training_patches_are_the_patches_zoo_tag_sees(tmp_path):
    seven, short = synth("sweep", 7.5), synth("chords", 1.0)
    soundfile.write(tmp_path / "seven.wav", seven, SR, subtype="FLOAT")
    soundfile.write(tmp_path / "short.wav", short, SR, subtype="FLOAT")
    items = [(tmp_path / "seven.wav", ["a"]), (tmp_path / "short.wav", ["b"])]
    patches, owners, kept, skipped = finetune._logmel_patches(items, tmp_path, 3.0, verbose=False)
    assert list(owners) == [0, 0, 0, 1] and kept == [0, 1] and not skipped  # two whole patches and a 1.5 s tail
    whole = logmel_frontend().predict(seven[None], verbose=0)[0]
    for patch, start in zip(patches[:3], (0, 187, 374)):
        piece = whole[start:start + 187]
        np.testing.assert_allclose(patch[:len(piece)], piece, atol=1e-4)
    short_frames = logmel_frontend().predict(short[None], verbose=0)[0]  # 63 frames, repeated as zoo.tag does
    np.testing.assert_allclose(patches[3][:63], short_frames, atol=1e-4)
    np.testing.assert_allclose(patches[3][63:126], short_frames, atol=1e-4)


def test_split_by_file_is_stratified_and_seeded():
    labels = [["a"]] * 10 + [["b"]] * 5 + [["c"]]
    train, val = datasets.split_files(labels, 0.2, seed=3)
    assert not set(train) & set(val) and len(train) + len(val) == len(labels)
    assert [labels[i][0] for i in val].count("a") == 2 and [labels[i][0] for i in val].count("b") == 1
    assert 15 in train  # a single-file class is always trained on
    again = datasets.split_files(labels, 0.2, seed=3)
    assert np.array_equal(again[1], val)
    assert not np.array_equal(datasets.split_files(labels, 0.2, seed=4)[1], val)
    with pytest.raises(ZooError, match="validation_split"):
        datasets.split_files(labels, 1.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The pretrained timbral_temporal mtt backbone, frozen, with a new head on two synthesized classes."""
    root = _write_classes(tmp_path_factory.mktemp("data") / "sounds", files_per_class=10)
    (root / "noisy" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path_factory.mktemp("out")
    result = finetune.finetune(root, "timbral_temporal", "mtt", out, epochs=20, validation_split=0.3, seed=1,
                               verbose=False)
    return root, out, result


@pytest.mark.slow
def test_finetune_separates_two_sound_classes(trained, report):
    root, out, result = trained
    scores = result.report["validation"]
    report(f"validation clip accuracy {scores['clip_accuracy']:.3f}, patch accuracy {scores['patch_accuracy']:.3f} "
           f"over {scores['files']} files ({scores['patches']} patches)")
    assert scores["files"] == 6 and result.report["files"]["train"] == 14  # split by file: 3 + 3 of 20 held out
    assert scores["clip_accuracy"] >= 0.9 and scores["patch_accuracy"] >= 0.9
    assert len(result.report["files"]["skipped"]) == 1 and "broken.wav" in result.report["files"]["skipped"][0]
    info = json.loads((out / "labels.json").read_text())
    assert info["labels"] == ["noisy", "tonal"] and info["multi_label"] is False
    history = json.loads((out / "history.json").read_text())
    assert history["phases"][0]["phase"] == "head" and "val_loss" in history["phases"][0]["history"]
    assert not list(out.glob(".*"))  # no temporary files left behind

    taggram = predict.predict(out, root / "tonal" / "tonal00.wav")
    assert taggram.top(1)[0][0] == "tonal"
    assert taggram.probabilities.shape == (1, 2)


@pytest.mark.slow
def test_saved_model_reloads_without_zoo(trained, tmp_path, report):
    root, out, result = trained
    batch = np.stack([_tonal(3.0, 77), _bursts(3.0, 78)])
    np.save(tmp_path / "batch.npy", batch)
    expected = result.model.predict(batch, verbose=0)
    script = (
        "import sys, numpy as np, kapre, keras\n"
        f"model = keras.saving.load_model({str(out / 'model.keras')!r})\n"
        "assert 'zoo' not in sys.modules, 'zoo was imported'\n"
        "np.save('reloaded.npy', model.predict(np.load('batch.npy'), verbose=0))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    difference = np.abs(np.load(tmp_path / "reloaded.npy") - expected).max()
    report(f"zoo-free reload: max prediction difference {difference:.2e}")
    assert difference < 1e-5
    assert expected[0].argmax() == 1 and expected[1].argmax() == 0  # tonal, noisy


@pytest.mark.slow
def test_fine_tuning_trains_only_the_top_blocks(tmp_path):
    root = _write_classes(tmp_path / "sounds", files_per_class=2)
    result = finetune.finetune(root, "timbral_temporal", None, tmp_path / "out", epochs=1, fine_tune_blocks=1,
                               validation_split=0.5, batch_size=8, verbose=False)
    assert result.report["phases"][1]["blocks"] == ["cnn3"]
    backbone = result.model.get_layer("backbone")
    trainable = sorted(layer.name for layer in backbone.layers if layer.trainable and layer.weights)
    assert trainable == ["cnn3_bn", "cnn3_conv"]
    with pytest.raises(ZooError, match="fine_tune_blocks must be between 0 and 5"):
        finetune.finetune(root, "timbral_temporal", None, tmp_path / "bad", fine_tune_blocks=6, verbose=False)


@pytest.mark.slow
def test_cli_finetune_on_a_folder_and_a_multi_label_csv(tmp_path, capsys):
    root = _write_classes(tmp_path / "sounds", files_per_class=3)
    status = main(["finetune", str(root), "--weights", "none", "--out", str(tmp_path / "folder"), "--epochs", "1",
                   "--validation-split", "0.34", "--quiet"])
    assert status == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "folder" / "model.keras")
    assert {p.name for p in (tmp_path / "folder").iterdir()} == {"model.keras", "labels.json", "history.json"}
    rows = [f"tonal/tonal{i:02d}.wav,tonal,music" for i in range(3)]
    rows += [f"noisy/noisy{i:02d}.wav,noisy" for i in range(3)]
    (root / "labels.csv").write_text("path,labels\n" + "\n".join(rows) + "\n")
    status = main(["finetune", str(root / "labels.csv"), "--weights", "none", "--out", str(tmp_path / "out"),
                   "--epochs", "2", "--validation-split", "0.34", "--quiet"])
    assert status == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "model.keras")
    info = json.loads((tmp_path / "out" / "labels.json").read_text())
    assert info["multi_label"] is True and info["labels"] == ["music", "noisy", "tonal"]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"model.keras", "labels.json", "history.json"}


def test_bad_datasets_are_clear_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="matches no dataset layout"):
        finetune.finetune(tmp_path / "empty", weights=None, out_dir=tmp_path / "out", verbose=False)
    (tmp_path / "one" / "only").mkdir(parents=True)
    soundfile.write(tmp_path / "one" / "only" / "a.wav", synth("chords", 1.0), SR)
    with pytest.raises(ZooError, match="at least two classes"):
        finetune.finetune(tmp_path / "one", weights=None, out_dir=tmp_path / "out", verbose=False)
    (tmp_path / "list.csv").write_text("one/only/a.wav,a\nnowhere.wav,b\n")
    status = main(["finetune", str(tmp_path / "list.csv"), "--weights", "none", "--out", str(tmp_path / "out")])
    assert status == 2
    assert "nowhere.wav" in capsys.readouterr().err
    with pytest.raises(ZooError, match="pooling"):
        portable.classifier_model("timbral_temporal", None, 2, False, pooling=None)


@pytest.mark.slow
def test_sklearn_example_on_embeddings(tmp_path, capsys, report):
    spec = importlib.util.spec_from_file_location("sklearn_embeddings", ROOT / "examples" / "sklearn_embeddings.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    root = _write_classes(tmp_path / "sounds", files_per_class=4)
    scores = example.main([str(root), "--folds", "2"])
    report(f"sklearn example: penultimate + logistic regression, 2-fold accuracy {scores.mean():.3f}")
    assert scores.mean() >= 0.9
    assert "2-fold cross-validation" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["timbral", "temporal", "timbral_temporal", "vgg", "crnn"])
def test_every_fine_tuning_block_names_weighted_layers(name):
    network = portable.classifier_model(name, None, 3, multi_label=True, pooling="max")
    backbone = network.get_layer("backbone")
    assert network.output.shape == (None, 3)
    for block in finetune.BLOCKS[zoo.card(name, weights=None)["family"]]:
        finetune._unfreeze(backbone, list(block))
        assert [layer for layer in backbone.layers if layer.trainable and layer.weights], (name, block)
