"""The multiscale (time-pyramid) model: the pyramid's numbers, shapes at every level, variants, cost,
fine-tuning blocks, and with its pretrained weights a TF-only export."""

import json
import subprocess
import sys
from functools import lru_cache

import keras
import numpy as np
import pytest

import zoo
from fixtures import synth
from zoo import ZooError
from musiczoo_runtime.contract import N_MELS, PATCH_FRAMES
from zoo.models.architectures import multiscale
from zoo.models.catalog import spec
from zoo.models.loading import build
from zoo.training import finetune

LEVELS = [f"scale{level}" for level in range(multiscale.LEVELS)]
BINOMIAL = np.array([1, 4, 6, 4, 1]) / 16


@lru_cache(maxsize=None)
def logmel_model(pyramid="gaussian", frames=PATCH_FRAMES):
    return build("multiscale", 50, include_frontend=False, input_seconds=None if frames is None else 3.0,
                 pyramid=pyramid)


def numpy_pyramid(x, pyramid):
    """Reference: binomial low-pass with zero padding along axis 0, every other frame kept."""
    gaussian, details = [x], []
    for _ in range(multiscale.LEVELS - 1):
        padded = np.pad(gaussian[-1], ((2, 2), (0, 0)))
        smooth = sum(w * padded[k:k + len(gaussian[-1])] for k, w in enumerate(BINOMIAL))
        details.append(gaussian[-1] - smooth)
        gaussian.append(smooth[::2])
    return details + gaussian[-1:] if pyramid == "laplacian" else gaussian


