"""Filter maps: known answers, the mel axis of the front end, every catalog model, fine-tuned folders, errors."""

import json

import matplotlib.image
import numpy as np
import pytest
from scipy.signal import lombscargle

import musiczoo_runtime.contract
import zoo
from zoo.explain import filters
from zoo.signal.axes import FRAMES_PER_SECOND, mel_centres
from zoo.explain.filter_plots import write_filter_map
from zoo.explain.filters import periodicities, timbral_bands
from zoo.signal.logmel import logmel_frontend


@pytest.mark.parametrize("length", [128, 64, 32])
def test_a_two_hertz_cosine_reads_120_bpm(length):
    t = np.arange(length) / FRAMES_PER_SECOND
    assert abs(periodicities(np.cos(2 * np.pi * 2 * t)) * 60 - 120) < 2


def test_the_periodicity_is_the_peak_of_scipys_lomb_scargle():
    curves = np.random.default_rng(0).standard_normal((128, 6))
    t = np.arange(128) / FRAMES_PER_SECOND
    coarse = np.arange(0.13, 31.2, 0.005)
    for curve, hz in zip(curves.T, periodicities(curves)):
        peak = coarse[np.argmax(lombscargle(t, curve, 2 * np.pi * coarse, floating_mean=True))]
        fine = np.arange(peak - 0.01, peak + 0.01, 0.0001)
        assert abs(hz - fine[np.argmax(lombscargle(t, curve, 2 * np.pi * fine, floating_mean=True))]) < 0.002


def test_a_timbral_filter_on_the_1_to_2_khz_bands_reads_that_band():
    kernel = np.zeros((7, 67, 1))
    kernel[:, (mel_centres()[:67] >= 1000) & (mel_centres()[:67] <= 2000), 0] = 1.0
    low, high, centroid = (float(v[0]) for v in timbral_bands(kernel))
    assert 900 <= low < high <= 2200
    assert 900 <= centroid <= 2200


def test_the_mel_centres_are_the_peaks_of_the_front_ends_filterbank():
    layer = logmel_frontend().get_layer("frontend_mel")
    bank = np.asarray(layer.filterbank)  # [257 FFT bins, 96 bands]
    peaks = np.argmax(bank, axis=0) * musiczoo_runtime.contract.SAMPLE_RATE / musiczoo_runtime.contract.N_FFT
    half_bin = musiczoo_runtime.contract.SAMPLE_RATE / musiczoo_runtime.contract.N_FFT / 2
    assert np.all(np.abs(peaks - mel_centres()) <= half_bin)
    assert np.all(np.diff(mel_centres()) > 0)


def test_musicnn_filter_map_kinds_order_and_null():
    fmap = filters("timbral_temporal", "mtt", null_draws=3)
    kinds = {name: kind for name, (kind, _) in fmap.kernels.items()}
    assert kinds == {"timbral_7x38_conv": "timbral", "timbral_7x67_conv": "timbral", "temporal_128_conv": "temporal",
                     "temporal_64_conv": "temporal", "temporal_32_conv": "temporal"}
    bpm = [f.bpm for f in fmap.filters["temporal_64_conv"]]
    assert bpm == sorted(bpm) and len(bpm) == 51
    centroids = [f.centroid_hz for f in fmap.filters["timbral_7x67_conv"] if f.centroid_hz is not None]
    assert centroids == sorted(centroids)
    assert all(31 <= f.band_hz[0] <= f.band_hz[1] <= mel_centres()[66] for f in fmap.filters["timbral_7x67_conv"]
               if f.band_hz)
    assert fmap.null["temporal_128_conv"].shape == (3, 51)
    shares = fmap.tempo_fractions()
    assert set(shares) == {"temporal_128_conv", "temporal_64_conv", "temporal_32_conv", "all temporal"}
    assert shares["all temporal"]["filters"] == 153 and 0 <= shares["all temporal"]["random"] <= 1
    record = fmap.records()[0]
    assert set(record) == {"layer", "unit", "kind", "shape", "norm", "band_hz", "centroid_hz", "period_hz", "bpm"}


