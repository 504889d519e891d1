"""Attribution on the log-mel (four methods), branch attribution with its completeness, and the commands' errors."""

import numpy as np
import pytest

from fixtures import synth
from zoo.cli import main
from musiczoo_runtime.errors import ZooError

SR = 16000
INSTRUMENTS = ("guitar", "strings", "piano", "violin", "harpsichord", "flute", "sitar", "harp", "cello", "synth")


def drum_loop(seconds=6.0, bpm=150, seed=0):
    """Decaying noise bursts (snare, hats) and low sine kicks on a grid: rhythm without pitched content."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * SR))
    step = int(SR * 60 / bpm / 2)  # eighth notes
    for i, start in enumerate(range(0, len(y) - SR // 4, step)):
        n = np.arange(SR // 4)
        if i % 4 == 0:  # kick: a falling low sine
            y[start:start + n.size] += 0.8 * np.sin(2 * np.pi * (60 + 60 * np.exp(-n / 400)) * n / SR) * np.exp(-n / 1500)
        if i % 4 == 2:  # snare: a noise burst
            y[start:start + n.size] += 0.5 * rng.standard_normal(n.size) * np.exp(-n / 900)
        y[start:start + n.size] += 0.15 * rng.standard_normal(n.size) * np.exp(-n / 150)  # hi-hat
    return (y / np.abs(y).max() * 0.9).astype(np.float32)


def sustained_note(seconds=6.0, f0=220.0, partials=(1.0, 0.6, 0.45, 0.3, 0.2, 0.12, 0.08), vibrato=5.0):
    """A bowed-string-like note by additive synthesis: harmonics, slow attack, gentle vibrato, no rhythm."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * f0 * (t + 0.002 * np.sin(2 * np.pi * vibrato * t) / (2 * np.pi * vibrato) * 2 * np.pi)
    y = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(partials))
    y *= np.minimum(1.0, t / 0.3)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


@pytest.mark.parametrize("model,method", [("crnn", "saliency"), ("vgg", "gradcam"), ("timbral_temporal", "gradcam"),
                                          ("crnn", "smoothgrad")])
def test_attribute_returns_one_map_per_patch(model, method):
    from zoo.explain.attribution import attribute

    waveform = synth("chords", 7.0)
    result = attribute(waveform, model, "mtt", "piano", method, sample_rate=SR, samples=2)
    assert result.logmel.shape == result.maps.shape == (len(result.times), 187, 96)
    assert result.tag == "piano" and result.method == method and len(result.logits) == len(result.times)
    assert np.isfinite(result.maps).all() and result.maps.min() >= 0 and result.maps.max() > 0
    if method == "gradcam":
        assert result.details["layer"] == {"crnn": "conv4", "vgg": "conv5"}.get(model, "cnn3_conv")
    listened = result.listen()
    assert listened.shape == result.waveform.shape


@pytest.mark.parametrize("model,tag,signal,baseline", [
    ("crnn", "piano", "chords", "mean"),
    ("crnn", "piano", "chords", "silence"),
    pytest.param("timbral_temporal", "drums", "drums", "mean", marks=pytest.mark.slow),  # ~200 gradients of 0.2 s
])
def test_integrated_gradients_are_complete_within_1e_3(model, tag, signal, baseline, report):
    from zoo.explain.attribution import attribute

    waveform = drum_loop(3.0) if signal == "drums" else synth(signal, 3.0)
    result = attribute(waveform, model, "mtt", tag, "integrated_gradients", sample_rate=SR, baseline=baseline,
                       tolerance=1e-3)
    gap = result.details["completeness_gap"]
    total = result.maps.reshape(len(gap), -1).sum(axis=1)
    expected = result.logits - result.details["baseline_logit"]
    assert np.allclose(total - expected, gap, atol=1e-5)  # the reported gap is the real one
    assert np.abs(gap).max() <= 1e-3
    assert baseline in result.details["baseline"]
    report(f"input IG from the {baseline} baseline, {model}, 3 s {signal}: gap {np.abs(gap).max():.1e} with "
           f"{result.details['evaluations'].max()} gradients (bar: 1e-3)")


