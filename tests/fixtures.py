"""Test helpers: the repository's paths and synthesized audio (imported by tests as `from fixtures import ...`)."""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "traveling_minstrels.ogg"


def synth(kind, seconds, sample_rate=16000, seed=0):
    """Synthesized mono test audio `[samples]` float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    if kind == "noise":
        y = 0.1 * rng.standard_normal(t.size)
    elif kind == "sweep":
        y = 0.5 * np.sin(2 * np.pi * (50 * t + (7000 - 50) / (2 * seconds) * t ** 2))
    elif kind == "chords":
        y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0))
    elif kind == "clicks":
        y = np.zeros(t.size)
        y[:: sample_rate // 4] = 0.9
        y = np.convolve(y, np.exp(-np.arange(400) / 40.0), mode="same")
    elif kind == "silence":
        y = np.zeros(t.size)
    else:
        raise ValueError(kind)
    return y.astype(np.float32)


def wav_bytes(waveform, rate=16000, subtype="PCM_16"):
    """The bytes of a WAV file holding `waveform` (what a `serve_wav` request item carries)."""
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def graph_error(call):
    """The message of the InvalidArgumentError that `call` (a serving signature on bad input) must raise."""
    import pytest
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        call()
    return str(raised.value)