@pytest.mark.slow
def test_written_map_has_one_picture_per_branch_and_the_json(tmp_path):
    written = write_filter_map(filters("temporal", "msd", layers=["temporal_32_conv"], null_draws=2), tmp_path)
    assert set(written["images"]) == {"temporal_32_conv"}
    for path in [*written["images"].values(), written["null"]]:
        assert matplotlib.image.imread(path).shape[0] > 100
    document = json.loads(written["json"].read_text())
    assert len(document["filters"]) == 51 and document["tempo_fractions"]["temporal_32_conv"]["draws"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("model,layer,shape", [("vgg", "conv1", (3, 3)), ("crnn", "conv1", (3, 3))])
def test_square_first_layers(model, layer, shape, tmp_path):
    fmap = filters(model, "mtt", null_draws=2)
    assert {name: kind for name, (kind, _) in fmap.kernels.items()} == {layer: "square"}
    assert fmap.null == {} and fmap.tempo_fractions() == {}
    assert fmap.filters[layer][0].shape == shape
    written = write_filter_map(fmap, tmp_path)
    assert written["null"] is None and written["images"][layer].is_file()


def test_a_model_without_that_kind_of_filter_is_an_error():
    with pytest.raises(zoo.ZooError, match="vgg has no temporal filters.*square"):
        filters("vgg", "mtt", kind="temporal")
    with pytest.raises(zoo.ZooError, match="timbral has no temporal filters"):
        filters("timbral", "mtt", kind="temporal")


def test_an_unknown_filter_layer_lists_the_first_layer_convolutions():
    with pytest.raises(zoo.ZooError, match="'cnn1' is not a first-layer.*temporal_128_conv, temporal_64_conv"):
        filters("temporal", "mtt", layers=["cnn1"])
    with pytest.raises(zoo.ZooError, match="kind must be one of"):
        filters("temporal", "mtt", kind="vertical")


def test_random_weights_give_the_initializers_filters():
    fmap = filters("temporal", None, null_draws=0)
    assert fmap.weights is None and fmap.null == {}
    assert fmap.tempo_fractions()["temporal_32_conv"]["random"] is None


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """A folder as `musiczoo finetune` writes it (same builder, untrained head)."""
    from zoo.training.portable import classifier_model

    folder = tmp_path_factory.mktemp("finetuned")
    classifier_model("timbral_temporal", "mtt", 2, False).save(folder / "model.keras")
    (folder / "labels.json").write_text(json.dumps({"labels": ["waltz", "tango"], "model": "timbral_temporal",
                                                    "weights": "mtt", "multi_label": False}))
    return folder


@pytest.mark.slow
def test_a_finetuned_folder_shows_its_backbones_filters(finetuned):
    fmap = filters(finetuned, null_draws=0)
    catalog = filters("timbral_temporal", "mtt", null_draws=0)
    assert list(fmap.kernels) == list(catalog.kernels)
    np.testing.assert_array_equal(fmap.kernels["temporal_64_conv"][1], catalog.kernels["temporal_64_conv"][1])


def test_a_folder_that_is_not_a_finetuned_model_is_an_error(tmp_path):
    with pytest.raises(zoo.ZooError, match="not a fine-tuned model folder"):
        filters(tmp_path)


@pytest.mark.slow
def test_a_finetuned_folder_shows_its_feature_maps_and_labels(finetuned):
    from fixtures import synth
    from zoo.explain import activations

    acts = activations(synth("chords", 4.0), finetuned, sample_rate=16000)
    assert list(acts.layers) == ["timbral", "temporal", "cnn1", "cnn2", "cnn3"]
    assert acts.taggram.tags == ["waltz", "tango"] and acts.model == str(finetuned)
