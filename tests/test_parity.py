"""The ported musicnn weights against the ORIGINAL TF1 graphs of the musicnn 0.1.0 wheel.

The wheel is fetched from PyPI with pip (cached in MUSICZOO_CACHE or
~/.cache/musiczoo); these tests run in CI on every submission.
"""

import librosa
import numpy as np
import pytest

import zoo
from fixtures import EXAMPLE, synth
from zoo.reference import musicnn as original

PORTS = {"MTT_musicnn": ("timbral_temporal", "mtt"), "MSD_musicnn": ("timbral_temporal", "msd"),
         "MTT_vgg": ("vgg", "mtt"), "MSD_vgg": ("vgg", "msd")}

pytestmark = [pytest.mark.slow, pytest.mark.platform]  # CI runs these on every supported Python


@pytest.fixture(scope="module")
def example_16k():
    return librosa.load(EXAMPLE, sr=16000)[0]


@pytest.fixture(scope="module")
def patches(example_16k):
    """At least 32 log-mel patches: the bundled clip plus synthesized signals."""
    sources = [synth(kind, 12.0, seed=3) for kind in ("noise", "sweep", "chords", "clicks")]
    sources.append(0.05 * synth("noise", 12.0, seed=9) + synth("chords", 12.0))
    real = original.original_patches(original.librosa_logmel(example_16k), hop_frames=93)
    synthesized = [original.original_patches(original.librosa_logmel(y)) for y in sources]
    result = np.concatenate([real, *synthesized])
    assert len(result) >= 32
    return result


@pytest.mark.parametrize("checkpoint", list(PORTS))
def test_model_parity_same_logmel(checkpoint, patches, report):
    name, tag = PORTS[checkpoint]
    ours = zoo.load(name, weights=tag, include_frontend=False).predict(patches, verbose=0)
    reference = original.OriginalGraph(checkpoint)(patches)
    difference = float(np.abs(ours - reference).max())
    report(f"{checkpoint} vs zoo {name}/{tag}: max |diff| {difference:.2e} over {len(patches)} patches (bar 1e-5)")
    assert difference < 1e-5


@pytest.mark.parametrize("checkpoint", list(PORTS))
def test_end_to_end_parity_on_the_bundled_clip(checkpoint, example_16k, report):
    name, tag = PORTS[checkpoint]
    reference = original.OriginalGraph(checkpoint)(original.original_patches(original.librosa_logmel(example_16k)))
    ours = zoo.tag(example_16k, model=name, weights=tag, sample_rate=16000, hop_seconds=3.0, last_patch="drop")
    assert ours.probabilities.shape == reference.shape
    difference = float(np.abs(ours.probabilities - reference).max())
    top3_ours = list(np.argsort(-ours.clip_probabilities)[:3])
    top3_reference = list(np.argsort(-reference.mean(axis=0))[:3])
    report(f"{checkpoint} waveform -> tags: max per-patch |diff| {difference:.2e} (bar 0.01); "
           f"top-3 {[ours.tags[i] for i in top3_ours]}")
    assert difference < 0.01
    assert top3_ours == top3_reference


def test_original_graph_runs_as_reference_not_our_reading():
    graph = original.OriginalGraph("MTT_musicnn")
    ops = {node.op for node in graph.graph.as_graph_def().node}
    assert {"FusedBatchNorm", "Conv2D", "Sigmoid"} <= ops  # the imported TF1 graph itself


def test_tag_lists_equal_the_original_configuration():
    lists = original.tag_lists()
    assert zoo.card("timbral_temporal", "mtt")["tags"] == lists["mtt"]
    assert zoo.card("vgg", "msd")["tags"] == lists["msd"]


@pytest.mark.parametrize("checkpoint", list(PORTS))
def test_cards_state_the_metrics_the_original_package_reports(checkpoint):
    name, tag = PORTS[checkpoint]
    roc, pr = original.reported_metrics(checkpoint)
    metrics = zoo.card(name, weights=tag).metrics
    assert metrics["roc_auc_reported"] == roc and metrics["pr_auc_reported"] == pr
    assert metrics["roc_auc"] == round(roc, 4) and metrics["pr_auc"] == round(pr, 4)
    assert "test set" in metrics["protocol"]


def test_msd_card():
    info = zoo.card("timbral_temporal", weights="msd")
    assert info["tags"][:3] == ["rock", "pop", "alternative"] and len(info["tags"]) == 50
    assert info["license"]["name"] == "ISC"
    assert info["source"]["package"] == "musicnn" and info["source"]["version"] == "0.1.0"
    assert info["source"]["checkpoint"] == "MSD_musicnn"
    assert len(info["sha256"]) == 64


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_cli_matches_the_original_musicnn_pipeline(pad_mode, capsys, report):
    """`musiczoo tag --hop 3 --last-patch drop` against librosa.load at 16 kHz + the original graph.

    musicnn was trained with librosa 0.7's reflect padding; run today, its own code would get
    librosa 0.11's default constant padding. Both are compared.
    """
    import json

    from zoo.cli import main

    assert main(["tag", str(EXAMPLE), "--hop", "3", "--last-patch", "drop", "--format", "json"]) == 0
    ours = json.loads(capsys.readouterr().out)["tags"]
    audio = librosa.load(EXAMPLE, sr=16000)[0]
    reference = original.original_graph("MTT_musicnn")(
        original.original_patches(original.librosa_logmel(audio, pad_mode=pad_mode))).mean(axis=0)
    tags = zoo.card("timbral_temporal")["tags"]
    difference = max(abs(ours[t] - float(p)) for t, p in zip(tags, reference))
    report(f"musiczoo tag vs original pipeline ({pad_mode} padding): max clip |diff| {difference:.2e} (bar 0.01)")
    assert difference < 0.01
