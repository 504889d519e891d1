"""Issue 25, cases 1 to 11 (a second hostile probe): one test or more each; each case has a test that fails
on 732db19 (for case 5 the cached-graph test: without a cached graph every runtime already refused there).

1 two runs into one --out, 2 finetune over an existing model, 3 a report replaced and killed midway,
4 a closed output pipe, 5 a changed weight file behind a cached ONNX graph, 6 an abort (134) after a
usage error, 7 an unusable MUSICZOO_CACHE, 8 Ctrl-C, 9 a non-UTF-8 CSV, 10 a taggram without tag
names, 11 the librosa example on a clip under 3 s. Signals and pipes run real `musiczoo` processes.
"""

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

import musiczoo_runtime.contract
import zoo
from fixtures import ROOT, synth
from zoo import ZooError
from musiczoo_runtime.atomic import LOCK_NAME, own_folder, owning, release_folders
from zoo.cli import main

MUSICZOO = [sys.executable, "-m", "zoo"]
HOLDER = ("import sys, time; from musiczoo_runtime.atomic import own_folder; own_folder(sys.argv[1]); "
          "print('owned', flush=True); time.sleep(60)")


def music(tmp_path, files=3, seconds=4.0, name="music"):
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        soundfile.write(folder / f"f{i}.wav", synth("noise", seconds, seed=i), 16000)
    return folder


def error_lines(err):
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.fixture
def holder(tmp_path):
    """holder(folder): another live process owning `folder` (killed at the end of the test)."""
    processes = []

    def hold(folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True,
                                   cwd=ROOT)
        assert process.stdout.readline().strip() == "owned"
        processes.append(process)
        return process

    yield hold
    for process in processes:
        process.kill()
        process.wait()


# 1. two runs into one --out: the second replaced the first's finished outputs, both exit 0

def test_1_a_second_run_into_an_owned_out_is_refused_naming_the_owner(tmp_path, holder, capsys):
    """issue 25 case 1: the second `extract` into a folder another run owns is refused (2) before any work."""
    folder, out = music(tmp_path, files=1), tmp_path / "out"
    owner = holder(out)
    status = main(["extract", str(folder), "--out", str(out), "--layer", "cnn1"])
    err = capsys.readouterr().err
    assert status == 2
    assert f"--out {out} is in use by process {owner.pid} (`-c {out}`, started " in err  # pid, command, time
    assert not list(out.glob("*.npz"))


@pytest.mark.parametrize("command", [["tag", "{folder}", "--plot", "{out}"],
                                     ["explain", "activations", "{folder}", "--out", "{out}"],
                                     ["export", "temporal", "--format", "onnx", "--out", "{out}"],
                                     ["explain", "filters", "temporal", "--out", "{out}"],
                                     ["evaluate", "{folder}", "--out", "{out}"]],
                         ids=["tag-plot", "explain-activations", "export", "explain-filters", "evaluate"])
def test_1_every_writer_owns_its_folder(command, tmp_path, holder, capsys):
    """issue 25 case 1, for the other commands writing under --out/--plot."""
    folder, out = music(tmp_path, files=1), tmp_path / "out"
    holder(out)
    status = main([part.format(folder=folder, out=out) for part in command])
    assert status == 2 and "is in use by process" in capsys.readouterr().err


