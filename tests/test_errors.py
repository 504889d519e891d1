"""Bad arguments and bad inputs raise ZooError with a message naming the problem."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import ZooError
from zoo.models.loading import check_input


def test_unknown_model_suggests_a_close_match():
    with pytest.raises(ZooError, match="unknown model 'timbral_temporl'.*Did you mean 'timbral_temporal'"):
        zoo.load("timbral_temporl")


def test_classes_without_top():
    with pytest.raises(ZooError, match="classes.*include_top=False"):
        zoo.load("vgg", weights=None, include_top=False, classes=10)


def test_classes_that_do_not_match_pretrained_weights():
    with pytest.raises(ZooError, match="50 outputs, not classes=10"):
        zoo.load("timbral_temporal", classes=10)


def test_pooling_needs_a_headless_model():
    with pytest.raises(ZooError, match="pooling"):
        zoo.load("timbral_temporal", weights=None, pooling="avg")
    with pytest.raises(ZooError, match="pooling must be"):
        zoo.load("timbral_temporal", weights=None, include_top=False, pooling="mean")


def test_sample_rate_other_than_16k():
    with pytest.raises(ZooError, match="16000 Hz audio, not 44100 Hz"):
        zoo.load("timbral_temporal", weights=None, sample_rate=44100)


def test_missing_weight_tag_says_so(monkeypatch):
    from zoo.models import catalog

    listing = copy.deepcopy(catalog.manifest())  # a catalog where crnn has only its mtt weights
    del listing["models"]["crnn"]["weights"]["msd"]
    monkeypatch.setattr(catalog, "manifest", lambda: listing)
    with pytest.raises(ZooError, match="no pretrained 'msd' weights \\(available: mtt\\)"):
        zoo.load("crnn", weights="msd")
    with pytest.raises(ZooError, match="neither a weight tag"):
        zoo.load("timbral_temporal", weights="imagenet")


def test_vgg_top_needs_3_second_patches():
    with pytest.raises(ZooError, match="exactly 3.0 s"):
        zoo.load("vgg", weights=None, input_seconds=5.0)


def test_too_short_input_seconds():
    with pytest.raises(ZooError, match="at least 3.0"):
        zoo.load("crnn", weights=None, input_seconds=1.0)


@pytest.fixture(scope="module")
def model():
    return zoo.load("timbral_temporal", weights=None)


# zoo.load returns a plain keras.Model (Keras casts and checks inputs in its own words); the zoo's
# messages for bad model inputs come from check_input, which callers run before predict.
def test_wrong_rank(model):
    with pytest.raises(ZooError, match=r"2-D waveform.*shape \(48000,\).*x\[None\]"):
        check_input(model, np.zeros(48_000, np.float32))


def test_wrong_dtype(model):
    with pytest.raises(ZooError, match="float32 audio.*int16"):
        check_input(model, np.zeros((1, 48_000), np.int16))
    with pytest.raises(ZooError, match="int16"):
        check_input(model, tf.zeros((1, 48_000), tf.int16))


def test_wrong_length(model):
    with pytest.raises(ZooError, match="48000 values on axis 1; got 30000"):
        check_input(model, np.zeros((1, 30_000), np.float32))
