"""The on-graph log-mel front end against a librosa reference computed as `musiczoo_runtime.contract.FRONTEND_CONFIG` states it."""

import keras
import librosa
import numpy as np
import pytest

from fixtures import EXAMPLE, synth
from musiczoo_runtime import contract
from zoo.signal import logmel


def librosa_reference(y):
    """Centred (reflect) STFT 512/256, power, 96 Slaney mels, float16 storage, log10(1 + 10000 x)."""
    mel = librosa.feature.melspectrogram(
        y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96, center=True, pad_mode="reflect", power=2.0
    ).T
    return np.log10(1 + 10000 * mel.astype(np.float16).astype(np.float32))


@pytest.fixture(scope="module")
def frontend_model():
    return logmel.logmel_frontend()


SIGNALS = {
    "example clip": lambda: librosa.load(EXAMPLE, sr=16000)[0],
    "sine sweep": lambda: synth("sweep", 5.0),
    "noise": lambda: synth("noise", 4.0),
    "silence": lambda: synth("silence", 3.0),
    "odd length": lambda: synth("chords", 3.0)[:48_123],
}


@pytest.mark.parametrize("name", list(SIGNALS))
def test_logmel_matches_librosa(frontend_model, name, report):
    y = SIGNALS[name]()
    ours = frontend_model.predict(y[None], verbose=0)[0]
    reference = librosa_reference(y)
    assert ours.shape == reference.shape == (1 + len(y) // 256, 96)
    difference = float(np.abs(ours - reference).max())
    report(f"front-end parity on {name}: max |zoo - librosa| = {difference:.2e} (bar 1e-3)")
    assert difference < 1e-3


def test_fixed_patch_keeps_first_187_of_188_frames():
    y = synth("noise", 3.0)
    patch = logmel.logmel_frontend(samples=48_000, n_frames=contract.frames_in(3.0)).predict(y[None], verbose=0)
    full = logmel.logmel_frontend().predict(y[None], verbose=0)
    assert full.shape == (1, 188, 96)
    assert patch.shape == (1, 187, 96)
    np.testing.assert_array_equal(patch[0], full[0, :187])


def test_loud_input_saturates_instead_of_overflowing(frontend_model):
    y = (40.0 * synth("chords", 3.0)).astype(np.float32)  # far beyond full scale
    out = frontend_model.predict(y[None], verbose=0)
    assert np.all(np.isfinite(out))
    assert out.max() <= np.log10(1 + 10000 * contract.FLOAT16_MAX) + 1e-4


@pytest.mark.parametrize(
    "layer",
    [logmel.CenterPad(100, "constant"), logmel.Power(3.0), logmel.LogCompression(100.0, False),
     logmel.CropFrames(17)],
)
def test_custom_layers_serialize_completely(layer):
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


def test_frames_and_samples_of_a_patch():
    assert contract.frames_in(3.0) == 187
    assert contract.samples_in(3.0) == 48_000
