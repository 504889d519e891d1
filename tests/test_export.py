"""SavedModel export: TF-only serving, core ops, atomic versions, saved_model_cli, request builders."""

import base64
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
import tensorflow as tf

import zoo
from musiczoo_runtime.audio import read_file as load_audio
from musiczoo_runtime.errors import ZooError
from zoo.deploy import savedmodel
from zoo.deploy.savedmodel import export, non_core_ops, write_models_config
from zoo.deploy.serving import grpc_request, rest_request

SAVED_MODEL_CLI = Path(sys.executable).parent / "saved_model_cli"

TF_ONLY_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    version_dir, waveform_file, wav16, wav44, out_file = sys.argv[1:]
    model = tf.saved_model.load(version_dir)
    report = {"imported": sorted(m for m in ("zoo", "kapre", "tensorflow_io") if m in sys.modules)}
    waveform = np.load(waveform_file)
    out = model.signatures["serving_default"](waveform=tf.constant(waveform[None]))
    report["clip"] = out["clip_probabilities"].numpy()[0].tolist()
    report["patches"] = int(out["probabilities"].shape[1])
    report["tags"] = [t.decode() for t in out["tags"].numpy()[0]]
    report["embedding"] = int(out["embedding"].shape[1])
    wavs = tf.constant([open(wav16, "rb").read(), open(wav44, "rb").read()])
    out = model.signatures["serve_wav"](wav=wavs)
    report["wav_clip"] = out["clip_probabilities"].numpy().tolist()
    report["wav_patch_count"] = out["patch_count"].numpy().tolist()
    short = model.signatures["serving_default"](waveform=tf.constant(waveform[None, :16000]))
    report["short_patches"] = int(short["probabilities"].shape[1])
    errors = {}
    for name, call in {
        "dtype": lambda: model.signatures["serving_default"](waveform=tf.constant([[1, 2, 3]], tf.int32)),
        "not_wav": lambda: model.signatures["serve_wav"](wav=tf.constant([b"ID3 this is an mp3, not a wav"])),
        "nan": lambda: model.signatures["serving_default"](waveform=tf.constant([[np.nan] * 48000])),
    }.items():
        try:
            call()
            errors[name] = None
        except Exception as error:  # the process must survive a bad request
            errors[name] = type(error).__name__ + ": " + str(error)
    report["errors"] = errors
    report["alive_after_errors"] = model.signatures["serving_default"](
        waveform=tf.constant(waveform[None, :48000]))["clip_probabilities"].shape.as_list()
    json.dump(report, open(out_file, "w"))
