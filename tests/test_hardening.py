"""Issue 15's ten reproduced defects, one test (or more) each: every one failed on 3e022d6 and passes now.

Numbers in the test names are the issue's: 1 unreadable files, 2 output collisions, 3 the export
race, 4 silent wrong results from the API, 5 debris of killed runs, 6 tracebacks for bad arguments
and weight files, 7 a failed --plot, 8 nonsense counts, 9 exported signatures, 10 CSV rows and
decoder chatter. Fault injection and the SIGKILL runs are in test_reliability.py, the property tests
in test_hardening_properties.py.
"""

import builtins
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import zoo
from fixtures import ROOT, graph_error, synth, wav_bytes
from zoo import ZooError
from zoo.cli import main


def good_set(write_audio, folder="music"):
    """Two good files in `folder` (a WAV at 16 kHz, a FLAC at 44.1 kHz stereo)."""
    a = write_audio(f"{folder}/a.wav", synth("chords", 4.0), 16000)
    b = write_audio(f"{folder}/b.flac", np.stack([synth("noise", 4.0, 44100)] * 2, axis=1), 44100, "FLAC")
    return a, b


def json_records(out):
    return {json.loads(line)["file"].rsplit("/", 1)[1]: json.loads(line) for line in out.splitlines()}


def error_lines(err):
    return [line for line in err.splitlines() if line.startswith("error:")]


# 1. one unreadable file aborted the batch and lost the finished results

