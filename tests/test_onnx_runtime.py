"""The runtime switch: ONNX Runtime against TensorFlow through zoo.tag / zoo.extract, the graph cache, `auto`."""

import json

import numpy as np
import pytest

import zoo
from fixtures import synth
from musiczoo_runtime import machine
from zoo.inference import runtimes


@pytest.fixture(scope="module")
def clip():
    """12 s of chords and clicks at 22.05 kHz (resampled, streamed, four patches at hop 3 s)."""
    y = synth("chords", 12.0, 22050) + synth("clicks", 12.0, 22050)
    return y.astype(np.float32), 22050


@pytest.mark.parametrize("recording", ["synthesized", pytest.param("bundled clip", marks=pytest.mark.slow)])
def test_tag_under_onnx_runtime_matches_tensorflow(recording, clip, example_path):
    audio, rate = clip if recording == "synthesized" else (example_path, None)
    want = zoo.tag(audio, sample_rate=rate, runtime="tensorflow")
    got = zoo.tag(audio, sample_rate=rate, runtime="onnx")
    np.testing.assert_allclose(got.probabilities, want.probabilities, atol=1e-5, rtol=0)
    assert [tag for tag, _ in got.top(3)] == [tag for tag, _ in want.top(3)]
    np.testing.assert_array_equal(got.times, want.times)


def test_extract_under_onnx_runtime_matches_tensorflow(clip):
    layers = ["cnn3", "penultimate", "timbral"]
    want = zoo.extract(clip[0], sample_rate=clip[1], layers=layers, runtime="tensorflow", hop_seconds=2.0)
    got = zoo.extract(clip[0], sample_rate=clip[1], layers=layers, runtime="onnx", hop_seconds=2.0)
    for layer in layers:
        assert got[layer].shape == want[layer].shape
        scale = np.abs(want[layer]).max()
        assert np.abs(got[layer] - want[layer]).max() <= 1e-5 * scale, layer
        np.testing.assert_array_equal(got.times[layer], want.times[layer])


def test_onnx_runtime_builds_no_keras_model_once_cached(clip, monkeypatch):
    runtimes.onnx_path("timbral_temporal", "mtt")  # cached (converted here on a fresh machine)
    from zoo.models import loading, onnx_graph

    def refuse(*args, **kwargs):
        raise AssertionError("no Keras model may be built or converted when a cached ONNX graph serves")

    monkeypatch.setattr(loading, "load", refuse)
    monkeypatch.setattr(onnx_graph, "convert", refuse)
    assert zoo.tag(clip[0], sample_rate=clip[1], runtime="onnx", batch_size=3).probabilities.shape == (4, 50)


@pytest.mark.slow
def test_graph_cache_is_keyed_by_the_weights_sha256_and_rebuilt_when_unreadable(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path))
    path = runtimes.onnx_path("temporal", "msd")
    assert path.parent.parent == tmp_path / "onnx"
    assert path.name == f"temporal.{zoo.card('temporal', 'msd').sha256}.onnx"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # written atomically: no temporary left
    modified = path.stat().st_mtime_ns
    assert runtimes.onnx_path("temporal", "msd").stat().st_mtime_ns == modified  # converted once
    path.write_bytes(b"truncated")
    function = runtimes.onnx_function("temporal", "msd")
    assert function(np.zeros((2, 187, 96), np.float32))[0].shape == (2, 50)
    assert path.stat().st_size > 1000


def write_table(path, cpu, speeds):
    path.write_text(json.dumps({"cpus": {cpu: {"vgg": {
        size: {"tensorflow": tf, "onnx": ort} for size, (tf, ort) in speeds.items()}}}}))


