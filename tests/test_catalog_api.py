"""The catalog API: list_models, typed cards, parameter counts from the manifest, plain Keras models,
logits, decode_predictions and check_input."""

import dataclasses
import json
from functools import lru_cache

import keras
import numpy as np
import pytest

import zoo
from zoo import ZooError
from zoo.models import catalog
from zoo.models.catalog import ModelSpec, WeightsCard, spec, tag_spaces
from zoo.models.loading import check_input

CONTRACT_KEYS = {"tags", "sample_rate", "input_seconds", "frontend", "params", "source", "license", "citation",
                 "training_data", "metrics", "feature_layers", "sha256"}


@lru_cache(maxsize=None)
def random_model(name):
    """zoo.load(name, weights=None), built once per test session (the tests only read it)."""
    return zoo.load(name, weights=None)


def trainable_params(model):  # counted as tests/test_catalog.py counts them
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def pretrained_pairs():
    return [(name, tag) for name in zoo.list_models() for tag in spec(name).weights]


# list_models

def test_list_models_pattern_is_a_case_sensitive_shell_pattern():
    names = zoo.list_models()
    assert names == list(catalog.manifest()["models"]) and len(names) == len(set(names))
    assert zoo.list_models("*") == names
    assert zoo.list_models("timbral*") == ["timbral", "timbral_temporal"]
    assert zoo.list_models("*temporal") == ["temporal", "timbral_temporal"]
    assert zoo.list_models("vgg") == ["vgg"]
    assert zoo.list_models("VGG") == [] and zoo.list_models("nothing*") == []


def test_list_models_pretrained_filter_follows_the_specs():
    names = zoo.list_models()
    assert zoo.list_models(pretrained=None) == names
    assert zoo.list_models(pretrained=True) == [n for n in names if spec(n).weights]
    for tag in tag_spaces():
        assert zoo.list_models(pretrained=tag) == [n for n in names if tag in spec(n).weights]
    assert zoo.list_models("timbral*", pretrained="msd") == [n for n in ["timbral", "timbral_temporal"]
                                                             if "msd" in spec(n).weights]


def test_list_models_pretrained_filter_on_a_mixed_catalog(monkeypatch):
    """Today every model has both weights, so a small manifest shows that the filters really filter."""
    spaces = {"mtt": {"tags": ["a"]}, "msd": {"tags": ["b"]}}
    models = {"a1": {"weights": {"mtt": {}}}, "b1": {"weights": {}}, "a2": {"weights": {"mtt": {}, "msd": {}}},
              "b2": {"weights": {"msd": {}}}}
    monkeypatch.setattr(catalog, "manifest", lambda: {"tag_spaces": spaces, "models": models})
    assert catalog.list_models() == ["a1", "b1", "a2", "b2"]
    assert catalog.list_models(pretrained=True) == ["a1", "a2", "b2"]
    assert catalog.list_models(pretrained="mtt") == ["a1", "a2"]
    assert catalog.list_models(pretrained="msd") == ["a2", "b2"]
    assert catalog.list_models("a*", pretrained="msd") == ["a2"]


@pytest.mark.parametrize("bad", ["imagenet", "MTT", "", False, 0, 1.5])
def test_list_models_refuses_a_bad_pretrained_value(bad):
    with pytest.raises(ZooError, match="pretrained must be None, True or a weight tag"):
        zoo.list_models(pretrained=bad)


def test_list_models_refuses_a_list_of_tags_with_a_zoo_error():
    with pytest.raises(ZooError, match="pretrained"):
        zoo.list_models(pretrained=["mtt", "msd"])


# cards

@pytest.mark.parametrize("name,tag", pretrained_pairs())
def test_card_is_a_frozen_json_ready_weights_card(name, tag):
    card = zoo.card(name, tag)
    assert isinstance(card, WeightsCard)
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.tags = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.params = 0

    data = card.to_dict()
    assert CONTRACT_KEYS <= set(data), CONTRACT_KEYS - set(data)
    assert json.loads(json.dumps(data)) == data  # plain JSON types throughout
    assert data["tags"] == list(tag_spaces()[tag]["tags"]) == list(card.tags) == card["tags"]
    assert data["params"] == spec(name).params and data["sample_rate"] == 16000
    assert data["weights"] == tag and len(data["sha256"]) == 64
    for key in CONTRACT_KEYS:
        assert card[key] == data[key], key
    with pytest.raises(KeyError, match="no field"):
        card["no such field"]


@pytest.mark.parametrize("name", zoo.list_models())
def test_card_without_weights_describes_the_architecture(name):
    card = zoo.card(name, None)
    assert isinstance(card, WeightsCard)
    assert card.tags is None and card["tags"] is None and card.weights is None and card.sha256 is None
    assert card.params == spec(name).params
    data = card.to_dict()
    assert json.loads(json.dumps(data)) == data and data["tags"] is None


