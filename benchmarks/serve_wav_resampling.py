"""How far the SavedModel's `serve_wav` (graph resampler) is from `zoo.tag` (soxr) on non-16 kHz WAV files.

Usage:
    .venv/bin/python benchmarks/serve_wav_resampling.py [--model timbral_temporal] [--weights mtt]

Writes 16-bit PCM WAV files at 22.05 and 44.1 kHz (the bundled clip resampled with soxr, and 10 s
of synthesized white noise, clicks and a sine sweep at 22.05 kHz), tags each with `zoo.tag`
(decoded by libsndfile, resampled by soxr) and with the serving module's `serve_wav` (decoded and
resampled on the TensorFlow graph, `zoo.deploy.wav_graph`), and prints the largest difference of
clip-level and patch-level probabilities and whether the top-3 tags agree, as a Markdown table.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fixtures import EXAMPLE, synth  # noqa: E402


def clips(folder):
    """(name, path) of the WAV files compared."""
    y, rate = soundfile.read(EXAMPLE, dtype="float32")
    y = y.mean(axis=1) if y.ndim == 2 else y
    for target in (22050, 44100):
        path = folder / f"example_{target}.wav"
        soundfile.write(path, soxr.resample(y, rate, target, quality="HQ"), target, subtype="PCM_16")
        yield f"bundled clip, {target / 1000:g} kHz", path
    for kind in ("noise", "clicks", "sweep"):
        x = synth(kind, 10.0, 22050)
        path = folder / f"{kind}_22050.wav"
        soundfile.write(path, 0.8 * x / np.abs(x).max(), 22050, subtype="PCM_16")
        yield f"{kind}, 22.05 kHz", path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="timbral_temporal")
    parser.add_argument("--weights", default="mtt")
    args = parser.parse_args()

    import tensorflow as tf

    import zoo
    from zoo.deploy import wav_graph
    from zoo.deploy.savedmodel import serving_module
    from musiczoo_runtime.machine import cpu_name

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "tags.txt").write_text("x\n")
        module = serving_module(args.model, args.weights, folder / "tags.txt")
        print(f"{args.model} ({args.weights}), graph resampler: Kaiser-windowed sinc, rolloff {wav_graph.ROLLOFF}, "
              f"{wav_graph.ZERO_CROSSINGS} zero crossings; {cpu_name()}\n")
        print("| file | max clip diff | max patch diff | top-3 equal |")
        print("|---|---:|---:|---|")
        for name, path in clips(folder):
            want = zoo.tag(path, args.model, args.weights, runtime="tensorflow")
            got = module.serve_wav(tf.constant([path.read_bytes()]))
            count = int(got["patch_count"][0])
            clip = got["clip_probabilities"].numpy()[0]
            patches = got["probabilities"].numpy()[0, :count]
            top = [want.tags[i] for i in np.argsort(-clip, kind="stable")[:3]]
            print(f"| {name} | {np.abs(clip - want.clip_probabilities).max():.4f} | "
                  f"{np.abs(patches - want.probabilities).max():.4f} | "
                  f"{top == [tag for tag, _ in want.top(3)]} |", flush=True)


if __name__ == "__main__":
    main()