def refuse_to_open(monkeypatch, victim, error):
    """Makes Python's open() raise `error` for `victim`, as the operating system would for a non-root user."""
    real = builtins.open

    def guarded(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(victim):
            raise error
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


@pytest.mark.parametrize("error", [PermissionError(errno.EACCES, "Permission denied"),
                                   OSError(errno.EIO, "Input/output error"),
                                   IsADirectoryError(errno.EISDIR, "Is a directory"),
                                   FileNotFoundError(errno.ENOENT, "No such file or directory")],
                         ids=["permission", "io-error", "became-a-folder", "vanished"])
def test_1_any_os_error_of_one_file_is_that_files_error(error, tmp_path, write_audio, capsys, monkeypatch):
    """As root, chmod 000 does not stop reading, so open() is made to fail as it does for other users
    (the real non-root run is test_reliability.py::test_1_unreadable_file_as_a_non_root_user)."""
    good_set(write_audio)
    victim = write_audio("music/middle.wav", synth("sweep", 4.0), 16000)
    victim.chmod(0)
    refuse_to_open(monkeypatch, victim, error)
    status = main(["tag", str(tmp_path / "music"), "--format", "json"])
    captured = capsys.readouterr()
    records = json_records(captured.out)
    assert status == 1
    assert "tags" in records["a.wav"] and "tags" in records["b.flac"]
    assert records["middle.wav"]["error"].startswith(str(victim))
    assert len(error_lines(captured.err)) == 1 and "Traceback" not in captured.err


def test_1_a_folder_named_like_audio_fails_alone(tmp_path, write_audio):
    a, b = good_set(write_audio)
    folder = tmp_path / "x.wav"
    folder.mkdir()
    results = dict(zoo.tag_many([a, folder, b]))
    assert "it is a folder" in str(results[folder]) and str(folder) in str(results[folder])
    assert not isinstance(results[a], ZooError) and not isinstance(results[b], ZooError)


# 2. outputs were silently overwritten

def test_2_features_mirror_folders_and_refuse_clashes_before_any_work(tmp_path, write_audio, capsys):
    write_audio("lib/a/x.wav", synth("chords", 3.5), 16000)
    write_audio("lib/b/x.wav", synth("noise", 3.5), 16000)
    out = tmp_path / "out"
    assert main(["features", str(tmp_path / "lib"), "--layer", "penultimate", "--out", str(out)]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.npz")) == ["a/x.npz", "b/x.npz"]
    first, second = np.load(out / "a" / "x.npz"), np.load(out / "b" / "x.npz")
    assert not np.allclose(first["penultimate"], second["penultimate"])

    write_audio("lib/a/x.flac", synth("sweep", 3.5), 16000, "FLAC")
    before = sorted(out.rglob("*"))
    capsys.readouterr()
    assert main(["features", str(tmp_path / "lib"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a/x.flac and " in err and "a/x.wav -> " in err and "nothing was done" in err
    assert sorted(out.rglob("*")) == before  # refused before any work


def test_2_plots_follow_the_same_rule(tmp_path, write_audio, capsys):
    one = write_audio("a/song.wav", synth("chords", 3.5), 16000)
    two = write_audio("b/song.flac", synth("noise", 3.5), 16000, "FLAC")
    assert main(["tag", str(one), str(two), "--plot", str(tmp_path / "plots")]) == 2
    assert "song.wav and" in capsys.readouterr().err
    assert not (tmp_path / "plots").exists()  # nor the folder itself (issue 25 case 22)


# 3. export replaced a version it did not create

def tiny_module(name, weights, tags_file):
    """A stand-in for the serving module: the export's folder handling, without building a network."""
    import tensorflow as tf

    module = tf.Module()
    module.tags_asset = tf.saved_model.Asset(str(tags_file))
    module.serving_default = tf.function(lambda waveform: {"twice": 2.0 * waveform},
                                         input_signature=[tf.TensorSpec(None, tf.float32, name="waveform")])
    module.serve_wav = tf.function(lambda wav: {"length": tf.strings.length(wav)},
                                   input_signature=[tf.TensorSpec(None, tf.string, name="wav")])
    return module


@pytest.fixture
def racing_export(monkeypatch, tmp_path):
    """An export whose version folder is created by 'another exporter' while this one verifies."""
    from zoo.deploy import savedmodel

    def verify_while_another_exporter_writes(saved, module):
        other = tmp_path / "out" / "vgg" / "1"
        other.mkdir(parents=True)
        (other / "theirs.txt").write_text("another exporter's version")

    monkeypatch.setattr(savedmodel, "serving_module", tiny_module)
    monkeypatch.setattr(savedmodel, "_verify", verify_while_another_exporter_writes)
    return savedmodel.export


def test_3_export_never_replaces_a_version_that_appeared_meanwhile(racing_export, tmp_path):
    with pytest.raises(ZooError, match="appeared while this export was running"):
        racing_export("vgg", "mtt", out_dir=tmp_path / "out", version=1)
    assert (tmp_path / "out" / "vgg" / "1" / "theirs.txt").read_text() == "another exporter's version"
    assert [p.name for p in (tmp_path / "out" / "vgg").iterdir()] == ["1"]  # no staging left either


def test_3_an_automatic_version_moves_on_to_the_next_number(racing_export, tmp_path):
    final = racing_export("vgg", "mtt", out_dir=tmp_path / "out")
    assert final == tmp_path / "out" / "vgg" / "2" and (final / "saved_model.pb").exists()
    assert (tmp_path / "out" / "vgg" / "1" / "theirs.txt").exists()


# 4. silent wrong results from the API

def test_4_nine_channels_first_are_read_as_channels():
    stereo_like = np.stack([synth("chords", 3.0)] * 9)  # [9 channels, 48000 samples]
    from musiczoo_runtime.audio import from_array

    assert from_array(stereo_like, 16000).frames == 48000
    with pytest.raises(ZooError, match="cannot tell samples from channels"):
        from_array(np.zeros((40, 40), np.float32), 16000)


def test_4_bytes_get_a_message_about_bytes():
    with pytest.raises(ZooError, match="got 12 bytes: pass the path of an audio file"):
        zoo.tag(b"RIFF\x00\x00\x00\x00WAVE")


def test_4_amplitudes_far_outside_the_unit_range_are_normalised_or_refused():
    """Float audio at 8x full scale is normalised with a warning (issue 25 case 13); at 1e6 it is corrupt and
    refused; integer PCM passed as float is refused."""
    from musiczoo_runtime.errors import ZooWarning

    y = synth("chords", 3.0) / np.abs(synth("chords", 3.0)).max()
    with pytest.warns(ZooWarning, match="reach 8,"):
        loud = zoo.tag(8 * y, sample_rate=16000, runtime="tensorflow")
    np.testing.assert_allclose(loud.probabilities, zoo.tag(y, sample_rate=16000, runtime="tensorflow").probabilities,
                               atol=1e-5)
    with pytest.raises(ZooError, match=r"reaches 1e\+06, more than 100 times full scale"):
        zoo.tag(1e6 * y, sample_rate=16000)
    with pytest.raises(ZooError, match=r"integer PCM passed as float.*32768"):
        zoo.tag(np.round(20000 * y), sample_rate=16000)


# 5. killed runs left debris that readers picked up and nothing cleaned

def test_5_a_killed_writers_temporary_is_invisible_and_cleaned_by_the_next_run(tmp_path, write_audio):
    song = write_audio("in/song.wav", synth("chords", 3.5), 16000)
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from musiczoo_runtime.atomic import atomic_path
        with atomic_path(Path({str(out / "song.npz")!r})) as tmp:
            Path(tmp).write_bytes(b"PK half an npz")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    killed = subprocess.run([sys.executable, "-c", code], cwd=ROOT)
    assert killed.returncode == -9
    debris = [p.name for p in out.iterdir()]
    assert len(debris) == 1 and debris[0].startswith(".")
    assert list(out.glob("*.npz")) == [] and list(out.rglob("*.npz")) == []  # readers never see it
    assert main(["features", str(song), "--layer", "penultimate", "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["song.npz"]  # the next run cleaned the debris


# 6. tracebacks instead of messages

@pytest.mark.parametrize("where", ["a file", "under a file", "proc"])
def test_6_an_impossible_features_out_is_a_usage_error_before_any_work(where, tmp_path, write_audio, capsys):
    song = write_audio("song.wav", synth("chords", 3.5), 16000)
    (tmp_path / "afile").write_text("not a folder")
    out = {"a file": tmp_path / "afile", "under a file": tmp_path / "afile" / "sub", "proc": "/proc/musiczoo"}[where]
    assert main(["features", str(song), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and str(out) in err and "Traceback" not in err


def test_6_export_out_naming_a_file_is_a_message(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    assert main(["export", "vgg", "--out", str(tmp_path / "afile")]) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_6_hop_must_be_finite_and_positive(value, write_audio, capsys):
    """(Already refused with a message on 3e022d6; kept as a regression test, now refused by argparse.)"""
    song = write_audio("song.wav", synth("chords", 3.5), 16000)
    with pytest.raises(SystemExit) as stop:
        main(["tag", str(song), "--hop", value])
    assert stop.value.code == 2 and "hop_seconds must be a positive, finite number" in capsys.readouterr().err


@pytest.mark.parametrize("chunk", [float("nan"), float("inf"), 0.0])
def test_6_chunk_seconds_must_be_finite_and_positive(chunk):
    with pytest.raises(ZooError, match="chunk_seconds must be a positive, finite number"):
        zoo.tag(synth("chords", 3.0), sample_rate=16000, chunk_seconds=chunk)


def test_6_truncated_and_altered_weight_files_are_refused(tmp_path):
    from zoo.models.catalog import weights_file

    path, _, _ = weights_file("vgg", "mtt")
    data = path.read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ZooError, match="truncated.h5 cannot be read as HDF5: it is truncated"):
        zoo.load("vgg", weights=str(tmp_path / "truncated.h5"))
    shutil.copy(path, tmp_path / "nan.h5")
    with h5py.File(tmp_path / "nan.h5", "r+") as store:
        keys = []
        store.visititems(lambda key, item: keys.append(key) if isinstance(item, h5py.Dataset) else None)
        values = store[keys[0]][()]
        values.flat[0] = np.nan
        store[keys[0]][...] = values
    with pytest.raises(ZooError, match="NaN or infinite"):
        zoo.load("vgg", weights=str(tmp_path / "nan.h5"))


# 7. a failed --plot dropped the tags

def test_7_a_failed_plot_keeps_the_tags_and_the_other_files(tmp_path, write_audio, capsys, monkeypatch):
    from zoo.inference import plots

    good_set(write_audio)

    def broken(taggram, path, title=None):
        raise RuntimeError("the renderer crashed")

    monkeypatch.setattr(plots, "plot_taggram", broken)
    status = main(["tag", str(tmp_path / "music"), "--plot", str(tmp_path / "plots"), "--format", "json"])
    captured = capsys.readouterr()
    assert status == 1
    assert all("tags" in record for record in json_records(captured.out).values())
    lines = error_lines(captured.err)
    assert len(lines) == 2 and all("its tags are printed" in line and "--plot needs a folder" in line
                                   for line in lines)


def test_7_plot_naming_a_file_is_refused_before_tagging(tmp_path, write_audio, capsys):
    a, _ = good_set(write_audio)
    (tmp_path / "afile").write_text("")
    assert main(["tag", str(a), "--plot", str(tmp_path / "afile")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--plot" in captured.err and "needs a folder" in captured.err


# 8. nonsense accepted

@pytest.mark.parametrize("top", ["-1", "0"])
def test_8_top_must_be_a_positive_integer(top, write_audio, capsys):
    song = write_audio("song.wav", synth("chords", 3.5), 16000)
    with pytest.raises(SystemExit) as stop:
        main(["tag", str(song), "--top", top])
    assert stop.value.code == 2 and "--top" in capsys.readouterr().err


def test_8_taggram_top_checks_n_too():
    taggram = zoo.tag(synth("chords", 3.0), sample_rate=16000)
    assert len(taggram.top(3)) == 3
    with pytest.raises(ZooError, match="top must be a positive integer, not -1"):
        taggram.top(-1)


# 9. exported signatures: wrong ranks, short bytes, which item of a batch failed

@pytest.mark.slow  # builds and traces the serving graph
def test_9_wrong_ranks_get_the_signatures_own_message(serving):
    import tensorflow as tf

    for bad in (tf.zeros([48000]), tf.zeros([1, 48000, 1])):
        assert "serving_default: waveform must be [batch, samples]" in graph_error(lambda: serving.serving_default(bad))
    message = graph_error(lambda: serving.serve_wav(tf.constant(wav_bytes(synth("chords", 1.0)))))
    assert "serve_wav: wav must be a list of WAV file contents [batch]" in message


@pytest.mark.slow  # builds and traces the serving graph
def test_9_short_or_malformed_items_are_named_by_their_index(serving):
    import tensorflow as tf

    good = wav_bytes(synth("chords", 2.0))
    assert serving.serve_wav(tf.constant([good, good]))["patch_count"].numpy().tolist() == [1, 1]
    for index, bad, words in [(1, b"RIFF", "is not a WAV file"), (2, b"", "is not a WAV file"),
                              (0, wav_bytes(synth("chords", 1.0), subtype="FLOAT"), "not 16-bit PCM"),
                              (1, wav_bytes(np.zeros(1, np.float32)), "too few samples")]:
        batch = [good] * 3
        batch[index] = bad
        message = graph_error(lambda batch=batch: serving.serve_wav(tf.constant(batch)))
        assert f"serve_wav: item {index} " in message and words in message


# 10. CSV rows for failed files; decoder chatter on stderr

def test_10_csv_has_a_row_for_every_file_in_input_order(tmp_path, write_audio, capsys):
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "0_broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    good_set(write_audio)
    assert main(["tag", str(tmp_path / "music"), "--format", "csv"]) == 1
    header, *rows = capsys.readouterr().out.strip().splitlines()
    assert len(header.split(",")) == 51
    assert [row.split(",")[0].rsplit("/", 1)[1] for row in rows] == ["0_broken.wav", "a.wav", "b.flac"]
    assert rows[0].split(",")[1:] == [""] * 50 and all(len(row.split(",")) == 51 for row in rows)


def test_10_when_every_file_fails_the_csv_still_lists_them(tmp_path, capsys):
    (tmp_path / "bad.wav").write_bytes(b"not audio" * 100)
    assert main(["tag", str(tmp_path / "bad.wav"), "--format", "csv"]) == 1
    assert capsys.readouterr().out.splitlines() == ["file", str(tmp_path / "bad.wav")]


def test_10_decoder_chatter_stays_off_stderr(tmp_path, write_audio, capfd):
    path = write_audio("damaged.mp3", synth("chords", 6.0), 16000, "MP3", "MPEG_LAYER_III")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 400] = np.random.default_rng(1).integers(0, 256, 400, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))  # libmpg123 notes "Illegal Audio-MPEG-Header ... Trying to resync..."
    main(["tag", str(path)])
    err = capfd.readouterr().err
    assert "Note:" not in err and "libmpg123" not in err