def test_cards_and_specs_are_snapshots():
    spec_ = spec("vgg")
    assert isinstance(spec_, ModelSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec_.params = 0
    card = zoo.card("vgg")
    before = zoo.card("vgg").to_dict()
    card.metrics["roc_auc"] = -1.0
    card.feature_layers.clear()
    spec_.feature_layers.clear()
    assert zoo.card("vgg").to_dict() == before


def test_card_refuses_unknown_names_and_weights():
    with pytest.raises(ZooError, match="Did you mean 'vgg'"):
        zoo.card("vgg16")
    with pytest.raises(ZooError, match="imagenet"):
        zoo.card("vgg", "imagenet")


# built models

@pytest.mark.parametrize("name", zoo.list_models())
def test_built_parameter_count_equals_the_manifest(name):
    assert trainable_params(random_model(name)) == spec(name).params == zoo.card(name, None).params


@pytest.mark.parametrize("name", zoo.list_models())
def test_load_returns_a_plain_functional_model_that_round_trips(name, tmp_path):
    model = random_model(name)
    inputs = keras.Input((4,))
    functional = type(keras.Model(inputs, keras.layers.Dense(1)(inputs)))
    assert type(model) is functional and isinstance(model, keras.Model)
    assert type(model).__call__ is keras.Model.__call__
    assert type(model).predict is keras.Model.predict
    for layer in model.layers:
        cls = type(layer)
        if not cls.__module__.startswith("keras."):
            registered = keras.saving.get_registered_name(cls)
            assert registered.startswith(("musiczoo>", "Kapre>")), f"{layer.name}: {cls} is not registered"
            if registered.startswith("musiczoo>"):
                assert cls.__module__.startswith("zoo.")

    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects: the registered layers suffice
    assert type(restored) is functional
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (1, 48_000)).astype(np.float32)
    np.testing.assert_array_equal(restored(x, training=False).numpy(), model(x, training=False).numpy())


def test_classifier_activation_none_gives_the_logits():
    x = np.random.default_rng(1).uniform(0.0, 3.0, (2, 187, 96)).astype(np.float32)
    probabilities = zoo.load("vgg", "mtt", include_frontend=False)
    logits = zoo.load("vgg", "mtt", include_frontend=False, classifier_activation=None)
    assert probabilities.layers[-1].name == "probabilities" and logits.layers[-1].name == "logits"
    z = logits(x, training=False).numpy().astype(np.float64)
    assert (z < 0).any()  # not probabilities
    np.testing.assert_allclose(1 / (1 + np.exp(-z)), probabilities(x, training=False).numpy(), atol=1e-6)


# decode_predictions

def test_decode_predictions_names_the_top_tags_in_order():
    tags = tag_spaces()["mtt"]["tags"]
    p = np.zeros(50)
    p[tags.index("piano")], p[tags.index("guitar")], p[tags.index("violin")] = 0.9, 0.8, 0.3
    assert zoo.decode_predictions(p, top=3) == [[("piano", 0.9), ("guitar", 0.8), ("violin", 0.3)]]
    assert zoo.decode_predictions(p, "mtt", top=2) == [[("piano", 0.9), ("guitar", 0.8)]]
    batch = np.stack([p, np.zeros(50)])
    batch[1, tags.index("techno")] = 0.5
    decoded = zoo.decode_predictions(batch)
    assert len(decoded) == 2 and all(len(row) == 5 for row in decoded)
    assert decoded[1][0] == ("techno", 0.5)
    assert [tag for tag, _ in decoded[1][1:]] == [t for t in tags if t != "techno"][:4]  # ties: catalog order
    msd = tag_spaces()["msd"]["tags"]
    q = np.linspace(0.0, 1.0, 50)
    assert zoo.decode_predictions(q, "msd", top=2) == [[(msd[49], 1.0), (msd[48], pytest.approx(48 / 49))]]


@pytest.mark.parametrize("shape", [(), (49,), (51,), (2, 49), (2, 3, 50), (50, 2)])
def test_decode_predictions_refuses_wrong_shapes(shape):
    with pytest.raises(ZooError, match=r"\[50\] or \[batch, 50\]"):
        zoo.decode_predictions(np.full(shape, 0.5))


def test_decode_predictions_refuses_bad_weights_and_top():
    with pytest.raises(ZooError, match="tag space"):
        zoo.decode_predictions(np.zeros(50), "imagenet")
    with pytest.raises(ZooError, match="top must be a positive integer"):
        zoo.decode_predictions(np.zeros(50), top=0)


# check_input

def test_check_input_accepts_what_the_model_takes():
    assert check_input(random_model("vgg"), np.zeros((2, 48_000), np.float32)) is None
    headless = zoo.load("vgg", weights=None, include_frontend=False)
    assert check_input(headless, np.zeros((1, 187, 96), np.float32)) is None


@pytest.mark.parametrize("x,message", [
    (np.zeros(48_000, np.float32), r"2-D waveform.*shape \(48000,\).*add a batch axis"),
    (np.zeros((1, 1, 48_000), np.float32), r"2-D waveform.*shape \(1, 1, 48000\)"),
    (np.zeros((1, 48_000), np.int16), r"float32.*dtype int16.*astype"),
    (np.zeros((1, 48_000), np.int32), r"dtype int32"),
    (np.zeros((1, 40_000), np.float32), r"48000 values on axis 1; got 40000"),
])
def test_check_input_names_the_problem(x, message):
    with pytest.raises(ZooError, match=message):
        check_input(random_model("vgg"), x)


def test_check_input_on_a_log_mel_model():
    headless = zoo.load("vgg", weights=None, include_frontend=False)
    with pytest.raises(ZooError, match=r"3-D log-mel.*add a batch axis"):
        check_input(headless, np.zeros((187, 96), np.float32))
    with pytest.raises(ZooError, match=r"96 values on axis 2; got 80"):
        check_input(headless, np.zeros((1, 187, 80), np.float32))
