"""Filter maps: what each first-layer filter of a model is tuned to, against randomly initialised filters.

The first layer of every zoo model convolves the log-mel patch itself, so its
kernels read in physical units: time in frames of 16 ms (62.5 per second),
frequency in mel bands (centres from `zoo.signal.axes.mel_centres`).

- Timbral (vertical) kernels `[time, mel]`: the band carrying their positive
  weight. A timbral layer slides each kernel up the mel axis and keeps the
  maximum over positions, so the Hz axis is that of the kernel at its lowest
  position (its row i over mel band i); the band is where, within its span,
  the filter looks. Band = the mel centres between the 10th and 90th
  percentiles of the positive weight summed over time; centroid = their
  weighted mean in Hz.
- Temporal (horizontal) kernels `[time, 1]`: the dominant periodicity of the
  curve, the peak of its least-squares spectrum with a floating mean (the
  Lomb-Scargle periodogram, exact for a sinusoid of any length), in Hz and BPM.
- Square kernels (vgg, crnn): shape and norm only, drawn for comparison.

The null: kernels drawn from the same layer's own initializer (what training
started from), analysed the same way.
"""

from dataclasses import asdict, dataclass

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import DEFAULT_WEIGHTS
from zoo.signal.axes import FRAMES_PER_SECOND, mel_centres
from zoo.explain.network import open_network, require_filters

BAND_QUANTILES = (0.1, 0.9)
TEMPO_RANGE_BPM = (40.0, 240.0)
FFT_POINTS = 4096
NULL_DRAWS = 20


@dataclass
class Filter:
    """One first-layer filter.

    Attributes:
        layer: its layer's name.
        unit: its index in the layer.
        kind: "timbral", "temporal" or "square".
        shape: (time frames, mel bands).
        norm: L2 norm of the kernel.
        band_hz: (low, high) Hz holding the central 80% of its positive weight (timbral), else None.
        centroid_hz: positive-weight centroid in Hz (timbral), else None.
        period_hz: dominant periodicity in Hz (temporal), else None.
        bpm: the same in beats per minute, else None.
    """

    layer: str
    unit: int
    kind: str
    shape: tuple
    norm: float
    band_hz: tuple = None
    centroid_hz: float = None
    period_hz: float = None
    bpm: float = None

    def record(self):
        """JSON-ready dict (numbers rounded)."""
        data = asdict(self)
        data["shape"] = list(self.shape)
        data["band_hz"] = None if self.band_hz is None else [round(float(v), 1) for v in self.band_hz]
        for key, digits in (("norm", 5), ("centroid_hz", 1), ("period_hz", 4), ("bpm", 2)):
            data[key] = None if data[key] is None else round(float(data[key]), digits)
        return data


@dataclass
class FilterMap:
    """The first-layer filters of one model, analysed, with the random-initialisation null.

    Attributes:
        model: catalog name or fine-tuned folder.
        weights: weight tag or file, or None.
        kernels: layer -> (kind, kernel `[time, mel, units]`).
        filters: layer -> list of `Filter` in musical order (timbral by centroid, temporal by BPM,
            square by decreasing norm).
        null: layer -> per-draw values `[draws, units]` of random kernels: centroid Hz (timbral) or BPM
            (temporal); absent for square layers.
    """

    model: str
    weights: object
    kernels: dict
    filters: dict
    null: dict

    def records(self):
        """Every filter as a JSON-ready dict, layer by layer in musical order (`filters.json`)."""
        return [f.record() for layer in self.filters.values() for f in layer]

    def tempo_fractions(self, low=TEMPO_RANGE_BPM[0], high=TEMPO_RANGE_BPM[1]):
        """Share of temporal filters with a periodicity in [low, high] BPM, learned against random.

        Under "one_cycle" the same shares count only periodicities of which a whole cycle fits in the
        filter (at least 62.5 / length Hz: 29 BPM for 128 frames, 59 for 64, 117 for 32).

        Returns:
            dict layer (and "all temporal") -> {"learned": share, "random": mean share over the null
            draws, "random_2.5%", "random_97.5%": the draws' central 95% range (None without draws),
            "draws", "filters", "one_cycle": the same four shares}; empty without temporal filters.
        """
        out, parts = {}, []
        for name, (kind, kernel) in self.kernels.items():
            if kind != "temporal":
                continue
            learned = np.array([f.bpm for f in self.filters[name]])
            one_cycle = np.full(len(learned), max(low, 60.0 * FRAMES_PER_SECOND / kernel.shape[0]))
            parts.append((learned, self.null.get(name), one_cycle))
            out[name] = _fractions(learned, self.null.get(name), low, high, one_cycle)
        if len(parts) > 1:
            learned, nulls, one_cycle = zip(*parts)
            null = None if nulls[0] is None else np.concatenate(nulls, axis=1)
            out["all temporal"] = _fractions(np.concatenate(learned), null, low, high, np.concatenate(one_cycle))
        return out


