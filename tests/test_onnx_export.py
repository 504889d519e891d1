"""ONNX export: parity with Keras on real log-mel patches, metadata, and a process without TensorFlow or the zoo."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zoo
from fixtures import EXAMPLE, ROOT
from musiczoo_runtime.contract import FRONTEND_CONFIG
from zoo.deploy.onnx_export import export_onnx
from zoo.inference.runtimes import tensorflow_function
from musiczoo_runtime import patching
from musiczoo_runtime.audio import read_file
from zoo.signal.streaming import LogmelStream

WEIGHT_SETS = [(name, tag) for tag in ("mtt", "msd") for name in zoo.list_models(pretrained=tag)]

# Runs in a fresh interpreter: loads each exported file with onnxruntime and NumPy alone.
ORT_ONLY = textwrap.dedent("""
    import json, sys
    import numpy as np
    import onnxruntime

    patches_file, out_file, *models = sys.argv[1:]
    patches = np.load(patches_file)
    report = {}
    for path in models:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        outputs = session.run(None, {"logmel": patches})
        np.savez(path + ".outputs.npz", **{o.name: v for o, v in zip(session.get_outputs(), outputs)})
        report[path] = session.get_modelmeta().custom_metadata_map
    report["imported"] = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "zoo", "kapre"))
    json.dump(report, open(out_file, "w"))
""")


@pytest.fixture(scope="module")
def real_patches():
    """Log-mel patches `[9, 187, 96]` of the bundled clip, from the zoo's streamed front end (hop 2 s)."""
    audio, _ = read_file(EXAMPLE)
    stream = LogmelStream()
    logmel = np.concatenate([stream.push(audio), stream.finish()])
    return patching.cut(logmel, patching.patch_starts(len(logmel), 125, "drop"), 187)


def run_without_tensorflow(paths, patches, tmp_path):
    """Runs the exported files in a process importing only onnxruntime and NumPy; returns its report."""
    np.save(tmp_path / "patches.npy", patches)
    script = tmp_path / "ort_only.py"
    script.write_text(ORT_ONLY)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "patches.npy"), str(tmp_path / "report.json"),
                           *map(str, paths)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / "report.json").read_text())


def check_parity(name, weights, path, meta, patches):
    """The file's outputs (saved by the subprocess) against Keras: probabilities within 1e-5, every feature
    layer within 1e-5 of its largest magnitude; the metadata against the card. Returns the largest differences."""
    info = zoo.card(name, weights)
    names = ["probabilities", *info.feature_layers]
    expected = tensorflow_function(name, weights, tuple(names))(patches)
    got = np.load(f"{path}.outputs.npz")
    assert list(got.files) == names
    differences = {}
    for layer, want in zip(names, expected):
        want = np.asarray(want)
        assert got[layer].shape == want.shape, layer
        scale = 1.0 if layer == "probabilities" else float(np.abs(want).max())
        differences[layer] = float(np.abs(got[layer] - want).max()) / scale
        assert differences[layer] <= 1e-5, (name, weights, layer, differences[layer])
    assert json.loads(meta["musiczoo.tags"]) == list(info.tags)
    assert json.loads(meta["musiczoo.frontend"]) == FRONTEND_CONFIG
    assert meta["musiczoo.weights_sha256"] == info.sha256
    assert json.loads(meta["musiczoo.outputs"]) == names
    return differences


def test_timbral_temporal_exports_with_keras_parity_and_runs_without_tensorflow(real_patches, tmp_path, report):
    path = export_onnx("timbral_temporal", "mtt", tmp_path / "export", input="logmel")
    assert path == tmp_path / "export" / "timbral_temporal.mtt.logmel.onnx"
    result = run_without_tensorflow([path], real_patches, tmp_path)
    assert result["imported"] == []
    differences = check_parity("timbral_temporal", "mtt", path, result[str(path)], real_patches)
    report(f"timbral_temporal mtt: probabilities {differences['probabilities']:.2g}, features (relative) "
           f"{max(v for k, v in differences.items() if k != 'probabilities'):.2g}")


