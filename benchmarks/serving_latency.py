"""Latency of an exported SavedModel, in-process: p50 and p99 for one 3 s and one 30 s request.

Usage:
    .venv/bin/python benchmarks/serving_latency.py [--model timbral_temporal] [--weights mtt] [--requests 100]

The model is exported into a temporary folder with `zoo.export`, loaded with
`tf.saved_model.load` (as TF Serving would load it), warmed up with 5
requests of each kind, then called `--requests` times per request kind.
`serving_default` gets a float32 waveform `[1, samples]`; `serve_wav` gets
the same audio as 44.1 kHz 16-bit WAV bytes (decoding and resampling on the graph).
"""

import argparse
import io
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import tensorflow as tf  # noqa: E402

from zoo.deploy.savedmodel import export  # noqa: E402

WARM_UP = 5


def request_audio(seconds, rate, seed=0):
    """A mono test signal of `seconds` at `rate`: a chord with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    y = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) + 0.02 * rng.standard_normal(t.size)
    return y.astype(np.float32)


def wav_bytes(audio, rate):
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def latencies(call, requests):
    """Milliseconds of each of `requests` calls after warm-up."""
    for _ in range(WARM_UP):
        call()
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return np.asarray(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="timbral_temporal")
    parser.add_argument("--weights", default="mtt")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        loaded = tf.saved_model.load(str(export(args.model, args.weights, out_dir=folder)))
        serve, serve_wav = loaded.signatures["serving_default"], loaded.signatures["serve_wav"]
        print(f"{args.model} ({args.weights}), {args.requests} requests each after {WARM_UP} warm-up requests\n")
        print(f"{'signature':<16} {'audio':>6} {'p50 (ms)':>9} {'p99 (ms)':>9} {'mean (ms)':>9}")
        for seconds in (3, 30):
            waveform = tf.constant(request_audio(seconds, 16000)[None])
            wav = tf.constant([wav_bytes(request_audio(seconds, 44100), 44100)])
            for name, call in (("serving_default", lambda: serve(waveform=waveform)),
                               ("serve_wav 44.1k", lambda: serve_wav(wav=wav))):
                ms = latencies(call, args.requests)
                print(f"{name:<16} {seconds:>5}s {np.percentile(ms, 50):>9.1f} {np.percentile(ms, 99):>9.1f} "
                      f"{ms.mean():>9.1f}", flush=True)


if __name__ == "__main__":
    main()