def test_1_a_stale_lock_of_a_dead_run_is_taken_over_and_released(tmp_path):
    """issue 25 case 1: a run killed with SIGKILL leaves its lock file; the next run takes it over."""
    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.run([sys.executable, "-c", "import os, signal, sys; from musiczoo_runtime.atomic import own_folder; "
                             "own_folder(sys.argv[1]); os.kill(os.getpid(), signal.SIGKILL)", str(out)], cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL and (out / LOCK_NAME).exists()
    own_folder(out)
    assert f"pid={os.getpid()}" in (out / LOCK_NAME).read_text()
    release_folders()
    assert not (out / LOCK_NAME).exists()


def test_1_concurrent_owners_exactly_one_wins(tmp_path):
    """issue 25 case 1, as a race: eight processes claim one folder at once; exactly one owns it."""
    out = tmp_path / "out"
    out.mkdir()
    claim = ("import sys, time; from musiczoo_runtime.atomic import own_folder\ntry:\n    own_folder(sys.argv[1])\n"
             "    print('won', flush=True); time.sleep(2)\nexcept Exception as error:\n    print('lost', error)")
    processes = [subprocess.Popen([sys.executable, "-c", claim, str(out)], stdout=subprocess.PIPE, text=True,
                                  cwd=ROOT) for _ in range(8)]
    answers = [process.communicate(timeout=120)[0] for process in processes]
    assert sum(answer.startswith("won") for answer in answers) == 1
    # "in use by process N (...)", or "in use by another run" when the winner has not yet written its name
    assert all(" is in use by " in answer for answer in answers if answer.startswith("lost"))


@pytest.mark.slow  # two processes import TensorFlow
def test_1_two_real_extract_runs_lose_nothing(tmp_path):
    """issue 25 case 1, as reported: `extract DIR --out O` twice at once with different --layer."""
    folder, out = music(tmp_path, files=4, seconds=30.0), tmp_path / "out"
    first = subprocess.Popen([*MUSICZOO, "extract", str(folder), "--out", str(out), "--layer", "cnn1"],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / LOCK_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run([*MUSICZOO, "extract", str(folder), "--out", str(out), "--layer", "cnn2"],
                            capture_output=True, text=True, timeout=300)
    first_err = first.communicate(timeout=300)[1]
    assert first.returncode == 0, first_err
    assert second.returncode == 2 and f"in use by process {first.pid}" in second.stderr
    assert sorted(p.name for p in out.iterdir()) == ["f0.npz", "f1.npz", "f2.npz", "f3.npz"]
    assert all(set(np.load(p).files) >= {"cnn1"} and "cnn2" not in np.load(p).files for p in out.glob("*.npz"))


# 2. finetune --out EXISTING silently replaced the model

def test_2_finetune_refuses_an_existing_model_without_force(tmp_path, capsys):
    """issue 25 case 2: the existing model is refused before any work and left as it was."""
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.keras").write_bytes(b"the old model")
    status = main(["finetune", str(tmp_path / "no-data"), "--out", str(out), "--weights", "none"])
    assert status == 2
    assert "model.keras already exists: pass force=True (--force)" in capsys.readouterr().err
    assert (out / "model.keras").read_bytes() == b"the old model"


def test_2_finetune_force_replaces_the_model_whole(tmp_path, write_audio):
    """issue 25 case 2: with force the three files are replaced, no temporary or lock left behind."""
    from zoo.training.finetune import finetune

    for label in ("a", "b"):
        for i in range(2):
            write_audio(f"data/{label}/{i}.wav", synth("noise" if label == "a" else "chords", 3.5, seed=i), 16000)
    out = tmp_path / "model"
    out.mkdir()
    for name in ("model.keras", "labels.json", "history.json"):
        (out / name).write_text("old")
    finetune(tmp_path / "data", "timbral_temporal", None, out, epochs=1, validation_split=0, verbose=False,
             force=True)
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "labels.json", "model.keras"]
    assert json.loads((out / "labels.json").read_text())["labels"] == ["a", "b"]


# 3. a second report into the same folder, killed midway, mixed the two reports

def old_report(out):
    out.mkdir(parents=True)
    (out / "index.html").write_text("<p>old recording</p>")
    (out / "activations.png").write_bytes(b"old picture")
    return {p.name: p.read_bytes() for p in out.iterdir()}


def fake_report(die):
    """A report writer that writes its assets, then dies before its page (die=True) or completes."""
    def report(source, out_dir, *args, **kwargs):
        (Path(out_dir) / "activations.png").write_bytes(b"new picture")
        if die:
            raise KeyboardInterrupt
        (Path(out_dir) / "index.html").write_text("<p>new recording</p>")
        return Path(out_dir) / "index.html"

    return report


def test_3_a_report_is_not_replaced_without_force(tmp_path, example_path, capsys):
    """issue 25 case 3: a second report into a folder holding one is refused; the old one is untouched."""
    before = old_report(tmp_path / "report")
    assert main(["explain", "report", str(example_path), "--out", str(tmp_path / "report")]) == 2
    assert "index.html already exists: pass --force" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "report").iterdir()} == before


