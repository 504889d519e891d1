"""Where each unit of a layer fires along the frequency axis, measured with probe tones.

A timbral layer slides every kernel up the mel axis and keeps the maximum over
positions, so the band read from a kernel's rows (`zoo.explain.filters`) is the
band at its lowest position; where the unit actually responds is a property of
the whole layer. Probe tones measure it: a sine at each frequency goes through
the network, and each unit's mean positive activation is its response there.
"""

from dataclasses import dataclass

import numpy as np

from musiczoo_runtime.contract import DEFAULT_WEIGHTS, SAMPLE_RATE
from musiczoo_runtime.errors import ZooError
from zoo.explain.network import open_network
from zoo.explain.recording import read_patches_many

PROBE_HZ = tuple(np.geomspace(60.0, 7800.0, 28))


@dataclass
class Tuning:
    """Units' responses to probe tones.

    Attributes:
        layer: the layer measured.
        freqs: probe frequencies in Hz `[freqs]`.
        curves: each unit's mean positive activation to each probe `[freqs, units]`.
    """

    layer: str
    freqs: np.ndarray
    curves: np.ndarray

    def peak_hz(self):
        """The probe frequency each unit responds to most `[units]`."""
        return self.freqs[self.curves.argmax(axis=0)]

    def most_selective(self, low_hz, high_hz):
        """The unit tuned most selectively to [low_hz, high_hz].

        Among the units whose mean response in the band is above the layer's median, the one with
        the largest ratio of that response to its strongest response far from the band (above twice
        `high_hz` or below a quarter of `low_hz`).

        Raises:
            ZooError: no probe inside the band.
        """
        inside = (self.freqs >= low_hz) & (self.freqs <= high_hz)
        if not inside.any():
            raise ZooError(f"no probe tone between {low_hz:g} and {high_hz:g} Hz; probes: "
                           f"{self.freqs.min():.0f} to {self.freqs.max():.0f} Hz")
        far = (self.freqs > 2 * high_hz) | (self.freqs < low_hz / 4)
        response = self.curves[inside].mean(axis=0)
        elsewhere = self.curves[far].max(axis=0) if far.any() else np.zeros_like(response)
        ratio = np.where(response > np.median(response), response / (elsewhere + 1e-6), 0.0)
        return int(np.argmax(ratio))


def tuning(model, weights=DEFAULT_WEIGHTS, layer="timbral_7x38_conv", freqs=PROBE_HZ, seconds=3.0, amplitude=0.1):
    """Measures every unit of `layer` with probe tones.

    Args:
        model, weights: catalog name (or fine-tuned folder) and weights.
        layer: a layer with a unit (channel) axis last.
        freqs: probe frequencies in Hz (below 8 kHz).
        seconds, amplitude: length and peak of each probe sine.

    Returns:
        Tuning.

    Raises:
        ZooError: unknown model or layer.
    """
    network = open_network(model, weights)
    function = network.function(network.check_layers(layer))
    freqs = np.asarray(freqs, np.float64)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    probes = [(amplitude * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in freqs]
    rows = []
    for _, recording in read_patches_many(probes, sample_rate=SAMPLE_RATE):
        values = np.maximum(np.asarray(function(recording.patches[:1])[0]), 0)
        rows.append(values.reshape(-1, values.shape[-1]).mean(axis=0))
    return Tuning(layer, freqs, np.array(rows))
