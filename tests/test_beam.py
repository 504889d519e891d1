"""`musiczoo beam tag` on the local multi-process runner: the same tags and embeddings as zoo.tag_many / zoo.extract,
dead letters for unreadable files, offline, with one and with two worker processes; usage errors before any work."""

import glob
import io
import json
import os
import subprocess
import sys
import types
import urllib.request

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile

import zoo
from fixtures import ROOT, synth
from zoo.cli import main, parser
from musiczoo_runtime.errors import ZooError
from zoo.scale import beam_io, beam_pipeline
from musiczoo_runtime.audio import open_file
from zoo.signal.streaming import stream_patches

# (name, kind, seconds, rate, channels, format, subtype): WAV, FLAC, OGG and MP3, 1 s to 3 min, mono and stereo
COLLECTION = [
    ("long.flac", "chords", 180.0, 16000, 1, "FLAC", None),
    ("one.wav", "clicks", 1.0, 16000, 1, "WAV", "PCM_16"),
    ("short.ogg", "sweep", 1.5, 44100, 2, "OGG", "VORBIS"),
    ("two.mp3", "chords", 2.0, 44100, 1, "MP3", "MPEG_LAYER_III"),
    ("three.wav", "noise", 3.0, 22050, 2, "WAV", "FLOAT"),
    ("edge.flac", "sweep", 4.2, 48000, 1, "FLAC", None),
    ("five.ogg", "chords", 5.0, 22050, 1, "OGG", "VORBIS"),
    ("six.mp3", "clicks", 6.0, 48000, 2, "MP3", "MPEG_LAYER_III"),
    ("seven.wav", "sweep", 7.3, 8000, 1, "WAV", "PCM_16"),
    ("nine.flac", "noise", 9.0, 44100, 2, "FLAC", None),
    ("ten.ogg", "clicks", 10.0, 16000, 2, "OGG", "VORBIS"),
    ("twelve.mp3", "sweep", 12.0, 22050, 1, "MP3", "MPEG_LAYER_III"),
    ("fifteen.wav", "chords", 15.0, 44100, 2, "WAV", "PCM_24"),
    ("twenty.flac", "clicks", 20.0, 22050, 1, "FLAC", None),
    ("quiet.wav", "silence", 2.5, 16000, 1, "WAV", "PCM_16"),
    ("thirty.ogg", "noise", 30.0, 48000, 1, "OGG", "VORBIS"),
    ("forty.mp3", "chords", 40.0, 44100, 2, "MP3", "MPEG_LAYER_III"),
    ("sixty.flac", "sweep", 60.0, 16000, 2, "FLAC", None),
    ("eight.wav", "chords", 8.0, 48000, 1, "WAV", "PCM_16"),
    ("eleven.ogg", "sweep", 11.0, 32000, 2, "OGG", "VORBIS"),
]
CORRUPT = {"cut.wav": b"RIFF\x00\x00\x00\x00WAVEjunk", "zeros.mp3": b"\x00" * 4096}
TOLERANCE = 1e-5


def write_collection(folder):
    """The synthesized collection plus two corrupt files; returns (good paths, corrupt paths) as strings."""
    folder.mkdir(parents=True, exist_ok=True)
    good = []
    for seed, (name, kind, seconds, rate, channels, fmt, subtype) in enumerate(COLLECTION):
        data = np.stack([synth(kind, seconds, rate, seed=seed + c) for c in range(channels)], axis=1)
        lossy = subtype in ("VORBIS", "MPEG_LAYER_III")
        soundfile.write(folder / name, data if channels > 1 else data[:, 0], rate, format=fmt, subtype=subtype,
                        **({"compression_level": 0.0} if lossy else {}))
        good.append(str(folder / name))
    for name, content in CORRUPT.items():
        (folder / name).write_bytes(content)
    return good, [str(folder / name) for name in CORRUPT]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    folder = tmp_path_factory.mktemp("beam") / "music"
    good, corrupt = write_collection(folder)
    return folder, good, corrupt