def test_3_a_replacing_report_killed_midway_leaves_the_old_one_whole(tmp_path, example_path, monkeypatch):
    """issue 25 case 3: the new report is staged beside the old; killed midway, the old report is intact."""
    before = old_report(tmp_path / "report")
    monkeypatch.setattr(importlib.import_module("zoo.explain.report"), "report", fake_report(die=True))
    assert main(["explain", "report", str(example_path), "--out", str(tmp_path / "report"), "--force"]) == 130
    assert {p.name: p.read_bytes() for p in (tmp_path / "report").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staged folder left


def test_3_a_forced_report_replaces_the_folder_whole(tmp_path, example_path, monkeypatch):
    """issue 25 case 3: completed, the new report alone is in the folder (no old asset mixed in)."""
    old_report(tmp_path / "report")
    (tmp_path / "report" / "old-only.png").write_bytes(b"an asset only the old report had")
    monkeypatch.setattr(importlib.import_module("zoo.explain.report"), "report", fake_report(die=False))
    assert main(["explain", "report", str(example_path), "--out", str(tmp_path / "report"), "--force"]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "report").iterdir()} == {
        "activations.png": b"new picture", "index.html": b"<p>new recording</p>"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_3_replacing_an_owned_folder_hands_the_lock_to_the_new_one(tmp_path):
    """issue 25 case 3: while the run goes on after the swap, the new folder is still owned by it."""
    from musiczoo_runtime.atomic import replace_folder, temporary

    out = tmp_path / "report"
    old_report(out)
    with owning(out), temporary(tmp_path, "report", directory=True) as staged:
        (staged / "index.html").write_text("new")
        replace_folder(staged, out)
        other = subprocess.run([sys.executable, "-c", "import sys; from musiczoo_runtime.atomic import own_folder; "
                                "own_folder(sys.argv[1])", str(out)], cwd=ROOT, capture_output=True, text=True)
        assert other.returncode == 1 and f"in use by process {os.getpid()}" in other.stderr
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]


# 4 and 8. a closed pipe and Ctrl-C: tracebacks, unprocessed files reported as errors, exit 1

def test_4_a_closed_pipe_is_no_files_error(tmp_path, monkeypatch, capsys):
    """issue 25 case 4: each_result lets BrokenPipeError end the run instead of failing every later file."""
    from musiczoo_runtime.cli_common import each_result

    seen = []

    def handle(path, result):
        seen.append(path)
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        each_result(((f"f{i}", i) for i in range(5)), list(range(5)), "tagging", handle)
    assert seen == ["f0"] and not error_lines(capsys.readouterr().err)