def _fractions(learned, null, low, high, one_cycle_low):
    """Shares of `learned` `[units]` and of each null draw `[draws, units]` in [low, high], and from the
    per-unit `one_cycle_low` to high."""
    def shares(lower):
        out = {"learned": float(np.mean((learned >= lower) & (learned <= high)))}
        per_draw = None if null is None else ((null >= lower) & (null <= high)).mean(axis=1)
        out["random"] = None if per_draw is None else float(per_draw.mean())
        out["random_2.5%"] = None if per_draw is None else float(np.percentile(per_draw, 2.5))
        out["random_97.5%"] = None if per_draw is None else float(np.percentile(per_draw, 97.5))
        return out

    return {**shares(low), "draws": 0 if null is None else len(null), "filters": len(learned),
            "one_cycle": shares(one_cycle_low)}


def timbral_bands(kernels, quantiles=BAND_QUANTILES):
    """Band and centroid of timbral kernels.

    Args:
        kernels: `[time, mel, units]`, row i of the mel axis over mel band i.
        quantiles: (low, high) shares of the positive weight that bound the band.

    Returns:
        (low Hz `[units]`, high Hz `[units]`, centroid Hz `[units]`); NaN for a kernel with no positive weight.
    """
    kernels = np.asarray(kernels, dtype=np.float64)
    centres = mel_centres()[:kernels.shape[1]]
    weight = np.clip(kernels, 0, None).sum(axis=0)  # [mel, units]
    total = weight.sum(axis=0)
    share = np.cumsum(weight, axis=0) / np.where(total > 0, total, 1.0)
    low = centres[np.minimum((share < quantiles[0]).sum(axis=0), len(centres) - 1)]
    high = centres[np.minimum((share < quantiles[1]).sum(axis=0), len(centres) - 1)]
    centroid = (weight * centres[:, None]).sum(axis=0) / np.where(total > 0, total, 1.0)
    empty = total <= 0
    return tuple(np.where(empty, np.nan, values) for values in (low, high, centroid))