@pytest.mark.parametrize("pyramid", ["gaussian", "laplacian"])
@pytest.mark.parametrize("frames", [187, 64, 9])
def test_pyramid_is_the_binomial_pyramid_over_time(pyramid, frames):
    x = np.random.default_rng(frames).normal(size=(frames, 5)).astype(np.float32)
    inputs = keras.Input((None, 5))
    levels = keras.Model(inputs, multiscale.time_pyramid(inputs, pyramid))(x[None])
    for level, (got, want) in enumerate(zip(levels, numpy_pyramid(x.astype(np.float64), pyramid), strict=True)):
        assert got.shape[1] == len(want) == -(-frames // 2 ** level)
        np.testing.assert_allclose(np.asarray(got)[0], want, atol=1e-5)


def test_level_lengths_and_frame_steps_follow_the_card():
    model = logmel_model()
    steps = spec("multiscale").frame_layers
    for level, name in enumerate(LEVELS):
        assert steps[name] == 2 ** level
        assert model.get_layer(name).output.shape[1] == -(-PATCH_FRAMES // steps[name])  # 187, 94, 47, 24


def test_every_level_runs_the_same_stack_with_its_own_weights():
    model = logmel_model()
    stacks = [[layer for layer in model.layers if layer.name == name or layer.name.startswith(f"{name}_")]
              for name in LEVELS]
    shapes = [[tuple(w.shape) for layer in stack for w in layer.weights] for stack in stacks]
    assert shapes[0] and all(s == shapes[0] for s in shapes)
    kernels = [model.get_layer(f"{name}_conv1").kernel for name in LEVELS]
    assert len({id(k) for k in kernels}) == len(LEVELS)


def test_laplacian_variant_is_an_architecture_option():
    gaussian, laplacian = logmel_model("gaussian"), logmel_model("laplacian")
    assert "scale0_detail" in [layer.name for layer in laplacian.layers]
    assert "scale0_detail" not in [layer.name for layer in gaussian.layers]
    assert gaussian.count_params() == laplacian.count_params()
    with pytest.raises(ZooError, match="pyramid must be one of gaussian, laplacian"):
        build("multiscale", 50, pyramid="wavelet")


def test_levels_option_one_level_is_the_network_without_its_pyramid():
    single = build("multiscale", 50, include_frontend=False, levels=1)
    names = {layer.name for layer in single.layers}
    assert "scale0" in names and not any(name.startswith("scale1") for name in names)
    assert single.get_layer("mean_pool").output.shape[-1] == spec("multiscale").feature_layers["scale0"]
    for bad in (0, 2.5, True):
        with pytest.raises(ZooError, match="levels >= 1"):
            build("multiscale", 50, levels=bad)


@pytest.mark.parametrize("seconds", [1.0, 4.2, 31.7])
def test_any_length_of_1_second_or_more(seconds):
    model = zoo.load("multiscale", weights=None, input_seconds=None)
    wave = synth("noise", seconds)[None]
    assert model.predict(wave, verbose=0).shape == (1, 50)
    with pytest.raises(ZooError, match="at least 1.0"):
        zoo.load("multiscale", weights=None, input_seconds=0.5)


def test_headless_outputs():
    x = np.random.default_rng(0).uniform(0, 3, (2, PATCH_FRAMES, N_MELS)).astype(np.float32)
    width = sum(spec("multiscale").feature_layers[name] for name in LEVELS)
    frames = zoo.load("multiscale", None, include_top=False, include_frontend=False, input_seconds=None)
    assert frames(x).shape == (2, -(-PATCH_FRAMES // 8), width)
    for pooling, layer in (("avg", "mean_pool"), ("max", "max_pool")):
        pooled = zoo.load("multiscale", None, include_top=False, include_frontend=False, pooling=pooling)
        assert pooled.layers[-1].name == layer
        assert pooled(x).shape == (2, width)
    top = keras.Model(logmel_model().input, logmel_model().get_layer("mean_pool").output)
    levels = keras.Model(logmel_model().input, [logmel_model().get_layer(name).output for name in LEVELS])
    means = np.concatenate([np.asarray(level).mean(axis=1) for level in levels(x)], axis=1)
    np.testing.assert_allclose(np.asarray(top(x)), means, rtol=1e-5, atol=1e-5)


def test_classes_logits_and_logmel_input():
    model = zoo.load("multiscale", None, include_frontend=False, classes=7, classifier_activation=None)
    assert model.input_shape == (None, PATCH_FRAMES, N_MELS) and model.output_shape == (None, 7)
    assert model.layers[-1].name == "logits"


def test_cheaper_than_the_teacher_and_the_card_counts_its_cost():
    cost, teacher = zoo.card("multiscale", None).cost, zoo.card("timbral_temporal", None).cost
    assert cost["trainable_params"] == spec("multiscale").params < teacher["trainable_params"]
    assert cost["gflop_per_patch"] < teacher["gflop_per_patch"]


def test_fine_tuning_blocks_go_from_the_coarsest_level_down():
    from zoo.training import portable

    network = portable.classifier_model("multiscale", None, 3, multi_label=False)
    backbone = network.get_layer("backbone")
    blocks = finetune.BLOCKS["multiscale"]
    assert [block[0] for block in blocks] == LEVELS[::-1] + ["input_bn"]
    for block in blocks:
        finetune._unfreeze(backbone, list(block))
        trainable = {layer.name for layer in backbone.layers if layer.trainable and layer.weights}
        assert trainable and all(name.split("_")[0] == block[0].split("_")[0] for name in trainable), block


@pytest.mark.slow  # saves a model and reloads it in a fresh interpreter
def test_a_transfer_model_on_multiscale_reloads_without_zoo(tmp_path):
    from zoo.training import portable

    network = portable.classifier_model("multiscale", None, 3, multi_label=False)
    network.save(tmp_path / "model.keras")
    batch = np.stack([synth("noise", 3.0, seed=i) for i in range(2)])
    np.save(tmp_path / "batch.npy", batch)
    script = ("import sys, numpy as np, kapre, keras\n"
              "model = keras.saving.load_model('model.keras')\n"
              "assert 'zoo' not in sys.modules, 'zoo was imported'\n"
              "np.save('reloaded.npy', model.predict(np.load('batch.npy'), verbose=0))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "reloaded.npy"), network.predict(batch, verbose=0), atol=1e-5)


@pytest.mark.slow  # exports a SavedModel and runs it in a TensorFlow-only process
@pytest.mark.skipif("mtt" not in spec("multiscale").weights, reason="multiscale has no mtt weights yet")
def test_export_runs_in_a_tensorflow_only_process(tmp_path, example_path, report):
    from test_export import TF_ONLY_SCRIPT

    import soundfile

    from zoo.deploy.savedmodel import export, non_core_ops
    from musiczoo_runtime.audio import read_file

    path = export("multiscale", "mtt", out_dir=tmp_path / "export")
    assert non_core_ops(path) == []
    waveform, _ = read_file(example_path)
    np.save(tmp_path / "clip.npy", waveform)
    soundfile.write(tmp_path / "clip.wav", waveform, 16000, subtype="PCM_16")
    (tmp_path / "tf_only.py").write_text(TF_ONLY_SCRIPT)
    subprocess.run([sys.executable, str(tmp_path / "tf_only.py"), str(path), str(tmp_path / "clip.npy"),
                    str(tmp_path / "clip.wav"), str(tmp_path / "clip.wav"), str(tmp_path / "report.json")],
                   check=True, capture_output=True)
    served = json.loads((tmp_path / "report.json").read_text())
    taggram = zoo.tag(example_path, model="multiscale")
    difference = np.abs(np.asarray(served["clip"]) - taggram.clip_probabilities).max()
    report(f"multiscale export vs zoo.tag (bundled clip): max clip diff {difference:.2e} (bar 1e-4)")
    assert served["imported"] == [] and difference < 1e-4
    assert served["patches"] == len(taggram.times) and served["embedding"] == 200
    assert served["alive_after_errors"] == [1, 50]


# per-level contributions (zoo.explain.scales)

needs_weights = pytest.mark.skipif("mtt" not in spec("multiscale").weights, reason="multiscale has no mtt weights yet")


@needs_weights
def test_scale_contributions_start_from_the_taggram_and_ablate_each_level(example_path):
    from zoo.explain.scales import scale_contributions

    result = scale_contributions(example_path)
    taggram = zoo.tag(example_path, model="multiscale")
    np.testing.assert_allclose(result.probabilities, taggram.clip_probabilities, atol=1e-5)
    assert result.levels == tuple(LEVELS) and result.drops.shape == (len(LEVELS), 50)
    assert result.patches == len(taggram.times)
    assert all(np.abs(result.drops[i]).max() > 0 for i in range(len(LEVELS)))  # every level matters somewhere
    np.testing.assert_allclose(result.frame_seconds, [0.016 * 2 ** i for i in range(len(LEVELS))])
    assert np.all(np.diff(result.span_seconds) > 0)
    tag, probability, drops, carrier = result.top(1)[0]
    assert tag == taggram.top(1)[0][0] and carrier == max(drops, key=drops.get) and drops[carrier] > 0
    for j, level in enumerate(result.carriers()):
        assert (level is None) == (result.drops[:, j].max() <= 0)


@needs_weights
def test_a_level_already_at_its_corpus_mean_contributes_nothing():
    from zoo.explain import scales

    network = zoo.load("multiscale", "mtt", include_frontend=False)
    mean = np.asarray(network.get_layer("backend_bn").moving_mean)[None]
    probabilities = scales._ablated_probabilities(network, LEVELS, mean.astype(np.float32))
    np.testing.assert_allclose(probabilities[1:], np.repeat(probabilities[:1], len(LEVELS), axis=0), atol=1e-6)
    x = np.random.default_rng(0).uniform(0, 3, (1, PATCH_FRAMES, N_MELS)).astype(np.float32)
    pooled = keras.Model(network.input, network.get_layer("pooled").output)(x).numpy()
    moved = scales._ablated_probabilities(network, LEVELS, pooled)
    assert all(np.abs(moved[i + 1] - moved[0]).max() > 0 for i in range(len(LEVELS)))


@needs_weights
def test_scale_contributions_refuse_what_they_cannot_explain(example_path):
    from zoo.explain.scales import scale_contributions

    only_piano = scale_contributions(example_path, tags=["piano", "violin"])
    assert only_piano.tags == ("piano", "violin") and only_piano.drops.shape == (len(LEVELS), 2)
    with pytest.raises(ZooError, match="no tag 'tuba'"):
        scale_contributions(example_path, tags=["tuba"])
    with pytest.raises(ZooError, match="need pretrained weights"):
        scale_contributions(example_path, weights=None)
    with pytest.raises(ZooError, match="no pyramid levels"):
        scale_contributions(example_path, model="temporal")


@needs_weights
def test_table_and_picture(example_path, tmp_path):
    from zoo.explain.scales import plot_contributions, scale_contributions, write_table

    result = scale_contributions(example_path)
    write_table(result, tmp_path / "clip.scales.tsv")
    plot_contributions(result, tmp_path / "clip.scales.png", title="clip")
    lines = (tmp_path / "clip.scales.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["tag", "probability", *[f"drop_{level}" for level in LEVELS], "carried_by"]
    assert len(lines) == 51 and lines[1].split("\t")[0] == result.top(1)[0][0]
    assert (tmp_path / "clip.scales.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_weights
def test_cli_explain_scales_writes_a_table_and_a_picture_per_file(example_path, tmp_path, capsys):
    from zoo.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "clip.ogg").write_bytes(example_path.read_bytes())
    (folder / "broken.wav").write_bytes(b"RIFF not really a wav")
    assert main(["explain", "scales", str(folder), "--out", str(tmp_path / "out"), "--top", "5"]) == 1
    assert "broken.wav" in capsys.readouterr().err
    assert (tmp_path / "out" / "clip.scales.tsv").is_file() and (tmp_path / "out" / "clip.scales.png").is_file()
    assert not (tmp_path / "out" / "broken.scales.tsv").exists()
    assert main(["explain", "scales", str(example_path), "--out", str(tmp_path / "x"), "--model", "temporal"]) == 2