""")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return export("timbral_temporal", "mtt", out_dir=out)


@pytest.fixture(scope="module")
def tf_only_report(exported, example_path, tmp_path_factory):
    """Runs both signatures on the bundled clip in a process that imports TensorFlow only."""
    folder = tmp_path_factory.mktemp("tf_only")
    waveform, _ = load_audio(example_path)
    np.save(folder / "clip.npy", waveform)
    soundfile.write(folder / "clip16.wav", waveform, 16000, subtype="PCM_16")
    soundfile.write(folder / "clip44.wav", soxr.resample(waveform, 16000, 44100, quality="HQ"), 44100,
                    subtype="PCM_16")
    (folder / "tf_only.py").write_text(TF_ONLY_SCRIPT)
    subprocess.run([sys.executable, str(folder / "tf_only.py"), str(exported), str(folder / "clip.npy"),
                    str(folder / "clip16.wav"), str(folder / "clip44.wav"), str(folder / "report.json")],
                   check=True, capture_output=True)
    return json.loads((folder / "report.json").read_text())


@pytest.mark.slow  # builds and reloads SavedModels
def test_layout_and_models_config(exported):
    assert exported.name == "1" and exported.parent.name == "timbral_temporal"
    assert (exported / "saved_model.pb").is_file() and (exported / "variables").is_dir()
    assert (exported / "assets" / "tags.txt").read_text().split("\n")[:3] == zoo.card("timbral_temporal")["tags"][:3]
    config = (exported.parent.parent / "models.config").read_text()
    assert 'name: "timbral_temporal"' in config and 'base_path: "/models/timbral_temporal"' in config
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.slow  # builds and reloads SavedModels
def test_tf_only_process_matches_zoo_tag(tf_only_report, example_path, report):
    assert tf_only_report["imported"] == []
    taggram = zoo.tag(example_path)
    clip = np.asarray(tf_only_report["clip"])
    difference = np.abs(clip - taggram.clip_probabilities).max()
    report(f"export serving_default vs zoo.tag (bundled clip): max clip diff {difference:.2e} (bar 1e-4)")
    assert difference < 1e-4
    assert tf_only_report["patches"] == len(taggram.times)
    assert tf_only_report["tags"] == taggram.tags
    assert tf_only_report["embedding"] == 200
    top3 = [tag for tag, _ in taggram.top(3)]
    for rate, wav_clip in zip((16000, 44100), tf_only_report["wav_clip"]):
        wav_top3 = [taggram.tags[i] for i in np.argsort(-np.asarray(wav_clip))[:3]]
        report(f"export serve_wav {rate} Hz: max clip diff vs zoo.tag "
               f"{np.abs(np.asarray(wav_clip) - taggram.clip_probabilities).max():.2e}, top-3 {wav_top3}")
        assert wav_top3 == top3
    assert tf_only_report["wav_patch_count"] == [len(taggram.times)] * 2


@pytest.mark.slow  # builds and reloads SavedModels
def test_bad_requests_get_readable_errors_and_the_process_survives(tf_only_report):
    assert tf_only_report["short_patches"] == 1  # 1 s of audio is padded to a patch, not refused
    errors = tf_only_report["errors"]
    assert "int32" in errors["dtype"] and "float" in errors["dtype"]
    assert "not a WAV file" in errors["not_wav"]
    assert "NaN" in errors["nan"]
    assert tf_only_report["alive_after_errors"] == [1, 50]


@pytest.mark.slow  # builds and reloads SavedModels
def test_graph_has_core_ops_only(exported):
    assert non_core_ops(exported) == []


@pytest.mark.slow  # builds and reloads SavedModels
@pytest.mark.platform  # tensorflow-io is an extra: CI installs it on one Python
def test_core_op_walk_catches_tensorflow_io_ops(tmp_path):
    tfio = pytest.importorskip("tensorflow_io", reason="tensorflow-io is not installed (the io extra, Python <= 3.12)")

    module = tf.Module()
    module.decode = tf.function(lambda x: tfio.audio.decode_wav(x, dtype=tf.int16),
                                input_signature=[tf.TensorSpec([], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "io_model"), signatures={"serving_default": module.decode})
    assert any(op.startswith("IO>") for op in non_core_ops(tmp_path / "io_model"))


@pytest.mark.slow  # builds and reloads SavedModels
def test_saved_model_cli_show_and_run(exported, tmp_path):
    shown = subprocess.run([str(SAVED_MODEL_CLI), "show", "--dir", str(exported), "--all"],
                           capture_output=True, text=True, check=True).stdout
    assert "signature_def['serving_default']" in shown and "signature_def['serve_wav']" in shown
    for output in ("probabilities", "clip_probabilities", "embedding", "tags", "times"):
        assert f"outputs['{output}']" in shown
    np.save(tmp_path / "waveform.npy", np.sin(np.arange(64000, dtype=np.float32) / 5)[None])
    ran = subprocess.run([str(SAVED_MODEL_CLI), "run", "--dir", str(exported), "--tag_set", "serve",
                          "--signature_def", "serving_default", "--inputs", f"waveform={tmp_path / 'waveform.npy'}"],
                         capture_output=True, text=True, check=True).stdout
    assert "Result for output key clip_probabilities" in ran


@pytest.mark.slow  # builds and reloads SavedModels
def test_next_version_refusal_and_force(exported):
    out = exported.parent.parent
    with pytest.raises(ZooError, match="already exists"):
        export("timbral_temporal", "mtt", out_dir=out, version=1)
    assert export("timbral_temporal", "mtt", out_dir=out, version=1, force=True) == exported
    with pytest.raises(ZooError, match="positive integer"):
        export("timbral_temporal", "mtt", out_dir=out, version=0)


@pytest.mark.slow  # builds and reloads SavedModels
def test_interrupted_export_leaves_no_version_and_config_unchanged(tmp_path, monkeypatch):
    (tmp_path / "vgg").mkdir()
    config = write_models_config(tmp_path)
    before = config.read_text()

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while verifying")

    monkeypatch.setattr(savedmodel, "_verify", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        export("vgg", "mtt", out_dir=tmp_path)
    assert list((tmp_path / "vgg").iterdir()) == []
    assert config.read_text() == before


@pytest.mark.slow  # builds and reloads SavedModels
def test_models_config_lists_every_exported_model(tmp_path):
    for name in ("timbral_temporal", "vgg_msd"):
        (tmp_path / name / "3").mkdir(parents=True)
    (tmp_path / "not_a_model").mkdir()
    text = write_models_config(tmp_path).read_text()
    assert text.count("config {") == 2 and '"vgg_msd"' in text and "not_a_model" not in text


@pytest.mark.slow  # builds and reloads SavedModels
def test_cli_export(tmp_path, capsys):
    from zoo.cli import main

    assert main(["export", "vgg", "--weights", "msd", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "vgg_msd" / "1")
    assert main(["export", "vgg", "--weights", "msd", "--out", str(tmp_path), "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_rest_request_formats(tmp_path):
    row = rest_request(waveforms=np.zeros(4, np.float32))
    assert row == {"signature_name": "serving_default", "instances": [{"waveform": [0.0] * 4}]}
    columnar = rest_request(waveforms=np.ones((2, 3), np.float32), columnar=True)
    assert columnar == {"signature_name": "serving_default", "inputs": {"waveform": [[1.0] * 3] * 2}}
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.zeros(100, np.float32), 16000, subtype="PCM_16")
    body = rest_request(wavs=[wav])
    assert body["signature_name"] == "serve_wav"
    assert base64.b64decode(body["instances"][0]["wav"]["b64"]) == wav.read_bytes()
    with pytest.raises(ZooError, match="either"):
        rest_request()


def test_grpc_request_round_trips():
    waveform = np.random.default_rng(0).standard_normal((2, 480)).astype(np.float32)
    request = grpc_request("timbral_temporal", waveforms=waveform, version=3)
    assert request.model_spec.signature_name == "serving_default" and request.model_spec.version.value == 3
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["waveform"]), waveform)
    request = grpc_request("vgg_msd", wavs=[b"RIFF....WAVE"])
    assert request.model_spec.signature_name == "serve_wav"
    assert tf.make_ndarray(request.inputs["wav"]).tolist() == [b"RIFF....WAVE"]


@pytest.mark.slow
def test_every_catalog_architecture_exports_with_core_ops_only(tmp_path):
    """Each model once (its ops follow its architecture; its weight sets differ only in values), plus one
    second weight set for the export's naming."""
    exported = []
    for name, weights in [(name, zoo.card(name, None)["available_weights"][0]) for name in zoo.list_models()
                          if zoo.card(name, None)["available_weights"]] + [("timbral_temporal", "msd")]:
        path = export(name, weights, out_dir=tmp_path)
        assert non_core_ops(path) == [], (name, weights)
        exported.append(path.parent.name)
        shutil.rmtree(path / "variables")  # keep the temporary folder small
    assert {"timbral_temporal", "timbral_temporal_msd", "vgg", "crnn", "multiscale"} <= set(exported)


