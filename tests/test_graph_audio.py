"""Core-op audio steps of the export match their numpy / soxr / zoo.patching counterparts."""

import io

import numpy as np
import pytest
import soundfile
import soxr
import tensorflow as tf

from musiczoo_runtime.contract import frames_in
from zoo.deploy import wav_graph
from musiczoo_runtime import patching
from zoo.signal import graph


@pytest.mark.parametrize("length", [2, 3, 5, 256, 257, 1000])
def test_reflect_pad_matches_numpy_for_any_length(length):
    x = np.arange(length, dtype=np.float32)[None] + 1
    got = graph.reflect_pad(tf.constant(x), 256).numpy()
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (256, 256)), mode="reflect"))


@pytest.mark.parametrize("rate", [11025, 22050, 24000, 32000, 44100, 48000, 96000])
def test_resampler_matches_soxr_in_the_passband(rate):
    t = np.arange(int(1.5 * rate)) / rate
    y = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3100 * t + 1)).astype(np.float32)
    got = wav_graph.resample(tf.constant(y), rate).numpy()
    want = soxr.resample(y, rate, 16000, quality="HQ")
    assert len(got) == len(want)
    middle = slice(400, len(want) - 400)  # the two resamplers treat the ends differently
    assert np.abs(got[middle] - want[middle]).max() < 1e-4


def test_resampler_passes_16k_through_and_refuses_odd_rates():
    y = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    np.testing.assert_array_equal(wav_graph.resample(tf.constant(y), 16000).numpy(), y)
    with pytest.raises(tf.errors.InvalidArgumentError, match="cannot be resampled"):
        wav_graph.resample(tf.constant(y), 44101)


def test_decode_wav_downmixes_16_bit_pcm_and_refuses_other_bytes():
    stereo = np.stack([np.full(800, 0.5), np.full(800, -0.25)], axis=1)
    buffer = io.BytesIO()
    soundfile.write(buffer, stereo, 22050, format="WAV", subtype="PCM_16")
    audio, rate = wav_graph.decode_wav(tf.constant(buffer.getvalue()))
    assert int(rate) == 22050
    np.testing.assert_allclose(audio.numpy(), 0.125, atol=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a WAV file"):
        wav_graph.decode_wav(tf.constant(b"fLaC" + b"\0" * 64))


@pytest.mark.parametrize("n_frames", [1, 50, 186, 187, 188, 248, 249, 374, 435, 436, 1000])
def test_patch_indices_follow_zoo_patching(n_frames):
    size = frames_in(3.0)
    logmel = np.random.default_rng(n_frames).standard_normal((n_frames, 4)).astype(np.float32)
    index, starts = graph.patch_indices(tf.constant(n_frames))
    want_starts = patching.patch_starts(n_frames, size, "repeat", size)
    assert starts.numpy().tolist() == want_starts
    np.testing.assert_array_equal(logmel[index.numpy()], patching.cut(logmel, want_starts, size))
