"""Feature maps of a recording: one time grid for log-mel, layers and taggram; the same numbers as zoo.extract."""

import json

import matplotlib.image
import numpy as np
import pytest
import soundfile

import zoo
from fixtures import synth
from zoo.cli import main
from musiczoo_runtime.contract import PATCH_FRAMES
from zoo.explain import activations
from zoo.explain.activations import to_columns
from zoo.signal.streaming import LogmelStream


@pytest.fixture(scope="module")
def clip():
    """10 s of chords then clicks, at 16 kHz."""
    return np.concatenate([synth("chords", 5.0), synth("clicks", 5.0)])


@pytest.mark.slow
def test_one_frame_columns_are_the_features_zoo_extract_gives(clip):
    acts = activations(clip, "timbral_temporal", "mtt", ["temporal", "cnn3"], sample_rate=16000)
    features = zoo.extract(clip, "timbral_temporal", "mtt", ["temporal", "cnn3"], sample_rate=16000,
                           runtime="tensorflow")  # the Keras network activations reads (ONNX Runtime: within 1e-5 x scale)
    assert acts.column_frames == 1
    for name in ("temporal", "cnn3"):
        np.testing.assert_allclose(acts.layers[name], features[name], atol=1e-5)
        np.testing.assert_allclose(acts.times, features.times[name])
    taggram = zoo.tag(clip, "timbral_temporal", "mtt", sample_rate=16000, runtime="tensorflow")
    np.testing.assert_allclose(acts.taggram.probabilities, taggram.probabilities, atol=1e-6)


def test_wide_columns_tile_the_recording_on_one_grid(clip):
    acts = activations(clip, "timbral_temporal", "mtt", ["timbral", "penultimate", "timbral_7x38_conv"],
                       sample_rate=16000, max_columns=40)
    width = acts.column_frames
    stream = LogmelStream()
    frames = np.concatenate([stream.push(clip), stream.finish()])
    assert width == -(-len(frames) // 40)
    assert len(acts.times) == len(frames) // width  # whole columns only
    np.testing.assert_allclose(np.diff(acts.times), width / 62.5)
    expected = np.stack([frames[i:i + width].mean(axis=0) for i in range(0, len(frames) - width + 1, width)])
    np.testing.assert_allclose(acts.logmel, expected, atol=1e-4)
    assert {name: values.shape for name, values in acts.layers.items()} == {
        "timbral": (len(acts.times), 408), "penultimate": (len(acts.times), 200),
        "timbral_7x38_conv": (len(acts.times), 204)}
    assert acts.taggram.probabilities.shape[1] == 50


def test_columns_take_the_maximum_of_the_steps_whose_centre_they_hold():
    values = np.arange(2 * 187 * 3, dtype=float).reshape(2, 187, 3)
    columns = to_columns(values, 10, np.maximum)
    assert columns.shape == (2, 19, 3)
    np.testing.assert_array_equal(columns[:, 0], values[:, 9])
    np.testing.assert_array_equal(columns[:, -1], values[:, -1])
    coarse = to_columns(values[:, ::17], 17, np.maximum)  # 11 steps of 17 frames: one per column
    np.testing.assert_array_equal(coarse, values[:, ::17])


@pytest.mark.parametrize("model,expected", [("vgg", ["pool1", "pool2", "pool3"]),
                                            ("crnn", ["frame_features", "gru1"])])
def test_default_layers_of_square_models(model, expected, clip):
    acts = activations(clip[:16000 * 4], model, "mtt", sample_rate=16000)
    assert list(acts.layers) == expected
    assert acts.column_frames == -(-PATCH_FRAMES // {"vgg": 23, "crnn": 11}[model])
    assert all(len(v) == len(acts.times) for v in acts.layers.values())


def test_an_unknown_layer_lists_the_layers_that_exist(clip):
    with pytest.raises(zoo.ZooError, match=r"timbral_temporal has no layer 'cnn9'; layers you can look at: "
                                           r"timbral, temporal, cnn1.*timbral_7x38_conv"):
        activations(clip, "timbral_temporal", "mtt", ["cnn9"], sample_rate=16000)
    with pytest.raises(zoo.ZooError, match="max_columns"):
        activations(clip, "timbral_temporal", "mtt", max_columns=0, sample_rate=16000)


def test_cli_writes_a_picture_and_arrays_per_file_and_reports_a_bad_one(tmp_path, capsys, clip):
    good = tmp_path / "in" / "song.wav"
    good.parent.mkdir()
    soundfile.write(good, clip[:16000 * 4], 16000)
    bad = tmp_path / "in" / "broken.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEnot audio")
    status = main(["explain", "activations", str(tmp_path / "in"), "--model", "temporal", "--layer", "temporal",
                   "--out", str(tmp_path / "out")])
    assert status == 1
    assert "broken.wav" in capsys.readouterr().err
    assert matplotlib.image.imread(tmp_path / "out" / "song.png").shape[1] > 500
    arrays = np.load(tmp_path / "out" / "song.npz")
    assert arrays["temporal"].shape == (len(arrays["times"]), 153)
    assert main(["explain", "activations", str(good), "--model", "temporal", "--layer", "nope", "--out",
                 str(tmp_path / "x")]) == 2
    assert "layers you can look at" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_filters_prints_the_tempo_shares(tmp_path, capsys):
    assert main(["explain", "filters", "temporal", "--layer", "temporal_64_conv", "--null-draws", "2",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "temporal_64_conv: " in out and "BPM; random init" in out
    assert json.loads((tmp_path / "filters.json").read_text())["layers"]["temporal_64_conv"]["kind"] == "temporal"
    assert main(["explain", "filters", "vgg", "--kind", "timbral", "--out", str(tmp_path)]) == 2
    assert "vgg has no timbral filters" in capsys.readouterr().err