def read_one_line_then_close(command):
    """Runs `command` with stdout into a pipe of which one line is read, then closed (like `| head -1`)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = [process.stdout.readline()]
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=300)
    return process.returncode, got, err


def test_4_list_into_a_closed_pipe_exits_141_quietly():
    """issue 25 case 4: `musiczoo list | head -3`, with the reader gone before the first write (deterministic)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    done = subprocess.run([*MUSICZOO, "list"], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(write_end)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.mark.slow  # a fresh process imports TensorFlow
def test_4_tag_into_a_closed_pipe_exits_141_quietly(tmp_path):
    """issue 25 case 4: `musiczoo tag DIR | head -1`: no traceback, no file reported as an error, exit 141."""
    folder = music(tmp_path, files=6)
    status, got, err = read_one_line_then_close([*MUSICZOO, "tag", str(folder)])
    assert status == 141 and got[0].startswith(str(folder / "f0.wav"))
    assert "Traceback" not in err and not error_lines(err)


@pytest.mark.slow  # a fresh process imports TensorFlow
def test_8_ctrl_c_mid_run_exits_130_quietly_keeping_finished_outputs(tmp_path):
    """issue 25 case 8: SIGINT while `extract` writes: exit 130, one note, no traceback, no nanobind leak
    report, every finished .npz whole, no temporary or lock left."""
    folder, out = music(tmp_path, files=8, seconds=60.0), tmp_path / "out"
    process = subprocess.Popen([*MUSICZOO, "extract", str(folder), "--out", str(out), "--layer", "cnn1"],
                               stderr=subprocess.PIPE, text=True,
                               # as from a terminal: a suite started in the background inherits SIGINT ignored
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not list(out.glob("*.npz")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    err = process.communicate(timeout=120)[1]
    assert process.returncode == 130, err
    assert "Traceback" not in err and "nanobind" not in err and "KeyboardInterrupt" not in err
    assert error_lines(err) == ["error: interrupted: the outputs finished so far are kept"]
    finished = sorted(out.iterdir())
    assert finished and all(p.suffix == ".npz" and np.load(p)["cnn1"].shape[1] == 64 for p in finished)


# 5. one byte appended to a weight file was served by its cached ONNX graph

@pytest.fixture
def tampered_weights(tmp_path, monkeypatch):
    """A copy of the weight folder whose timbral_temporal mtt file has one byte more (or one byte flipped)."""
    from zoo.models import weights

    def make(change):
        folder = tmp_path / "weights"
        folder.mkdir(exist_ok=True)
        source = weights.weights_dir()
        shutil.copy(source / "manifest.json", folder)
        entry = weights.manifest()["models"]["timbral_temporal"]["weights"]["mtt"]
        data = bytearray((source / entry["file"]).read_bytes())
        if change == "appended":
            data += b"\0"
        else:
            data[len(data) // 2] ^= 0x01
        (folder / entry["file"]).write_bytes(bytes(data))
        monkeypatch.setenv("MUSICZOO_WEIGHTS_DIR", str(folder))
        weights.manifest.cache_clear()
        return entry

    yield make
    weights.manifest.cache_clear()


@pytest.mark.parametrize("change", ["appended", "flipped"])
def test_5_a_cached_onnx_graph_is_not_served_for_a_changed_weight_file(change, tampered_weights, tmp_path,
                                                                       monkeypatch):
    """issue 25 case 5: the graph cached for the right sha256 exists, yet the changed file is refused."""
    from zoo import __version__
    from zoo.inference import runtimes
    from zoo.models.onnx_graph import REVISION

    entry = tampered_weights(change)
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "onnx" / f"{__version__}-{REVISION}" / f"timbral_temporal.{entry['sha256']}.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"a graph converted when the file was intact")
    with pytest.raises(ZooError, match="weight file .* (has .* bytes|has sha256)"):
        runtimes.onnx_path("timbral_temporal", "mtt")


@pytest.mark.parametrize("runtime", ["tensorflow", "onnx", "auto"])
def test_5_every_runtime_refuses_a_changed_weight_file(runtime, tampered_weights, tmp_path, monkeypatch):
    """issue 25 case 5: one byte flipped (same size) is refused by every runtime, through the public API."""
    tampered_weights("flipped")
    monkeypatch.setenv("MUSICZOO_CACHE", str(tmp_path / "cache"))
    zoo.inference.api.network_function.cache_clear()
    with pytest.raises(ZooError, match="has sha256 .* the manifest says"):
        zoo.tag(synth("noise", 3.0), "timbral_temporal", "mtt", sample_rate=16000, runtime=runtime)


def test_5_the_hash_is_computed_once_per_file_state(tmp_path, monkeypatch):
    """issue 25 case 5: verifying at every load stays cheap: hashed again only when the file changes."""
    from zoo.models import weights

    path = tmp_path / "w.h5"
    path.write_bytes(b"weights")
    calls = []
    real = weights.sha256_of
    monkeypatch.setattr(weights, "sha256_of", lambda p: calls.append(p) or real(p))
    digest = real(path)
    for _ in range(3):
        weights.verify_file(path, digest, 7)
    assert len(calls) == 1
    path.write_bytes(b"weighTs")  # same size
    with pytest.raises(ZooError, match="has sha256"):
        weights.verify_file(path, digest, 7)


# 6. exit 134 "terminate called without an active exception" after a usage error

def test_6_the_reader_thread_is_stopped_and_joined_when_the_network_fails(tmp_path):
    """issue 25 case 6: a reader still decoding when the interpreter exits aborted it (134); now the run
    stops it and waits for it, even mid-file."""
    from zoo.inference import pipeline
    from musiczoo_runtime.audio import open_audio

    soundfile.write(tmp_path / "long.wav", synth("noise", 120.0), 16000)

    def failing_network():
        time.sleep(0.2)  # the reader is decoding by now
        raise ZooError("runtime='onnx' runs float32 networks")

    with pytest.raises(ZooError):
        list(pipeline.run(failing_network, [lambda: open_audio(tmp_path / "long.wav")] * 3, chunk_seconds=1.0))
    assert not [thread for thread in threading.enumerate() if thread.name == "musiczoo-reader"]


# 7. MUSICZOO_CACHE naming a file or an unwritable place

@pytest.mark.parametrize("where", ["a-file", "inside-a-file", "unwritable"])
def test_7_an_unusable_cache_is_a_clear_error_naming_the_variable(where, tmp_path, monkeypatch, capsys):
    """issue 25 case 7: a usage error naming MUSICZOO_CACHE, no traceback or abort."""
    (tmp_path / "a-file").write_text("not a folder")
    given = {"a-file": tmp_path / "a-file", "inside-a-file": tmp_path / "a-file" / "cache",
             "unwritable": Path("/proc/musiczoo-cache")}[where]
    monkeypatch.setenv("MUSICZOO_CACHE", str(given))
    with pytest.raises(ZooError, match=f"MUSICZOO_CACHE={given}"):
        musiczoo_runtime.contract.cache_dir()
    assert main(["tag", str(music(tmp_path, files=1)), "--runtime", "onnx"]) == 2
    assert f"MUSICZOO_CACHE={given}" in capsys.readouterr().err


# 9. a non-UTF-8 CSV given to finetune

def test_9_a_non_utf8_csv_names_the_file_and_the_encoding(tmp_path):
    """issue 25 case 9: a Latin-1 CSV is a ZooError naming the file, not a UnicodeDecodeError."""
    from zoo.training.datasets import read_dataset

    soundfile.write(tmp_path / "café.wav", synth("noise", 3.5), 16000)
    csv_path = tmp_path / "labels.csv"
    csv_path.write_bytes("café.wav,jazz\n".encode("latin-1"))
    with pytest.raises(ZooError, match=f"{csv_path} is not UTF-8 text .*byte 0xe9"):
        read_dataset(csv_path, "csv")


# 10. zoo.tag(f, weights=None): TypeError

def test_10_a_taggram_without_tag_names_says_so(tmp_path):
    """issue 25 case 10: an untrained network's taggram has probabilities but no names; asking for its top
    tags is a ZooError saying what to use instead (it was a TypeError)."""
    taggram = zoo.tag(synth("noise", 3.5), weights=None, sample_rate=16000, runtime="tensorflow")
    assert taggram.probabilities.shape == (1, 50) and taggram.tags is None
    with pytest.raises(ZooError, match="no tag names .* weights='mtt' or 'msd'"):
        taggram.top(3)


# 11. examples/onnx_librosa.py on a clip under 3 s

@pytest.mark.slow  # exports a graph, then a fresh process imports librosa and ONNX Runtime
def test_11_the_librosa_example_tags_a_clip_under_3_seconds_like_the_zoo(tmp_path):
    """issue 25 case 11: the example repeat-pads a 2 s clip as the zoo does, and agrees with zoo.tag."""
    from zoo.deploy.onnx_export import export_onnx

    path = export_onnx("timbral_temporal", "mtt", tmp_path, input="logmel")  # the graph the example feeds
    clip = tmp_path / "short.wav"
    soundfile.write(clip, synth("chords", 2.0), 16000)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "onnx_librosa.py"), str(path), str(clip), "--json"],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)  # librosa's first import is slow
    assert done.returncode == 0, done.stderr
    got = np.asarray(json.loads(done.stdout)["clip_probabilities"])
    want = zoo.tag(clip, runtime="tensorflow").clip_probabilities
    assert float(np.abs(got - want).max()) < 1e-4
