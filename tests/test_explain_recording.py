"""The explain tools' one decode (zoo.explain.recording)."""

import warnings

import numpy as np
import pytest

from musiczoo_runtime.errors import ZooWarning
from zoo.explain.recording import read_recording


def test_a_waveform_resampling_carries_beyond_full_scale_is_normalised_once():
    rate = 22050
    square = np.sign(np.sin(2 * np.pi * 440 * np.arange(4 * rate) / rate)).astype(np.float32)  # peak 1.0
    with pytest.warns(ZooWarning, match="beyond full scale") as caught:
        recording = read_recording(square, sample_rate=rate)  # the resampler's ringing passes 1.0

    assert len([w for w in caught if "beyond full scale" in str(w.message)]) == 1
    assert 0.99 < np.abs(recording.waveform).max() <= 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_recording(recording.waveform, sample_rate=16000)  # passed on, it needs no second normalisation
