"""`musiczoo finetune --strategy multiworker`: two local worker processes (TF_CONFIG, localhost ports) train one
model; only the chief writes it, it reloads, and it scores as a single-process run does."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from fixtures import ROOT, synth
from musiczoo_runtime.errors import ZooError
from zoo.training import strategies

FINETUNE = ["-m", "zoo", "finetune", "--epochs", "8", "--validation-split", "0.25", "--seed", "0", "--quiet"]


def two_classes(root, per_class=8):
    """Chords against noise bursts, 3 to 4.5 s each, at 16 and 22.05 kHz."""
    for i in range(per_class):
        rate, seconds = (16000, 22050)[i % 2], 3.0 + 0.5 * (i % 4)
        for label, kind in (("tonal", "chords"), ("noisy", "noise")):
            (root / label).mkdir(parents=True, exist_ok=True)
            y = synth(kind, seconds, rate, seed=i) * (1.0 + 0.2 * i)
            soundfile.write(root / label / f"{label}{i}.wav", y if kind == "chords" else 4 * y, rate)
    return root


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run(args, env, **options):
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **options)


@pytest.mark.slow
def test_two_local_workers_train_one_model_that_only_the_chief_writes(tmp_path, report):
    data = two_classes(tmp_path / "data")
    scratch = tmp_path / "worker-tmp"  # where the non-chief worker's temporary output folder goes
    scratch.mkdir()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(scratch))
    single = run([*FINETUNE, str(data), "--out", str(tmp_path / "single")], env)
    out, (single_out, single_err) = tmp_path / "multi", single.communicate(timeout=600)
    assert single.returncode == 0, single_err[-3000:]

    workers = [f"localhost:{port}" for port in free_ports(2)]
    processes = [run([*FINETUNE, str(data), "--out", str(out), "--strategy", "multiworker"],
                     dict(env, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": index}})))
                 for index in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]

    assert sorted(p.name for p in out.iterdir()) == ["history.json", "labels.json", "model.keras"]
    assert not list(scratch.iterdir()), "the non-chief worker left its temporary folder behind"
    assert not [p for p in tmp_path.rglob("model.keras") if p.parent not in (out, tmp_path / "single")]
    history = json.loads((out / "history.json").read_text())
    assert history["strategy"] == "multiworker" and history["replicas"] == 2
    multi_scores = history["validation"]
    single_scores = json.loads((tmp_path / "single" / "history.json").read_text())["validation"]

    import kapre  # noqa: F401 - registers the front end's layers
    import keras

    model = keras.saving.load_model(out / "model.keras")
    tonal = synth("chords", 3.0, seed=99)[None]
    probabilities = np.asarray(model.predict(tonal, verbose=0))[0]
    labels = json.loads((out / "labels.json").read_text())["labels"]
    assert labels[int(np.argmax(probabilities))] == "tonal"
    report(f"validation clip accuracy: 2 workers {multi_scores['clip_accuracy']:.3f}, one process "
           f"{single_scores['clip_accuracy']:.3f}; patch accuracy {multi_scores['patch_accuracy']:.3f} vs "
           f"{single_scores['patch_accuracy']:.3f}")
    assert abs(multi_scores["clip_accuracy"] - single_scores["clip_accuracy"]) <= 0.05
    assert abs(multi_scores["patch_accuracy"] - single_scores["patch_accuracy"]) <= 0.05


def test_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ZooError, match="needs TF_CONFIG"):
        strategies.make("multiworker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ZooError, match="needs TF_CONFIG"):
        strategies.make("multiworker")
    with pytest.raises(ZooError, match="strategy must be one of"):
        strategies.make("horovod")
    assert strategies.make("none") is None and strategies.is_chief(None)