@pytest.fixture(scope="module")
def reference(collection):
    """reference(runtime): zoo.tag_many's clip tags and zoo.extract_many's penultimate and cnn3 rows of every
    good file, computed under the runtime the Beam workers are told to run.

    The same runtime on both sides: ONNX Runtime's features agree with TensorFlow's within 1e-5 of each
    layer's scale, not 1e-5 absolute (tests/test_onnx_runtime.py).
    """
    _, good, _ = collection
    cache = {}

    def compute(runtime):
        if runtime not in cache:
            tags = {path: taggram for path, taggram in zoo.tag_many(good, runtime=runtime)}
            features = {path: result for path, result in zoo.extract_many(good, layers=["penultimate", "cnn3"],
                                                                          runtime=runtime)}
            cache[runtime] = tags, features
        return cache[runtime]

    return compute


def lines(prefix, name):
    return [json.loads(line) for path in sorted(glob.glob(f"{prefix}-{name}-*-of-*.jsonl"))
            for line in open(path, encoding="utf-8")]


@pytest.mark.slow
@pytest.mark.parametrize("workers,layer,per,runtime", [(1, "penultimate", "patch", "tensorflow"),
                                                     (2, "cnn3", "file", "onnx")])
def test_beam_tags_and_embeddings_equal_the_zoos(collection, reference, tmp_path, monkeypatch, workers, layer, per,
                                                 runtime, report):
    from apache_beam.runners.portability import prism_runner

    def no_download(*args, **kwargs):
        raise AssertionError("the local run tried to reach the network or the Prism runner")

    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", no_download)
    folder, good, corrupt = collection
    tags, features = reference(runtime)
    prefix = str(tmp_path / "out" / "run")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run-tags-00000-of-00009.jsonl").write_text("stale\n")  # an earlier run's shard
    argv = ["beam", "tag", str(folder), f"{folder}/t*", "--out", prefix, "--embeddings", layer,  # t*: matched twice
            "--embeddings-per", per, f"--direct_num_workers={workers}", "--runtime", runtime]
    assert main(argv) == 0

    records = {record["file"]: record for record in lines(prefix, "tags")}
    assert sorted(record["file"] for record in lines(prefix, "tags")) == sorted(good)  # each file once
    worst = 0.0
    for path, taggram in tags.items():
        record = records[path]
        assert record["model"] == "timbral_temporal" and record["weights"] == "mtt"
        assert record["duration"] == round(taggram.duration, 3)
        assert list(record["tags"]) == taggram.tags
        worst = max(worst, np.abs(np.array(list(record["tags"].values())) - taggram.clip_probabilities).max())
    assert worst < TOLERANCE

    errors = {record["file"]: record["error"] for record in lines(prefix, "errors")}
    assert sorted(errors) == sorted(corrupt)
    assert all(message.startswith(path) and len(message) > len(path) + 10 for path, message in errors.items())

    rows = pq.read_table(sorted(glob.glob(f"{prefix}-embeddings-*-of-*.parquet"))).to_pylist()
    assert {row["file"] for row in rows} == set(good)
    embedding_worst = 0.0
    for path in good:
        mine = sorted((row for row in rows if row["file"] == path), key=lambda row: row.get("row", 0))
        got, expected = np.array([row["embedding"] for row in mine]), features[path][layer]
        if per == "patch":
            assert [row["row"] for row in mine] == list(range(len(expected)))
            np.testing.assert_allclose([row["time"] for row in mine], features[path].times[layer])
        else:
            assert [row["rows"] for row in mine] == [len(expected)]
            expected = expected.mean(axis=0, keepdims=True)
        assert got.shape == expected.shape
        embedding_worst = max(embedding_worst, np.abs(got - expected).max())
    assert embedding_worst < TOLERANCE
    report(f"{workers} worker(s) on {runtime}: clip tags max |diff| {worst:.2e}, {layer} per {per} max |diff| "
           f"{embedding_worst:.2e} over {len(good)} files, {len(errors)} dead letters")


def test_a_pattern_matching_nothing_is_a_usage_error(tmp_path, capsys):
    assert main(["beam", "tag", str(tmp_path / "nothing" / "*.mp3"), "--out", str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_an_unwritable_prefix_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "file").write_text("not a folder")
    assert main(["beam", "tag", str(tmp_path / "a.wav"), "--out", str(tmp_path / "file" / "run")]) == 2
    assert "cannot write the outputs there" in capsys.readouterr().err


def test_an_unknown_layer_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "a.wav").write_bytes(b"")
    assert main(["beam", "tag", str(tmp_path), "--out", str(tmp_path / "o"), "--embeddings", "nope"]) == 2
    assert "no feature layer 'nope'" in capsys.readouterr().err


