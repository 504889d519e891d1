"""Fault injection: unreadable files as a real non-root user, OSErrors at open, read and write, a full
disk, and SIGKILL in the middle of a run. After each, no partial output is visible to a reader, the
other files complete, and a re-run completes."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile

from fixtures import ROOT, synth
from musiczoo_runtime.atomic import LOCK_NAME
from zoo.cli import main

FILES = {"a.wav": ("chords", 3.5, 16000), "b.flac": ("noise", 4.0, 22050), "c.wav": ("sweep", 3.2, 44100)}
LAYER = ["--layer", "penultimate"]


def music_folder(root):
    folder = root / "music"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (kind, seconds, rate) in FILES.items():
        soundfile.write(folder / name, synth(kind, seconds, rate), rate)
    return folder


def outputs(out):
    """What a reader sees in the output folder: the .npz files (each must load whole), and anything hidden."""
    complete = [p.name for p in sorted(out.glob("*.npz")) if np.load(p)["penultimate"].shape[1] == 200]
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    return complete, hidden


def rerun_completes(folder, out):
    assert main(["features", str(folder), *LAYER, "--out", str(out)]) == 0
    complete, hidden = outputs(out)
    assert complete == ["a.npz", "b.npz", "c.npz"] and hidden == []


# 1. the bar: a non-root user, an unreadable file in a folder of good ones

def can_drop_to_a_user_namespace():
    if not shutil.which("unshare"):
        return False
    done = subprocess.run(["unshare", "--user", "--map-user=1000", "--map-group=1000", "true"], capture_output=True)
    return done.returncode == 0


@pytest.mark.slow  # a fresh process imports TensorFlow
@pytest.mark.skipif(not can_drop_to_a_user_namespace(), reason="user namespaces are not available here")
def test_1_unreadable_file_as_a_non_root_user(tmp_path):
    """`unshare --user` runs musiczoo as uid 1000 without capabilities, so chmod 000 really denies reading."""
    folder = music_folder(tmp_path)
    locked = folder / "locked.wav"
    soundfile.write(locked, synth("clicks", 3.0), 16000)
    locked.chmod(0)
    done = subprocess.run(["unshare", "--user", "--map-user=1000", "--map-group=1000", sys.executable, "-m", "zoo",
                           "tag", str(folder), "--format", "json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    records = {json.loads(line)["file"].rsplit("/", 1)[1]: json.loads(line) for line in done.stdout.splitlines()}
    assert done.returncode == 1
    assert all("tags" in records[name] for name in FILES)
    assert "permission denied" in records["locked.wav"]["error"]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "locked.wav" in errors[0] and "Traceback" not in done.stderr


# OSErrors at open, read and write, and a full disk

def test_os_error_while_reading_fails_that_file_alone(tmp_path, monkeypatch):
    folder, out = music_folder(tmp_path), tmp_path / "out"
    real_read = soundfile.SoundFile.read

    def failing_read(self, *args, **kwargs):
        if self.name.endswith("b.flac"):
            raise OSError(errno.EIO, "Input/output error")
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(soundfile.SoundFile, "read", failing_read)
    assert main(["features", str(folder), *LAYER, "--out", str(out)]) == 1
    assert outputs(out) == (["a.npz", "c.npz"], [])
    monkeypatch.undo()
    rerun_completes(folder, out)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # numpy's zip writer, left open
@pytest.mark.parametrize("fault", ["io error on write", "disk full", "rename fails"])
def test_a_failed_write_leaves_no_partial_output(fault, tmp_path, monkeypatch, capsys):
    from musiczoo_runtime import atomic
    from musiczoo_runtime import writers

    folder, out = music_folder(tmp_path), tmp_path / "out"
    victim = out / "b.npz"
    real_open, real_replace = open, os.replace

    def faulty_open(file, mode="r", *args, **kwargs):  # the writer opens its temporary next to b.npz
        if str(file).startswith(str(out / ".b.npz.")):
            if fault == "disk full":
                return real_open("/dev/full", mode, *args, **kwargs)  # every write: ENOSPC, from the kernel
            raise OSError(errno.EIO, "Input/output error")
        return real_open(file, mode, *args, **kwargs)

    def faulty_replace(source, target):
        if str(target) == str(victim):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target)

    if fault == "rename fails":
        monkeypatch.setattr(atomic.os, "replace", faulty_replace)
    else:
        monkeypatch.setattr(writers, "open", faulty_open, raising=False)
    assert main(["features", str(folder), *LAYER, "--out", str(out)]) == 1
    assert outputs(out) == (["a.npz", "c.npz"], [])
    err = capsys.readouterr().err
    reason = "no space left on the device" if fault == "disk full" else "input/output error"
    assert f"its features could not be written to {victim}: {reason}" in err
    monkeypatch.undo()
    rerun_completes(folder, out)


# SIGKILL in the middle of a run, then a re-run

DYING_WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np

    written = []

    def dying_savez(handle, **arrays):  # the second output: half written, then the process is killed
        written.append(1)
        if len(written) == 2:
            handle.write(b"PK\\x03\\x04 half an npz")
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real_savez(handle, **arrays)

    real_savez, np.savez = np.savez, dying_savez
    from zoo.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.slow  # a fresh process imports TensorFlow
def test_sigkill_while_writing_features_then_a_rerun_completes(tmp_path):
    folder, out = music_folder(tmp_path), tmp_path / "out"
    killed = subprocess.run([sys.executable, "-c", DYING_WRITER, "features", str(folder), *LAYER, "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL
    complete, hidden = outputs(out)
    assert complete == ["a.npz"]  # the half-written b.npz is not visible as b.npz
    assert LOCK_NAME in hidden  # the killed run's lock: its flock died with it, the re-run takes it over
    (partial,) = [name for name in hidden if name != LOCK_NAME]
    assert partial.startswith(".b.npz.") and partial.endswith(".musiczoo-tmp")
    rerun_completes(folder, out)


DYING_EXPORT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from test_hardening import tiny_module
    from zoo.deploy import savedmodel

    def killed_while_verifying(saved, module):
        os.kill(os.getpid(), signal.SIGKILL)

    savedmodel.serving_module, savedmodel._verify = tiny_module, killed_while_verifying
    savedmodel.export("vgg", "mtt", out_dir=sys.argv[1])
""")


@pytest.mark.slow  # a fresh process imports TensorFlow
def test_sigkill_during_an_export_then_a_rerun_completes(tmp_path, monkeypatch):
    from test_hardening import tiny_module
    from zoo.deploy import savedmodel

    killed = subprocess.run([sys.executable, "-c", DYING_EXPORT.format(tests=str(ROOT / "tests")), str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL
    staged = [p.name for p in (tmp_path / "vgg").iterdir()]
    assert len(staged) == 1 and staged[0].endswith(".musiczoo-tmp")  # no version folder: TF Serving sees nothing
    monkeypatch.setattr(savedmodel, "serving_module", tiny_module)
    monkeypatch.setattr(savedmodel, "_verify", lambda saved, module: None)
    assert savedmodel.export("vgg", "mtt", out_dir=tmp_path) == tmp_path / "vgg" / "1"
    assert [p.name for p in (tmp_path / "vgg").iterdir()] == ["1"]  # the killed run's staging is gone
