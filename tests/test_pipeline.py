"""Batching across recordings: results equal per-file runs, order is kept, failures stay local."""

import numpy as np
import pytest

import zoo
from fixtures import synth
from zoo.inference import api, pipeline
from musiczoo_runtime.audio import from_array
from musiczoo_runtime.errors import ZooError


@pytest.fixture(scope="module")
def recordings():
    """Arrays of different lengths (shorter than a patch, a few patches, a partial tail) at different rates."""
    return [
        (synth("chords", 2.0, 16000), 16000),
        (synth("noise", 7.3, 22050, seed=1), 22050),
        (synth("clicks", 4.0, 16000), 16000),
        (synth("sweep", 11.0, 44100, seed=2), 44100),
    ]


def _per_file(recordings, **kwargs):
    return [zoo.tag(y, sample_rate=rate, batch_size=1, **kwargs).probabilities for y, rate in recordings]


@pytest.mark.parametrize("batch_size", [3, 8])
def test_batches_across_files_give_the_per_file_results(recordings, batch_size):
    expected = _per_file(recordings)
    openers = [lambda y=y, rate=rate: from_array(y, rate) for y, rate in recordings]
    function = api.network_function("timbral_temporal", "mtt")
    results = list(pipeline.run(lambda: function, openers, batch_size=batch_size))
    assert [r.index for r in results] == list(range(len(recordings)))
    for result, want in zip(results, expected):
        assert result.error is None
        (got,) = result.outputs
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert sum(len(r.starts) for r in results) > batch_size  # batches really spanned files


def test_tag_many_keeps_order_and_reports_a_bad_file_without_stopping(recordings, write_audio, tmp_path):
    good = [write_audio(f"good{i}.wav", y, rate, subtype="FLOAT") for i, (y, rate) in enumerate(recordings[:3])]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio at all" * 100)
    missing = tmp_path / "missing.flac"
    paths = [good[0], bad, good[1], missing, good[2]]
    results = list(zoo.tag_many(paths, batch_size=4))
    assert [path for path, _ in results] == paths
    errors = {path: result for path, result in results if isinstance(result, ZooError)}
    assert set(errors) == {bad, missing}
    assert "bad.wav" in str(errors[bad]) and "missing.flac" in str(errors[missing])
    expected = _per_file(recordings[:3])
    tagged = [result for _, result in results if not isinstance(result, ZooError)]
    for taggram, want in zip(tagged, expected):
        np.testing.assert_allclose(taggram.probabilities, want, atol=1e-5)


def test_a_file_failing_midway_drops_only_its_own_patches(recordings):
    """A decoding error after some patches were queued (here: NaN in a later block) fails that file alone."""
    broken = synth("noise", 20.0, 16000, seed=3)
    broken[15 * 16000] = np.nan
    arrays = [recordings[1][0], broken, recordings[2][0]]
    rates = [recordings[1][1], 16000, recordings[2][1]]
    openers = [lambda y=y, rate=rate: from_array(y, rate) for y, rate in zip(arrays, rates)]
    function = api.network_function("timbral_temporal", "mtt")
    results = list(pipeline.run(lambda: function, openers, batch_size=4, chunk_seconds=5.0))
    assert [r.error is None for r in results] == [True, False, True]
    assert "NaN" in str(results[1].error)
    want = _per_file([recordings[1], recordings[2]])
    np.testing.assert_allclose(results[0].outputs[0], want[0], atol=1e-5)
    np.testing.assert_allclose(results[2].outputs[0], want[1], atol=1e-5)


def test_any_failure_of_one_recording_is_its_error_and_an_interruption_stops_the_run():
    def opener():
        raise RuntimeError("reader bug")

    def interrupted():
        raise KeyboardInterrupt

    ok = lambda: from_array(synth("chords", 1.0), 16000)  # noqa: E731
    results = list(pipeline.run(lambda: lambda x: x, [opener, ok]))
    assert "RuntimeError: reader bug" in str(results[0].error) and results[1].error is None
    with pytest.raises(KeyboardInterrupt):
        list(pipeline.run(lambda: lambda x: x, [interrupted, ok]))


def test_bad_batch_size_is_refused():
    with pytest.raises(ZooError, match="batch_size"):
        list(pipeline.run(lambda: lambda x: x, [], batch_size=0))


def test_extract_many_matches_extract():
    arrays = [synth("chords", 5.0, 16000), synth("clicks", 8.0, 16000)]
    layers = ["timbral", "penultimate"]
    many = list(zoo.extract_many(arrays, sample_rate=16000, layers=layers, batch_size=8))
    for (_, got), y in zip(many, arrays):
        want = zoo.extract(y, sample_rate=16000, layers=layers, batch_size=1)
        for name in layers:
            assert got[name].shape == want[name].shape
            # float32 sums in a different order per batch size: error relative to the layer's scale
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=2e-6 * np.abs(want[name]).max())
            np.testing.assert_array_equal(got.times[name], want.times[name])
