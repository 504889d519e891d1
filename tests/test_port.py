"""The musicnn converter: strict mapping, and the committed files are what it produces."""

import importlib.util

import numpy as np
import pytest

from fixtures import ROOT
from zoo import ZooError
from zoo.models import weights

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def port_module():
    spec = importlib.util.spec_from_file_location("port_musicnn", ROOT / "tools" / "port_musicnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("checkpoint", ["MTT_musicnn", "MSD_vgg"])
def test_committed_weights_equal_a_fresh_port(port_module, checkpoint):
    model, tag = port_module.port(checkpoint)
    name = port_module.TARGETS[checkpoint][0]
    committed = weights.read_weights(weights.weights_dir() / f"{name}.{tag}.weights.h5")
    fresh = {f"{layer.name}/{v.name}": v.numpy() for layer in weights.weighted_layers(model) for v in layer.weights}
    assert committed.keys() == fresh.keys()
    for key, value in fresh.items():
        np.testing.assert_array_equal(committed[key], value, err_msg=key)


def test_an_unmapped_checkpoint_variable_is_refused(port_module, monkeypatch):
    table = dict(port_module.VGG_LAYERS)
    table["dense"] = "no_such_layer"
    monkeypatch.setattr(port_module, "VGG_LAYERS", table)
    with pytest.raises(ZooError, match="no checkpoint layer maps onto zoo layer 'logits'"):
        port_module.port("MTT_vgg")