def test_the_default_integrated_gradients_keep_to_their_budget_and_state_the_gap():
    from zoo.explain.attribution import FAST_MAX_POINTS, attribute, completeness_sentence, evidence_share

    result = attribute(synth("chords", 6.0), "crnn", "mtt", "piano", "integrated_gradients", sample_rate=SR)
    gap = result.details["completeness_gap"]
    expected = result.logits - result.details["baseline_logit"]
    assert np.allclose(result.maps.reshape(len(gap), -1).sum(axis=1) - expected, gap, atol=1e-5)
    assert result.details["evaluations"].max() <= FAST_MAX_POINTS == result.details["max_points"]
    share, largest = evidence_share(result)
    assert share == pytest.approx(1 - np.abs(gap).sum() / np.abs(expected).sum()) and largest == np.abs(gap).max()
    assert f"{share:.1%} of the tag's evidence" in completeness_sentence(result)


def test_the_commands_offer_the_library_s_methods():
    from zoo.cli.explain_attribution import ATTRIBUTION_METHODS
    from zoo.explain.attribution import METHODS

    assert ATTRIBUTION_METHODS == METHODS


def test_the_mean_baseline_is_each_patch_own_mean():
    from zoo.explain.attribution import baseline_patches

    patches = np.stack([np.full((187, 96), 1.0), np.linspace(0, 2, 187 * 96).reshape(187, 96)]).astype(np.float32)
    baselines = baseline_patches(patches, "mean")
    assert baselines.shape == patches.shape
    assert np.allclose(baselines[0], 1.0) and np.allclose(baselines[1], 1.0) and np.ptp(baselines[1]) == 0
    assert not baseline_patches(patches, "silence").any()


@pytest.mark.parametrize("call,words", [
    (lambda a: a(synth("noise", 3.0), "crnn", "mtt", "drum", sample_rate=SR), ["no tag 'drum'", "drums", "choral"]),
    (lambda a: a(synth("noise", 3.0), "vgg", "msd", "drums", sample_rate=SR), ["no tag 'drums'", "rock", "happy"]),
    (lambda a: a(synth("noise", 3.0), "crnn", "mtt", "drums", "lime", sample_rate=SR), ["unknown attribution method"]),
    (lambda a: a(synth("noise", 3.0), "crnn", "mtt", "drums", "integrated_gradients", baseline="blur", sample_rate=SR),
     ["unknown integrated-gradients baseline 'blur'", "mean", "silence"]),
    (lambda a: a(synth("noise", 3.0), "crnn", "mtt", "drums", "gradcam", layer="gru1", sample_rate=SR),
     ["not one", "conv4"]),
])
def test_attribute_rejects_unknown_tags_methods_and_layers(call, words):
    from zoo.explain.attribution import attribute

    with pytest.raises(ZooError) as caught:
        call(attribute)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.slow  # 11-15 s: path integrals and three commands
def test_branch_attribution_is_complete_and_names_its_baseline(report):
    from zoo.explain.branches import branch_attribution

    result = branch_attribution(drum_loop(3.0), tags=["drums", "beat", "fast", "violin"], sample_rate=SR)
    assert result.branches == ("timbral", "temporal") and result.integrated.shape == result.ablation.shape == (1, 2, 4)
    total = result.integrated.sum(axis=1)
    assert np.allclose(total - (result.logits - result.baseline_logits), result.gaps, atol=1e-5)
    assert np.abs(result.gaps).max() <= 1e-3
    assert "training data" in result.reference
    report(f"branch IG completeness gap {np.abs(result.gaps).max():.1e} with {max(result.details['evaluations'])} "
           f"path points (bar: 1e-3)")


def test_branch_attribution_needs_both_branches():
    from zoo.explain.branches import branch_attribution

    with pytest.raises(ZooError, match="no concatenated branches"):
        branch_attribution(synth("noise", 3.0), "vgg", "mtt", sample_rate=SR)


def shares(results, tags):
    """(timbral, temporal) mean integrated-gradients shares per tag over several results."""
    out = {}
    for tag in tags:
        rows = [r.summary()[tag]["integrated"] for r in results]
        out[tag] = (float(np.mean([row["timbral"] for row in rows])), float(np.mean([row["temporal"] for row in rows])))
    return out


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason=(
    "issue 14's branch bar is not met by the pretrained timbral_temporal mtt as measured: on these drum loops the "
    "timbral branch carries more of 'drums' (+4.51 vs +0.82), 'beat' (+4.60 vs +1.71) and 'fast' (+3.91 vs -0.09); "
    "on sustained notes timbral leads for piano/harpsichord/harp but not guitar/flute/sitar/cello/synth"))