def test_an_unknown_runtime_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    with pytest.raises(ZooError, match="runtime must be one of tensorflow, onnx, auto, not 'tflite'"):
        beam_pipeline.run([str(tmp_path)], str(tmp_path / "o"), runtime="tflite")
    assert not list(tmp_path.glob("o*"))


def test_remote_workers_settle_auto_themselves_and_explicit_runtimes_pass_through():
    assert beam_pipeline.prepare_runtime("timbral_temporal", "mtt", "auto", 8, local=False) == "auto"
    assert beam_pipeline.prepare_runtime("timbral_temporal", "mtt", "onnx", 8, local=False) == "onnx"
    assert beam_pipeline.prepare_runtime("vgg", "msd", "tensorflow", 8, local=True) == "tensorflow"


def test_without_apache_beam_the_command_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['apache_beam'] = None\n"
            "from zoo.cli import main\n"
            f"sys.exit(main(['beam', 'tag', {str(tmp_path)!r}, '--out', {str(tmp_path / 'o')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pip install 'musiczoo[beam]'" in done.stderr, done.stderr[-2000:]


def test_beam_options_pass_through_and_the_default_is_the_offline_multiprocess_runner():
    args = parser().parse_args(["beam", "tag", "a.wav", "gs://b/*.mp3", "--runner", "DataflowRunner", "--out", "x",
                                "--temp_location=gs://b/tmp"])
    assert args.patterns == ["a.wav", "gs://b/*.mp3"] and args.out == "x"
    assert args.beam_args == ["--runner", "DataflowRunner", "--temp_location=gs://b/tmp"]
    options, threads = beam_pipeline.pipeline_options([])
    everything = options.get_all_options()
    assert everything["runner"] == "FnApiRunner" and everything["direct_running_mode"] == "multi_processing"
    assert everything["direct_num_workers"] == os.cpu_count() and threads == 1
    options, _ = beam_pipeline.pipeline_options(["--direct_num_workers=1"])
    assert options.get_all_options()["direct_num_workers"] == 1
    options, threads = beam_pipeline.pipeline_options(["--runner=DataflowRunner"])
    assert options.get_all_options()["runner"] == "DataflowRunner" and threads is None
    with pytest.raises(zoo.ZooError, match="--direct_num_worker"):
        beam_pipeline.pipeline_options(["--direct_num_worker=2"])  # a typo Beam itself would drop with a warning


def test_a_remote_file_is_decoded_from_a_local_copy_and_errors_name_the_remote_path(tmp_path):
    rate = 22050
    soundfile.write(tmp_path / "song.flac", synth("chords", 4.0, rate), rate)
    content = (tmp_path / "song.flac").read_bytes()

    def readable(path, data):
        metadata = types.SimpleNamespace(path=path)
        return types.SimpleNamespace(metadata=metadata, open=lambda **kwargs: io.BytesIO(data))

    decode = beam_io.DecodePatches(3.0, "repeat")
    out = list(decode.process(readable("gs://bucket/music/song.flac", content)))
    expected = list(stream_patches(open_file(tmp_path / "song.flac"), 3.0, "repeat", 60.0, {}))
    patches = [value for value in out if not hasattr(value, "tag")]
    assert [key for key, _ in patches] == [("gs://bucket/music/song.flac", i) for i in range(len(expected))]
    for (_, patch), (_, reference) in zip(patches, expected):
        np.testing.assert_array_equal(patch, reference)
    (files,) = [value.value for value in out if getattr(value, "tag", None) == "files"]
    assert files[0] == "gs://bucket/music/song.flac" and files[1].duration == pytest.approx(4.0)

    (error,) = [value.value for value in decode.process(readable("gs://bucket/cut.wav", content[:-5000][:40]))
                if getattr(value, "tag", None) == "errors"]
    assert error["file"] == "gs://bucket/cut.wav" and error["error"].startswith("gs://bucket/cut.wav: ")
    assert "/tmp" not in error["error"] and "musiczoo-" not in error["error"]