def test_export_refuses_to_overwrite_without_force(tmp_path):
    first = export_onnx("temporal", "mtt", tmp_path)
    with pytest.raises(zoo.ZooError, match="force"):
        export_onnx("temporal", "mtt", tmp_path)
    assert export_onnx("temporal", "mtt", tmp_path, force=True) == first
    assert [p.name for p in tmp_path.iterdir()] == ["temporal.mtt.onnx"]  # no temporary left behind


def onnx_input(path):
    """The `musiczoo.input` metadata of an ONNX file."""
    import onnx

    return {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}["musiczoo.input"]


def test_cli_exports_onnx(tmp_path):
    from zoo.cli import main

    assert main(["export", "temporal", "--format", "onnx", "--out", str(tmp_path)]) == 0
    assert main(["export", "temporal", "--format", "onnx", "--input", "logmel", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["temporal.mtt.logmel.onnx", "temporal.mtt.onnx"]
    assert json.loads(onnx_input(tmp_path / "temporal.mtt.onnx"))["name"] == "waveform"  # the default
    assert json.loads(onnx_input(tmp_path / "temporal.mtt.logmel.onnx"))["name"] == "logmel"
    assert main(["export", "temporal", "--format", "onnx", "--out", str(tmp_path), "--version", "3"]) == 2
    assert main(["export", "temporal", "--input", "logmel", "--out", str(tmp_path)]) == 2  # savedmodel


@pytest.mark.slow
def test_every_weight_set_exports_with_parity_and_runs_without_tensorflow(real_patches, tmp_path, report):
    assert len(WEIGHT_SETS) >= 10
    paths = {(name, weights): export_onnx(name, weights, tmp_path / "export", input="logmel")
             for name, weights in WEIGHT_SETS}
    result = run_without_tensorflow(paths.values(), real_patches, tmp_path)
    assert result["imported"] == []
    worst = {}
    for (name, weights), path in paths.items():
        differences = check_parity(name, weights, path, result[str(path)], real_patches)
        worst[f"{name}.{weights}"] = max(differences.values())
    report("largest difference per weight set (probabilities absolute, features relative): "
           + ", ".join(f"{key} {value:.1g}" for key, value in worst.items()))


@pytest.mark.slow
def test_readme_recipe_tags_like_the_zoo_without_it(tmp_path, report):
    """examples/onnx_librosa.py: librosa log-mel + ONNX Runtime, in a process without TensorFlow or the zoo."""
    path = export_onnx("timbral_temporal", "mtt", tmp_path, input="logmel")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "onnx_librosa.py"), str(path), str(EXAMPLE),
                           "--json"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["imported"] == []
    want = zoo.tag(EXAMPLE, runtime="tensorflow", last_patch="drop")
    got = np.asarray(out["clip_probabilities"])
    assert [tag for tag, _ in want.top(3)] == out["top"][:3]
    difference = float(np.abs(got - want.clip_probabilities).max())
    report(f"librosa recipe vs zoo.tag: largest clip probability difference {difference:.2g}")
    assert difference < 1e-4  # the front ends differ by FFT rounding, which can flip a float16 rounding step



def test_pooling_before_batch_norm_keeps_the_outputs(real_patches, monkeypatch):
    """The rewrite of zoo.models.onnx_pooling alone: the converted graph with and without it, on real patches."""
    import onnx
    import onnxruntime

    from zoo import __version__
    from zoo.models import onnx_graph
    from zoo.models.onnx_pooling import pool_before_batch_norm

    monkeypatch.setattr(onnx_graph, "pool_before_batch_norm", lambda model: 0)
    converted = onnx_graph.convert("temporal", "msd", __version__)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(converted)
    assert pool_before_batch_norm(rewritten) == 3  # the 128-, 64- and 32-frame filters, each pooled over the mel axis
    assert pool_before_batch_norm(rewritten) == 0
    outputs = [onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
               .run(None, {"logmel": real_patches}) for proto in (converted, rewritten)]
    for before, after in zip(*outputs):
        np.testing.assert_allclose(after, before, rtol=0, atol=1e-6 * max(1.0, np.abs(before).max()))
