"""Every catalog model, randomly initialised: builds, predicts, round-trips, counts its parameters."""

import sys

import keras
import numpy as np
import pytest

import zoo
from fixtures import ROOT, synth
from zoo.models.architectures import BUILDERS

PUBLISHED_PARAMS = {"timbral_temporal": 787_159, "vgg": 605_748}


def trainable_params(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def batch(seconds=3.0, n=2):
    return np.stack([synth("noise", seconds, seed=i) for i in range(n)])


def test_catalog_names():
    assert zoo.list_models() == ["timbral", "temporal", "timbral_temporal", "vgg", "crnn", "multiscale"]
    assert set(BUILDERS) == set(zoo.list_models())  # every catalog entry has a registered builder


@pytest.mark.parametrize("name", zoo.list_models())
def test_builds_predicts_and_round_trips(name, tmp_path, report):
    model = zoo.load(name, weights=None)
    output = model.predict(batch(), verbose=0)
    assert output.shape == (2, 50)
    assert np.all((output >= 0) & (output <= 1))

    params = trainable_params(model)
    report(f"{name}: {params:,} trainable parameters")
    assert params == zoo.card(name, weights=None)["params"]
    if name in PUBLISHED_PARAMS:
        assert params == PUBLISHED_PARAMS[name]

    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(batch(), verbose=0), output)


@pytest.mark.parametrize("name", zoo.list_models())
def test_feature_layers_exist_with_the_card_dimension(name):
    model = zoo.load(name, weights=None)
    for layer, dimension in zoo.card(name, weights=None)["feature_layers"].items():
        assert model.get_layer(layer).output.shape[-1] == dimension, layer


@pytest.mark.parametrize("name", zoo.list_models())
def test_card_cost_is_counted_from_the_built_model(name):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from efficiency import model_flops  # the benchmarks' FLOP count: Conv1D/2D, Dense, GRU from layer shapes

    model = zoo.load(name, weights=None, include_frontend=False)
    cost = zoo.card(name, weights=None).cost
    assert cost["trainable_params"] == trainable_params(model)
    assert cost["gflop_per_patch"] == round(model_flops(model) / 1e9, 4)


@pytest.mark.parametrize("seconds", [3.0, 10.0, 31.7])
def test_crnn_takes_any_length_of_3_seconds_or_more(seconds):
    model = zoo.load("crnn", weights=None, input_seconds=None)
    assert model.predict(batch(seconds, n=1), verbose=0).shape == (1, 50)


@pytest.mark.parametrize("name", ["timbral", "temporal", "timbral_temporal", "crnn", "multiscale"])
@pytest.mark.parametrize("pooling", [None, "avg", "max"])
def test_headless_backbones(name, pooling):
    model = zoo.load(name, weights=None, include_top=False, pooling=pooling)
    output = model.predict(batch(), verbose=0)
    assert output.ndim == (3 if pooling is None else 2)
    assert output.shape[0] == 2


def test_vgg_headless_takes_other_lengths():
    model = zoo.load("vgg", weights=None, include_top=False, pooling="avg", input_seconds=5.0)
    assert model.predict(batch(5.0), verbose=0).shape == (2, 128)


def test_logmel_input_and_custom_classes():
    model = zoo.load("timbral_temporal", weights=None, include_frontend=False, classes=7)
    assert model.input_shape == (None, 187, 96)
    assert model.predict(np.zeros((3, 187, 96), np.float32), verbose=0).shape == (3, 7)