def test_rhythm_goes_to_the_temporal_branch_and_timbre_to_the_timbral_one(report):
    from zoo.explain.branches import branch_attribution_many

    loops = [drum_loop(6.0, bpm, seed) for seed, bpm in enumerate((100, 128, 150, 174))]
    notes = [sustained_note(6.0, f0) for f0 in (110.0, 196.0, 330.0, 523.0)]
    results = [r for _, r in branch_attribution_many(loops + notes, "timbral_temporal", "mtt",
                                                     ("drums", "beat", "fast", *INSTRUMENTS), sample_rate=SR,
                                                     tolerance=1e-2)]  # shares differ by whole logits here
    assert not [r for r in results if isinstance(r, ZooError)]
    report(f"largest completeness gap {max(np.abs(r.gaps).max() for r in results):.1e} (tolerance 1e-2)")
    rhythm = shares(results[:4], ("drums", "beat", "fast"))
    timbre = shares(results[4:], INSTRUMENTS)
    report("drum loops, (timbral, temporal) logit shares: "
           + ", ".join(f"{t} ({a:+.2f}, {b:+.2f})" for t, (a, b) in rhythm.items()))
    report("sustained notes, (timbral, temporal) logit shares: "
           + ", ".join(f"{t} ({a:+.2f}, {b:+.2f})" for t, (a, b) in timbre.items()))
    assert all(temporal > timbral for timbral, temporal in rhythm.values())
    assert all(timbral > temporal for timbral, temporal in timbre.values())


@pytest.mark.parametrize("argv,words", [
    (["attribute", "{file}", "--tag", "drum"], ["no tag 'drum'", "drums"]),
    (["attribute", "{file}", "--tag", "drums", "--method", "gradcam", "--layer", "cnn9"], ["cnn9", "cnn3_conv"]),
    (["auralise", "{file}", "--layer", "cnn9", "--unit", "0"], ["no layer 'cnn9'", "timbral_7x38_conv"]),
    (["auralise", "{file}", "--layer", "penultimate", "--unit", "0"], ["cannot be auralised"]),
    (["branches", "{file}", "--tag", "drum"], ["no tag 'drum'", "drums"]),
    (["branches", "{file}", "--model", "vgg"], ["no concatenated branches"]),
])
def test_every_sub_command_refuses_bad_names(argv, words, write_audio, tmp_path, capsys):
    path = write_audio("clip.wav", synth("noise", 3.0), SR)
    code = main(["explain", *[a.replace("{file}", str(path)) for a in argv], "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert code in (1, 2)
    for word in words:
        assert word in error


@pytest.mark.slow  # 11-15 s: path integrals and three commands
def test_the_commands_write_pictures_audio_and_tables(write_audio, tmp_path, capsys):
    from PIL import Image

    path = write_audio("loop.wav", drum_loop(3.5), SR)
    out = tmp_path / "out"
    assert main(["explain", "attribute", str(path), "--tag", "drums", "--model", "crnn", "--listen",
                 "--out", str(out)]) == 0
    assert main(["explain", "auralise", str(path), "--model", "vgg", "--layer", "conv1", "--top", "2",
                 "--out", str(out)]) == 0
    assert main(["explain", "branches", str(path), str(write_audio("note.wav", sustained_note(3.0), SR)),
                 "--tag", "drums", "--tag", "violin", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"loop.drums.saliency.png", "loop.drums.saliency.npz", "loop.drums.saliency.wav", "loop.input.wav",
            "loop.branches.tsv", "loop.branches.png", "note.branches.tsv", "collection.branches.tsv",
            "collection.branches.png"} <= names
    assert len([n for n in names if n.startswith("loop.conv1.unit")]) == 2
    assert Image.open(out / "loop.drums.saliency.png").size[0] > 0
    table = (out / "collection.branches.tsv").read_text().splitlines()
    assert table[0].startswith("tag\tprobability") and len(table) == 3


def test_attribute_command_integrated_gradients_from_silence(write_audio, tmp_path, capsys):
    path = write_audio("loop.wav", drum_loop(3.0), SR)
    assert main(["explain", "attribute", str(path), "--tag", "drums", "--model", "crnn", "--method",
                 "integrated_gradients", "--baseline", "silence", "--tolerance", "1e-3", "--out", str(tmp_path)]) == 0
    saved = np.load(tmp_path / "loop.drums.integrated_gradients.npz")
    gap = saved["maps"].reshape(len(saved["logits"]), -1).sum(axis=1) - (saved["logits"] - saved["baseline_logit"])
    assert np.abs(gap).max() <= 1e-3 + 1e-5
    assert not (saved["logmel"] == 0).all() and "completeness" in capsys.readouterr().out
