"""Weight files: manifest hashes, refusal of corrupt files, strict name-addressed loading."""

import shutil

import h5py
import numpy as np
import pytest

import zoo
from zoo import ZooError
from zoo.models import weights


def manifest_entries():
    for name, model in weights.manifest()["models"].items():
        for tag, entry in model["weights"].items():
            yield name, tag, entry


@pytest.mark.parametrize("name,tag,entry", list(manifest_entries()), ids=lambda v: str(v)[:20])
def test_every_manifest_entry_matches_its_file(name, tag, entry):
    path = weights.weights_dir() / entry["file"]
    assert path.stat().st_size == entry["size"]
    assert weights.sha256_of(path) == entry["sha256"]
    for key in ("source", "license", "training_data", "metrics", "frontend", "tag_space"):
        assert entry[key], key
    assert (weights.weights_dir() / entry["license"]["file"]).exists()


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    """A writable copy of weights/ that the catalog reads instead of the real one ($MUSICZOO_WEIGHTS_DIR)."""
    copy = tmp_path / "weights"
    shutil.copytree(weights.weights_dir(), copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(copy))
    return copy


def test_truncated_file_is_refused(weights_copy):
    path = weights_copy / "vgg.mtt.weights.h5"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ZooError, match="truncated or altered"):
        zoo.load("vgg")


def test_altered_file_is_refused(weights_copy):
    path = weights_copy / "vgg.mtt.weights.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ZooError, match="sha256"):
        zoo.load("vgg")


def test_missing_file_is_refused(weights_copy):
    (weights_copy / "vgg.msd.weights.h5").unlink()
    with pytest.raises(ZooError, match="missing"):
        zoo.load("vgg", weights="msd")


def test_save_and_load_by_name_round_trip(tmp_path):
    model = zoo.load("crnn", weights=None)
    path = tmp_path / "crnn.custom.weights.h5"
    weights.save_weights(model, path)
    again = zoo.load("crnn", weights=path)
    x = np.random.default_rng(0).standard_normal((1, 48_000)).astype(np.float32) * 0.1
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))
    headless = zoo.load("crnn", weights=path, include_top=False, pooling="avg")
    assert headless.predict(x, verbose=0).shape == (1, 128)


def test_loading_refuses_a_file_of_another_model(tmp_path):
    path = tmp_path / "temporal.weights.h5"
    weights.save_weights(zoo.load("temporal", weights=None), path)
    with pytest.raises(ZooError, match="has no value for"):
        zoo.load("timbral", weights=path)


def test_loading_refuses_unused_variables(tmp_path):
    path = tmp_path / "timbral.weights.h5"
    weights.save_weights(zoo.load("timbral", weights=None), path)
    with h5py.File(path, "a") as store:
        store.create_dataset("stray_layer/kernel", data=np.zeros(3))
    with pytest.raises(ZooError, match="does not use: stray_layer/kernel"):
        zoo.load("timbral", weights=path)
    zoo.load("timbral", weights=path, include_top=False)  # a headless model may leave stored layers unused
