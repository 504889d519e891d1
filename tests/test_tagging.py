"""zoo.tag and zoo.extract on files and arrays; patching rules."""

import numpy as np
import pytest

import zoo
from fixtures import synth
from zoo import ZooError
from musiczoo_runtime import patching
from zoo.signal.logmel import logmel_frontend
from zoo.signal.streaming import LogmelStream


def test_tag_the_bundled_clip(example_path):
    result = zoo.tag(example_path)
    assert result.probabilities.shape == (7, 50)  # 20 s: six whole patches and a repeat-padded tail
    np.testing.assert_allclose(result.times, np.arange(7) * 187 * 256 / 16000)
    np.testing.assert_allclose(result.clip_probabilities, result.probabilities.mean(axis=0))
    assert len(result.top(3)) == 3 and result.duration == pytest.approx(20.0, abs=0.01)


def test_array_input_needs_its_sample_rate():
    with pytest.raises(ZooError, match="sample_rate="):
        zoo.tag(synth("noise", 4.0))


def test_short_clip_is_repeat_padded_not_rejected():
    result = zoo.tag(synth("chords", 1.2), sample_rate=16000)
    assert result.probabilities.shape == (1, 50)


def test_silence_gets_probabilities():
    result = zoo.tag(synth("silence", 5.0), sample_rate=16000)
    assert np.all(np.isfinite(result.probabilities))


@pytest.mark.parametrize(
    "n_frames,hop,last,expected",
    [(187, 187, "repeat", [0]), (188, 187, "repeat", [0]), (100, 187, "drop", [0]),
     (600, 187, "drop", [0, 187, 374]), (600, 187, "repeat", [0, 187, 374]),
     (650, 187, "repeat", [0, 187, 374, 561]), (650, 93, "drop", [0, 93, 186, 279, 372]), (700, 93, "repeat", [0, 93, 186, 279, 372, 465])],
)
def test_patch_starts(n_frames, hop, last, expected):
    assert patching.patch_starts(n_frames, hop, last) == expected


def test_cut_repeats_frames_of_a_partial_patch():
    logmel = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    patch = patching.cut(logmel, [6], 9)[0]
    np.testing.assert_array_equal(patch[:4], logmel[6:])
    np.testing.assert_array_equal(patch[4:8], logmel[6:])


def streamed_logmel(y, block, chunk_frames=4096):
    stream = LogmelStream(chunk_frames)
    parts = [stream.push(y[i:i + block]) for i in range(0, len(y), block)]
    return np.concatenate(parts + [stream.finish()])


def one_pass_logmel(y):
    """The front end on the whole signal: reflect padding (numpy mirrors repeatedly for tiny signals)."""
    padded = np.pad(y, 256, mode="reflect")
    return logmel_frontend(center=False).predict(padded[None], verbose=0)[0]


@pytest.mark.parametrize("length", [100, 256, 257, 600, 48_000, 48_123])
def test_streamed_logmel_equals_one_pass_over_the_whole_signal(length):
    y = (synth("sweep", 4.0) + synth("noise", 4.0))[:length]
    whole = one_pass_logmel(y)
    if length > 256:  # the on-graph centring layer gives the same frames
        np.testing.assert_array_equal(whole, logmel_frontend().predict(y[None], verbose=0)[0])
    for block, chunk in [(len(y), 4096), (1000, 3), (257, 1), (3, 4096)]:
        streamed = streamed_logmel(y, block, chunk)
        assert streamed.shape == (1 + length // 256, 96)
        np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_every_patch_has_its_own_features():
    """musicnn 0.1.0 repeated the first patch's cnn and penultimate values for later patches."""
    y = np.concatenate([synth("silence", 3.0), synth("chords", 3.0), synth("noise", 3.0)])
    result = zoo.extract(y, sample_rate=16000, last_patch="drop")
    assert result["penultimate"].shape == (3, 200)
    for name in ("penultimate", "mean_pool", "max_pool"):
        rows = result[name]
        assert not np.allclose(rows[0], rows[1]) and not np.allclose(rows[1], rows[2]), name
    frames = result["cnn3"]
    assert frames.shape == (3 * 187, 64)
    assert not np.allclose(frames[:187], frames[187:374])


def test_extract_frame_times_and_layer_choice(example_path):
    result = zoo.extract(example_path, layers=["timbral", "penultimate"])
    assert set(result.layers) == {"timbral", "penultimate"}
    times = result.times["timbral"]
    assert len(times) == len(result["timbral"]) and np.all(np.diff(times) > 0)
    assert times[-1] <= result.duration  # frame t is centred on 256 t / 16000 s
    with pytest.raises(ZooError, match="no feature layer 'pool9'"):
        zoo.extract(example_path, layers=["pool9"])


def test_vgg_features(example_path):
    result = zoo.extract(example_path, model="vgg", layers=["pool1", "pool5"], last_patch="drop")
    assert result["pool1"].shape == (6, 92, 48, 128)
    assert result["pool5"].shape == (6, 2, 1, 128)


def test_bfloat16_precision_keeps_the_top_tags(example_path, report):
    full = zoo.tag(example_path)
    reduced = zoo.tag(example_path, precision="bfloat16")
    difference = np.abs(full.probabilities - reduced.probabilities).max()
    report(f"bfloat16 vs float32 on the bundled clip: max per-patch diff {difference:.3f}, "
           f"top-3 {[t for t, _ in reduced.top(3)]}")
    assert [t for t, _ in reduced.top(3)] == [t for t, _ in full.top(3)]
    assert difference < 0.1
    with pytest.raises(zoo.ZooError, match="precision"):
        zoo.tag(example_path, precision="int4")