def test_auto_takes_the_faster_runtime_of_the_nearest_measured_batch(tmp_path, monkeypatch):
    table = tmp_path / "runtime_choice.json"
    monkeypatch.setattr(runtimes, "CHOICE_TABLE", table)
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path))
    write_table(table, machine.cpu_name(), {"1": (10.0, 20.0), "32": (40.0, 30.0)})
    runtimes._table.cache_clear()
    assert runtimes.resolve("vgg", "mtt", "auto", "float32", 1) == "onnx"
    assert runtimes.resolve("vgg", "mtt", "auto", "float32", 4) == "onnx"
    assert runtimes.resolve("vgg", "mtt", "auto", "float32", 16) == "tensorflow"
    assert runtimes.resolve("vgg", "mtt", "tensorflow", "float32", 1) == "tensorflow"
    assert runtimes.resolve("vgg", "mtt", "auto", "bfloat16", 1) == "tensorflow"
    runtimes._table.cache_clear()


def test_a_stale_calibration_never_overrides_the_shipped_measurement(tmp_path, monkeypatch):
    table = tmp_path / "runtime_choice.json"
    monkeypatch.setattr(runtimes, "CHOICE_TABLE", table)
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path))
    write_table(table, machine.cpu_name(), {"8": (10.0, 20.0)})
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "calibration.json").write_text(json.dumps(
        {machine.cpu_name(): {"vgg": {"8": {"tensorflow": 30.0, "onnx": 5.0}},
                               "crnn": {"8": {"tensorflow": 30.0, "onnx": 5.0}}}}))
    runtimes._table.cache_clear()
    assert runtimes.resolve("vgg", "mtt", "auto", "float32", 8) == "onnx"  # shipped row wins
    assert runtimes.resolve("crnn", "mtt", "auto", "float32", 8) == "tensorflow"  # calibration fills the gap
    runtimes._table.cache_clear()


@pytest.mark.slow
def test_auto_calibrates_once_on_a_cpu_the_table_lacks(tmp_path, monkeypatch):
    table = tmp_path / "runtime_choice.json"
    monkeypatch.setattr(runtimes, "CHOICE_TABLE", table)
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path))
    monkeypatch.setattr(runtimes, "CALIBRATION_SECONDS", 0.05)
    write_table(table, "another CPU x64", {"8": (10.0, 20.0)})
    runtimes._table.cache_clear()
    chosen = runtimes.resolve("temporal", "mtt", "auto", "float32", 2)
    stored = json.loads((tmp_path / "onnx" / "calibration.json").read_text())
    speeds = stored[machine.cpu_name()]["temporal"]["2"]
    assert chosen == max(speeds, key=speeds.get) and min(speeds.values()) > 0
    monkeypatch.setattr(runtimes, "_measure", lambda *args: pytest.fail("calibrated twice"))
    assert runtimes.resolve("temporal", "mtt", "auto", "float32", 2) == chosen
    runtimes._table.cache_clear()


@pytest.mark.parametrize("kwargs,message", [
    ({"runtime": "gpu"}, "runtime must be one of"),
    ({"runtime": "onnx", "precision": "bfloat16"}, "bfloat16"),
])
def test_bad_runtime_arguments_are_zoo_errors(clip, kwargs, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.tag(clip[0], sample_rate=clip[1], **kwargs)


@pytest.mark.slow
def test_cli_tag_runtime_onnx_prints_the_tensorflow_tags(example_path, capsys):
    from zoo.cli import main

    printed = {}
    for runtime in ("tensorflow", "onnx"):
        assert main(["tag", str(example_path), "--runtime", runtime, "--top", "3"]) == 0
        printed[runtime] = [part.rsplit(" ", 1)[0] for part in capsys.readouterr().out.split("\t")[1].split(", ")]
    assert printed["onnx"] == printed["tensorflow"]


def test_random_weights_run_under_auto_and_onnx_refuses_them():
    import zoo
    from fixtures import synth

    taggram = zoo.tag(synth("noise", 4.0), weights=None, sample_rate=16000)  # auto: TensorFlow, no card needed
    assert taggram.probabilities.shape == (2, 50) and taggram.tags is None
    with pytest.raises(zoo.ZooError, match="random weights"):
        zoo.tag(synth("noise", 4.0), weights=None, sample_rate=16000, runtime="onnx")
