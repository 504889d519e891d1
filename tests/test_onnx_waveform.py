"""Waveform-in ONNX graphs: the windows of `patch_windows`, the ONNX front end against Kapre's on real music,
and tags from ONNX Runtime alone (fed by the NumPy windows) against `zoo.tag` under TensorFlow."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zoo
from fixtures import EXAMPLE, ROOT, synth
from musiczoo_runtime.contract import HOP_LENGTH, PATCH_WINDOW_SAMPLES, centred_frames
from musiczoo_runtime import patching
from musiczoo_runtime.audio import read_file

WEIGHT_SETS = [(name, tag) for tag in ("mtt", "msd") for name in zoo.list_models(pretrained=tag)]
CLIP_CASES = [("music", 3.0, "repeat"), ("music", 1.3, "drop"), ("short", 3.0, "repeat")]

# Runs in a fresh interpreter on numpy, onnxruntime and musiczoo_runtime.patching (TF-free): cuts the decoded
# recordings into windows, runs the whole windows in batches of 8 and a short one alone, saves the probabilities.
ORT_ONLY = textwrap.dedent("""
    import json, sys
    import numpy as np
    import onnxruntime
    from musiczoo_runtime.patching import patch_windows

    clips_file, out_file, cases, *models = sys.argv[1:]
    clips, report = np.load(clips_file), {}
    for path in models:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        for clip, hop, last_patch in json.loads(cases):
            starts, windows = patch_windows(clips[clip], hop, last_patch)
            whole = [w for w in windows if len(w) == 48128]
            rows = [session.run(["probabilities"], {"waveform": np.stack(whole[i:i + 8])})[0]
                    for i in range(0, len(whole), 8)]
            rows += [session.run(["probabilities"], {"waveform": w[None]})[0] for w in windows[len(whole):]]
            report[f"{path}|{clip}|{hop}|{last_patch}"] = {"starts": starts, "lengths": [len(w) for w in windows],
                                                          "probabilities": np.concatenate(rows).tolist()}
        report[path] = session.get_modelmeta().custom_metadata_map
    report["imported"] = sorted(m for m in sys.modules
                                if m.split(".")[0] in ("tensorflow", "keras", "kapre", "librosa", "scipy", "onnx"))
    json.dump(report, open(out_file, "w"))
""")


@pytest.fixture(scope="module")
def clips():
    """The bundled clip (20 s: a partial last patch) and a 0.5 s clip, as 16 kHz float32 arrays."""
    audio, _ = read_file(EXAMPLE)
    return {"music": audio, "short": synth("chords", 0.5)}


def zoo_patches(audio, hop_seconds, last_patch):
    """The patches `zoo.tag` runs: one centred log-mel over the recording (the streamed front end), cut."""
    from zoo.signal.streaming import LogmelStream

    stream = LogmelStream()
    logmel = np.concatenate([stream.push(audio), stream.finish()])
    starts = patching.patch_starts(len(logmel), patching.hop_frames(hop_seconds), last_patch)
    return starts, patching.cut(logmel, starts)


@pytest.mark.parametrize("seconds, hop, last_patch", [(20.0, 3.0, "repeat"), (20.0, 1.0, "drop"), (0.5, 3.0, "repeat"),
                                                     (0.01, 3.0, "repeat"), (7.3, 2.0, "repeat")])
def test_patch_windows_hold_each_patch_frames(seconds, hop, last_patch):
    audio = synth("noise", seconds)
    starts, windows = patching.patch_windows(audio, hop, last_patch)
    n_frames = centred_frames(len(audio))
    assert starts == patching.patch_starts(n_frames, patching.hop_frames(hop), last_patch)
    padded = patching.reflect_pad(audio)
    for start, window in zip(starts, windows):
        frames = 1 + (len(window) - 512) // HOP_LENGTH
        assert frames == min(187, n_frames - start) and len(window) <= PATCH_WINDOW_SAMPLES
        assert np.array_equal(window, padded[start * HOP_LENGTH:start * HOP_LENGTH + len(window)])
    with pytest.raises(zoo.ZooError, match="mono waveform"):
        patching.patch_windows(audio[:1])


@pytest.fixture(scope="module")
def frontend_session():
    import onnxruntime

    from zoo.models.onnx_frontend import frontend_model
    from zoo.models.onnx_graph import OPSET

    return onnxruntime.InferenceSession(frontend_model(OPSET).SerializeToString(), providers=["CPUExecutionProvider"])


def stored_float16(logmel):
    """The float16 mel values a log-mel was computed from (inverting log10(1 + 10000 mel)), as uint16 codes."""
    mel = (np.power(10.0, logmel.astype(np.float64)) - 1.0) / 1e4
    return mel.astype(np.float16).view(np.uint16).astype(np.int64)


@pytest.mark.parametrize("clip, hop, last_patch", CLIP_CASES)
def test_onnx_frontend_equals_kapre_on_zoo_patches(clips, frontend_session, clip, hop, last_patch, report):
    """Windows through the ONNX front end against the zoo's patches (Kapre): within 1e-4, except where the two
    DFTs' rounding puts a mel value on the other side of a float16 rounding boundary (one float16 step)."""
    starts, want = zoo_patches(clips[clip], hop, last_patch)
    got_starts, windows = patching.patch_windows(clips[clip], hop, last_patch)
    assert got_starts == starts
    got = np.concatenate([frontend_session.run(None, {"waveform": w[None]})[0] for w in windows])
    difference = np.abs(got - want)
    above = difference > 1e-4
    steps = np.abs(stored_float16(got) - stored_float16(want))
    assert np.all(steps[above] == 1), "every log-mel difference above 1e-4 is one float16 step of the mel"
    assert np.all(steps <= 1)
    if clip == "music":  # rare on real music (a synthesized chord repeats its few flips in every padded frame)
        assert above.mean() < 2e-3
    report(f"{clip} hop {hop} {last_patch}: max |ONNX - Kapre| {difference.max():.2g}, "
           f"{above.sum()} of {above.size} bins ({above.mean():.3%}) above 1e-4 (one float16 step each)")


