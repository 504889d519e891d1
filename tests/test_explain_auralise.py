"""Auralisation: the masked-STFT round trip, selectivity of first-layer timbral units, and its errors."""

import numpy as np
import pytest

from fixtures import EXAMPLE, synth
from musiczoo_runtime.errors import ZooError
from zoo.explain.stft import apply_mel_mask, mel_mask_to_bins, stft
from musiczoo_runtime.audio import read_file

SR = 16000


def mixture(seconds=6.0, seed=0):
    """A low tone (200 Hz), a noise band (4-8 kHz) and clicks, and the three parts alone."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    low = 0.3 * np.sin(2 * np.pi * 200 * t)
    spectrum = np.fft.rfft(rng.standard_normal(t.size))
    freqs = np.fft.rfftfreq(t.size, 1 / SR)
    spectrum[(freqs < 4000) | (freqs > 8000)] = 0
    high = np.fft.irfft(spectrum, t.size)
    high = 0.1 * high / high.std()
    clicks = np.zeros(t.size)
    clicks[::SR // 2] = 0.8
    clicks = np.convolve(clicks, np.exp(-np.arange(200) / 20.0), "same")
    return [part.astype(np.float32) for part in (low + high + clicks, low, high, clicks)]


def frames(waveform):
    return 1 + len(waveform) // 256


@pytest.mark.parametrize("kind", ["real", "noise", "sweep", "chords", "clicks", "mixture"])
def test_a_mask_of_ones_returns_the_input(kind, report):
    waveform = read_file(EXAMPLE)[0] if kind == "real" else mixture()[0] if kind == "mixture" else synth(kind, 5.3)
    back = apply_mel_mask(waveform, np.ones((frames(waveform), 96)))
    error = float(np.abs(back - waveform).max())
    report(f"{kind}: max abs difference {error:.2e}")
    assert back.shape == waveform.shape and error < 1e-4


def test_the_mel_mask_reaches_the_bins_its_bands_cover():
    mask = np.zeros((4, 96))
    mask[:, 40] = 1.0  # one band: its bins get a share, far bins get nothing
    bins = mel_mask_to_bins(mask)
    freqs = np.fft.rfftfreq(512, 1 / SR)
    assert bins[:, freqs < 500].max() == 0 and bins[:, freqs > 4000].max() == 0 and bins.max() > 0.5
    assert np.allclose(mel_mask_to_bins(np.ones((2, 96))), 1.0)


def test_a_zero_mask_silences_and_halving_halves():
    waveform = synth("chords", 2.0)
    assert np.abs(apply_mel_mask(waveform, np.zeros((frames(waveform), 96)))).max() == 0
    half = apply_mel_mask(waveform, np.full((frames(waveform), 96), 0.5))
    assert np.abs(half - 0.5 * waveform).max() < 1e-4


def energy_share(waveform, low=None, high=None):
    power = (np.abs(stft(waveform)) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(512, 1 / SR)
    keep = (freqs < low) if low else (freqs > high)
    return float(power[keep].sum() / power.sum())


@pytest.mark.slow
def test_first_layer_timbral_units_are_selective(report):
    """The unit tuned to 100-300 Hz keeps the low tone, the unit tuned to 4-8 kHz keeps the noise band.

    Each unit's band comes from `zoo.explain.tuning` (probe tones from 60 Hz to 7.8 kHz): a timbral
    layer slides its kernels up the mel axis and keeps the best position, so where a unit fires is a
    property of its response, not of the kernel's rows alone.
    """
    from zoo.explain.auralise import auralise_units
    from zoo.explain.tuning import tuning

    layer = "timbral_7x38_conv"
    measured = tuning("timbral_temporal", "mtt", layer)
    low_unit, high_unit = measured.most_selective(100, 300), measured.most_selective(4000, 8000)
    peaks = measured.peak_hz()
    assert 100 <= peaks[low_unit] <= 300 and peaks[high_unit] >= 3000
    mix = mixture()[0]
    waveforms, original = auralise_units(mix, "timbral_temporal", "mtt", layer, (low_unit, high_unit), sample_rate=SR)
    assert waveforms.shape == (2, len(mix)) and np.allclose(original, mix, atol=1e-6)
    below = energy_share(waveforms[0], low=500)
    above = energy_share(waveforms[1], high=3000)
    report(f"unit {low_unit} (peak {peaks[low_unit]:.0f} Hz): {below:.1%} of its energy below 500 Hz "
           f"(mixture {energy_share(mix, low=500):.1%}); unit {high_unit} (peak {peaks[high_unit]:.0f} Hz): "
           f"{above:.1%} above 3 kHz (mixture {energy_share(mix, high=3000):.1%})")
    assert below > 0.5 and above > 0.5


def test_auralise_returns_a_waveform_as_long_as_the_input():
    from zoo.explain.auralise import auralise

    waveform = synth("chords", 3.5)
    out = auralise(waveform, "vgg", "mtt", "conv1", 0, sample_rate=SR)
    assert out.shape == waveform.shape and out.dtype == np.float32 and np.isfinite(out).all()
    assert 0 < np.square(out).sum() < np.square(waveform).sum()  # a mask in [0, 1], not all ones


@pytest.mark.parametrize("model,layer,words", [
    ("vgg", "conv9", ["no layer 'conv9'", "conv1", "pool5"]),
    ("crnn", "gru1", ["cannot be auralised", "gru1", "conv4"]),
    ("timbral_temporal", "penultimate", ["cannot be auralised", "backend_dense", "timbral_7x38_conv"]),
    ("timbral_temporal", "logits", ["cannot be auralised", "timbral_7x38_pool"]),
])
def test_layers_that_cannot_be_auralised_are_refused(model, layer, words):
    from zoo.explain.auralise import auralise

    with pytest.raises(ZooError) as caught:
        auralise(synth("noise", 3.0), model, "mtt", layer, 0, sample_rate=SR)
    for word in words:
        assert word in str(caught.value)


def test_a_unit_out_of_range_is_refused():
    from zoo.explain.auralise import auralise

    with pytest.raises(ZooError, match="units 0 to 63"):
        auralise(synth("noise", 3.0), "crnn", "mtt", "conv1", 64, sample_rate=SR)


def test_tuning_picks_the_unit_selective_for_a_band():
    from zoo.explain.tuning import Tuning

    freqs = np.geomspace(60, 7800, 28)
    curves = np.stack([np.exp(-np.log(freqs / centre) ** 2) for centre in (150.0, 1000.0, 6000.0)], axis=1)
    curves = np.concatenate([curves, np.ones((28, 1))], axis=1)  # a unit that fires everywhere the most
    measured = Tuning("layer", freqs, curves)
    assert measured.most_selective(100, 300) == 0 and measured.most_selective(4000, 8000) == 2
    assert abs(measured.peak_hz()[1] - 1000) < 200
    with pytest.raises(ZooError, match="no probe tone between"):
        measured.most_selective(20, 50)


def test_tuning_refuses_an_unknown_layer():
    from zoo.explain.tuning import tuning

    with pytest.raises(ZooError, match="no layer 'conv9'"):
        tuning("vgg", "mtt", "conv9")