@pytest.fixture
def fake_rest_server():
    """A loopback HTTP server answering like TF Serving's REST API (row or columnar answers, or an error)."""
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body))
            if body["signature_name"] == "serve_wav":
                status, answer = 400, {"error": "assertion failed: [serve_wav: a request item is not a WAV file]"}
            elif "instances" in body:
                status, answer = 200, {"predictions": [{"clip_probabilities": [0.25, 0.75], "tags": ["a", "b"]}]}
            else:
                status, answer = 200, {"outputs": {"clip_probabilities": [[0.25, 0.75]], "tags": [["a", "b"]]}}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()


def test_rest_client_reads_both_answer_formats_and_reports_errors(fake_rest_server):
    from zoo.deploy.serving import Client

    port, seen = fake_rest_server
    client = Client("timbral_temporal", rest_port=port)
    for columnar in (False, True):
        out = client.rest(waveforms=np.zeros(48000, np.float32), columnar=columnar)
        np.testing.assert_allclose(out["clip_probabilities"], [[0.25, 0.75]])
        assert out["tags"].tolist() == [["a", "b"]]
    assert seen[0][0] == "/v1/models/timbral_temporal:predict"
    with pytest.raises(ZooError, match="refused the request \\(400\\).*not a WAV file"):
        client.rest(wavs=[b"not a wav"])
    with pytest.raises(ZooError, match="unreachable"):
        Client("timbral_temporal", rest_port=1, timeout=2).rest(waveforms=np.zeros(10, np.float32))


def test_grpc_client_talks_to_a_prediction_service():
    """The client against a loopback gRPC PredictionService answering like TF Serving."""
    from concurrent import futures

    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from zoo.deploy.serving import Client

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 - gRPC's naming
            if request.model_spec.signature_name == "serve_wav":
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "serve_wav: a request item is not a WAV file")
            waveform = tf.make_ndarray(request.inputs["waveform"])
            response = predict_pb2.PredictResponse()
            response.outputs["clip_probabilities"].CopyFrom(
                tf.make_tensor_proto(np.full((len(waveform), 2), 0.5, np.float32)))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = Client("timbral_temporal", grpc_port=port, timeout=10)
        out = client.grpc(waveforms=np.zeros((3, 48000), np.float32))
        np.testing.assert_array_equal(out["clip_probabilities"], np.full((3, 2), 0.5, np.float32))
        with pytest.raises(ZooError, match="INVALID_ARGUMENT.*not a WAV file"):
            client.grpc(wavs=[b"not a wav"])
    finally:
        server.stop(None)
