"""The graphs musiczoo-runtime ships are current (made from today's weights and front end), and the runtime
tags as the full package does. runtime/tests/ holds the runtime's own tests (`make test-runtime`)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import musiczoo_runtime
from musiczoo_runtime.graphs import FOLDER, index
from zoo.models.catalog import card, list_models, spec

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "examples" / "traveling_minstrels.ogg"
WEIGHT_SETS = [(name, weights) for name in list_models() for weights in spec(name).weights]


def test_every_weight_set_has_a_graph_made_from_its_weight_file():
    import onnx

    assert sorted((name, weights) for name, entry in index().items() for weights in entry["weights"]) == \
        sorted(WEIGHT_SETS)
    for name, weights in WEIGHT_SETS:
        entry = index()[name]["weights"][weights]
        path = FOLDER / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], path
        info = card(name, weights)
        meta = {prop.key: prop.value for prop in onnx.load(str(path), load_external_data=False).metadata_props}
        assert meta["musiczoo.weights_sha256"] == entry["weights_sha256"] == info.sha256, (name, weights)
        assert json.loads(meta["musiczoo.tags"]) == entry["tags"] == list(info.tags)
        assert index()[name]["params"] == spec(name).params


def test_the_runtime_tags_as_zoo_tag_does():
    import zoo

    full = zoo.tag(CLIP)
    light = musiczoo_runtime.tag(str(CLIP))
    assert [tag for tag, _ in light.top(3)] == [tag for tag, _ in full.top(3)]
    np.testing.assert_allclose(light.probabilities, full.probabilities, atol=1e-3)
    np.testing.assert_array_equal(light.times, full.times)
    assert light.duration == full.duration


def test_runtime_and_zoo_extract_give_the_same_layers_and_times():
    import zoo

    full = zoo.extract(CLIP, model="crnn", layers=["frame_features", "gru2"])
    light = musiczoo_runtime.extract(str(CLIP), model="crnn", layers=["frame_features", "gru2"])
    for layer in ("frame_features", "gru2"):
        np.testing.assert_array_equal(light.times[layer], full.times[layer])
        np.testing.assert_allclose(light[layer], full[layer], atol=1e-3 * max(1.0, float(np.abs(full[layer]).max())))


@pytest.mark.slow
@pytest.mark.parametrize("name,weights", WEIGHT_SETS)
def test_the_committed_graph_equals_a_fresh_conversion(name, weights, tmp_path, monkeypatch):
    import onnxruntime

    from zoo.inference.runtimes import onnx_path

    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path))
    fresh = onnx_path(name, weights, "waveform")
    assert tmp_path in fresh.parents
    committed = FOLDER / index()[name]["weights"][weights]["file"]
    windows = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 48128)).astype(np.float32)
    outputs = []
    for path in (fresh, committed):
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {"waveform": windows}))
    # Not bit-equal across CPUs: TensorFlow folds each batch normalisation into constants on the converting
    # machine, and those differ by a few float32 ulps between CPUs (up to 7.6e-6 seen in a fresh conversion on
    # an AMD EPYC against the graphs made on an Intel Xeon); the outputs then differ by up to 2.5e-6 of the
    # layer's largest value. So the bound is 1e-5 of each layer's scale; a stale graph (other weights, front
    # end or layers) differs by orders of magnitude more.
    for new, old in zip(*outputs):
        np.testing.assert_allclose(old, new, atol=1e-5 * max(1.0, float(np.abs(old).max())))


@pytest.mark.slow
@pytest.mark.parametrize("name,weights", [("timbral_temporal", "mtt"), ("vgg", "msd")])
def test_both_commands_print_the_same_json(name, weights, tmp_path):
    args = ["tag", str(CLIP), "--model", name, "--weights", weights, "--format", "json"]
    full, light = (subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                                  timeout=600, cwd=tmp_path) for module in ("zoo", "musiczoo_runtime"))
    assert full.returncode == light.returncode == 0, (full.stderr, light.stderr)
    full, light = json.loads(full.stdout), json.loads(light.stdout)
    assert {key: full[key] for key in ("file", "model", "weights", "duration")} == \
        {key: light[key] for key in ("file", "model", "weights", "duration")}
    top = sorted(full["tags"], key=full["tags"].get, reverse=True)[:3]
    assert sorted(light["tags"], key=light["tags"].get, reverse=True)[:3] == top
    assert max(abs(full["tags"][tag] - light["tags"][tag]) for tag in full["tags"]) <= 1e-3