def test_frontend_repeats_short_windows_and_crops_long_ones(frontend_session):
    audio = synth("sweep", 4.0)
    run = lambda window: frontend_session.run(None, {"waveform": window[None]})[0][0]  # noqa: E731
    whole = run(audio[:PATCH_WINDOW_SAMPLES])
    np.testing.assert_allclose(run(audio), whole, rtol=0, atol=1e-6)  # frames past 187 are ignored
    short = run(audio[:512 + 2 * HOP_LENGTH])  # 3 frames, repeated to 187
    np.testing.assert_allclose(short, patching.repeat_to(whole[:3], 187), rtol=0, atol=1e-6)
    batch = frontend_session.run(None, {"waveform": np.stack([audio[:PATCH_WINDOW_SAMPLES]] * 3)})[0]
    np.testing.assert_allclose(batch, np.stack([whole] * 3), rtol=0, atol=1e-6)


def run_without_tensorflow(paths, clips, tmp_path, cases=CLIP_CASES):
    """Runs the waveform graphs, fed by `patch_windows`, in a process without TensorFlow; returns its report."""
    np.savez(tmp_path / "clips.npz", **clips)
    script = tmp_path / "ort_only.py"
    script.write_text(ORT_ONLY)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "clips.npz"), str(tmp_path / "report.json"),
                           json.dumps(cases), *map(str, paths)], capture_output=True, text=True, timeout=900,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / "report.json").read_text())


def check_tags(name, weights, path, result, clips, cases=CLIP_CASES):
    """Each case's probabilities against zoo.tag under TensorFlow: within 1e-4, same top-3; returns the largest."""
    import onnx

    model = onnx.load(str(path))
    assert {node.domain for node in model.graph.node} <= {"", "ai.onnx"}  # standard operators only
    meta = result[str(path)]
    assert json.loads(meta["musiczoo.input"])["name"] == "waveform"
    assert json.loads(meta["musiczoo.outputs"])[0] == "probabilities"
    assert meta["musiczoo.weights_sha256"] == zoo.card(name, weights).sha256
    largest = 0.0
    for clip, hop, last_patch in cases:
        want = zoo.tag(clips[clip], name, weights, hop, last_patch, sample_rate=16000, runtime="tensorflow")
        got = result[f"{path}|{clip}|{hop}|{last_patch}"]
        probabilities = np.asarray(got["probabilities"])
        assert probabilities.shape == want.probabilities.shape
        largest = max(largest, float(np.abs(probabilities - want.probabilities).max()))
        assert largest <= 1e-4, (name, weights, clip, hop, largest)
        top = [want.tags[i] for i in np.argsort(-probabilities.mean(0), kind="stable")[:3]]
        assert top == [tag for tag, _ in want.top(3)]
    return largest


def test_waveform_graph_tags_like_zoo_without_tensorflow(clips, tmp_path, report):
    from zoo.deploy.onnx_export import export_onnx

    path = export_onnx("timbral_temporal", "mtt", tmp_path)
    result = run_without_tensorflow([path], clips, tmp_path)
    assert result["imported"] == []
    assert result[f"{path}|music|3.0|repeat"]["lengths"][-1] < PATCH_WINDOW_SAMPLES  # a partial last patch
    largest = check_tags("timbral_temporal", "mtt", path, result, clips)
    report(f"timbral_temporal mtt: largest probability difference to zoo.tag (TensorFlow) {largest:.2g}")


@pytest.mark.slow
def test_every_weight_set_tags_like_zoo_from_the_waveform(clips, tmp_path, report):
    from zoo.deploy.onnx_export import export_onnx

    assert len(WEIGHT_SETS) >= 12
    paths = {(name, weights): export_onnx(name, weights, tmp_path) for name, weights in WEIGHT_SETS}
    result = run_without_tensorflow(paths.values(), clips, tmp_path)
    assert result["imported"] == []
    worst = {f"{name}.{weights}": check_tags(name, weights, path, result, clips)
             for (name, weights), path in paths.items()}
    report("largest probability difference to zoo.tag per weight set: "
           + ", ".join(f"{key} {value:.1g}" for key, value in worst.items()))


def test_waveform_graph_is_cached_beside_the_logmel_graph():
    from zoo.inference.runtimes import onnx_path
    from zoo.models.onnx_frontend import REVISION

    waveform = onnx_path("temporal", "mtt", "waveform")
    logmel = onnx_path("temporal", "mtt", "logmel")
    assert waveform.parent == logmel.parent and waveform != logmel
    assert waveform.name == f"temporal.{zoo.card('temporal', 'mtt').sha256}.waveform-{REVISION}.onnx"
    modified = waveform.stat().st_mtime_ns
    assert onnx_path("temporal", "mtt", "waveform").stat().st_mtime_ns == modified  # converted once
    with pytest.raises(zoo.ZooError, match="waveform, logmel"):
        onnx_path("temporal", "mtt", "spectrogram")