def periodicities(curves, points=FFT_POINTS):
    """Dominant periodicity in Hz of curves sampled at 62.5 frames per second.

    The least-squares fit of `a cos(2 pi f t) + b sin(2 pi f t) + c` at every
    frequency of a `points`-point grid (from a quarter cycle per curve length up
    to just under Nyquist) gives the explained power; its peak, refined by a
    parabola through its neighbours, is the periodicity. This is the
    floating-mean Lomb-Scargle periodogram (scipy.signal.lombscargle computes
    the same one frequency at a time), here from FFTs so that many curves go at once.

    Args:
        curves: `[length, n]` (or `[length]`).
        points: FFT length of the grid (at least 4x the curve length is used).

    Returns:
        Hz `[n]` (or a float for one curve).
    """
    curves = np.asarray(curves, dtype=np.float64)
    single = curves.ndim == 1
    curves = curves[:, None] if single else curves
    length = curves.shape[0]
    n = max(points, 4 * length)
    k = np.arange(max(1, int(np.ceil(n / (4 * length)))), n // 2)
    spectrum = np.fft.rfft(curves, n=n, axis=0)[k]  # sum y e^{-i w t}: real = sum y cos, -imag = sum y sin
    ones = np.fft.fft(np.ones(length), n=n)
    c1, s1 = ones[k].real, -ones[k].imag
    c2, s2 = ones[(2 * k) % n].real, -ones[(2 * k) % n].imag
    gram = np.empty((len(k), 3, 3))
    gram[:, 0, 0], gram[:, 1, 1], gram[:, 2, 2] = (length + c2) / 2, (length - c2) / 2, length
    gram[:, 0, 1] = gram[:, 1, 0] = s2 / 2
    gram[:, 0, 2] = gram[:, 2, 0] = c1
    gram[:, 1, 2] = gram[:, 2, 1] = s1
    sums = curves.sum(axis=0)
    projections = np.stack([spectrum.real, -spectrum.imag, np.broadcast_to(sums, spectrum.shape)], axis=1)
    power = np.einsum("kin,kij,kjn->kn", projections, np.linalg.pinv(gram), projections) - sums ** 2 / length
    best = power.argmax(axis=0)
    columns = np.arange(power.shape[1])
    inner = (best > 0) & (best < len(k) - 1)
    left = power[np.maximum(best - 1, 0), columns]
    middle = power[best, columns]
    right = power[np.minimum(best + 1, len(k) - 1), columns]
    curvature = left - 2 * middle + right
    offset = np.where(inner & (curvature < 0), 0.5 * (left - right) / np.where(curvature < 0, curvature, -1), 0.0)
    hz = (k[best] + offset) * FRAMES_PER_SECOND / n
    return float(hz[0]) if single else hz


def random_kernels(network, layer, draws, seed=0):
    """Kernels `[draws, time, mel, units]` drawn from `layer`'s own initializer with seeds seed, seed+1, ...."""
    keras_layer = network.keras_model.get_layer(layer)
    initializer = keras_layer.kernel_initializer
    config = initializer.get_config()
    shape = tuple(keras_layer.kernel.shape)
    return np.stack([np.asarray(type(initializer).from_config({**config, "seed": seed + i})(shape))[:, :, 0, :]
                     for i in range(draws)])


def _analyse(name, kind, kernel):
    """The `Filter`s of one layer's kernel `[time, mel, units]`, in musical order."""
    units = kernel.shape[-1]
    norms = np.sqrt((kernel.astype(np.float64) ** 2).sum(axis=(0, 1)))
    shape = tuple(int(v) for v in kernel.shape[:2])
    rows = [Filter(name, unit, kind, shape, float(norms[unit])) for unit in range(units)]
    if kind == "timbral":
        low, high, centroid = timbral_bands(kernel)
        for f in rows:
            if not np.isnan(centroid[f.unit]):
                f.band_hz, f.centroid_hz = (float(low[f.unit]), float(high[f.unit])), float(centroid[f.unit])
        return sorted(rows, key=lambda f: (f.centroid_hz is None, f.centroid_hz or 0.0))
    if kind == "temporal":
        hz = periodicities(kernel[:, 0, :])
        for f in rows:
            f.period_hz, f.bpm = float(hz[f.unit]), float(hz[f.unit] * 60.0)
        return sorted(rows, key=lambda f: f.bpm)
    return sorted(rows, key=lambda f: -f.norm)


def _null_values(kind, kernels):
    """Per-draw centroid Hz (timbral) or BPM (temporal) of random kernels `[draws, time, mel, units]`."""
    if kind == "timbral":
        return np.stack([timbral_bands(k)[2] for k in kernels])
    draws, length, _, units = kernels.shape
    curves = kernels[:, :, 0, :].transpose(1, 0, 2).reshape(length, draws * units)
    return (periodicities(curves) * 60.0).reshape(draws, units)


def filters(model, weights=DEFAULT_WEIGHTS, kind=None, layers=None, null_draws=NULL_DRAWS, seed=0):
    """The filter map of a model's first layer, with the null of randomly initialised filters.

    Args:
        model: catalog name, or a folder written by `musiczoo finetune`.
        weights: weight tag, weight file or None (random initialisation); ignored for a folder.
        kind: "timbral", "temporal" or "square" to keep only that kind, or None for all.
        layers: first-layer convolution names to keep (e.g. ["temporal_128_conv"]), or None for all.
        null_draws: random initialisations of each timbral and temporal layer (0 for none).
        seed: seed of the first random draw.

    Returns:
        FilterMap.

    Raises:
        ZooError: unknown model or weights, a model without that kind of filter, or a layer that is
            not a first-layer convolution (the message lists those that are).
    """
    checks.at_least(null_draws, "null_draws", 0)
    network = open_network(model, weights)
    kernels = require_filters(network, kind, layers)
    analysed = {name: _analyse(name, k, kernel) for name, (k, kernel) in kernels.items()}
    null = {name: _null_values(k, random_kernels(network, name, null_draws, seed))
            for name, (k, _) in kernels.items() if k != "square" and null_draws > 0}
    return FilterMap(network.name, network.weights, kernels, analysed, null)
