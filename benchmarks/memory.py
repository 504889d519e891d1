"""Peak resident memory of `musiczoo tag` on 1, 10 and 60 minutes of audio.

Usage:
    .venv/bin/python benchmarks/memory.py [--minutes 1 10 60] [--model timbral_temporal]

Each file is synthesized (44.1 kHz stereo 16-bit WAV, written block by block
into a temporary folder) and tagged by a fresh `musiczoo tag` process; the
table reports that process's peak resident set size (ru_maxrss).
"""

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

RATE = 44100


def synthesize(path, minutes, seed=0):
    """Writes `minutes` of chords, clicks and noise whose loudness changes every 10 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(10 * RATE) / RATE
    with soundfile.SoundFile(path, "w", RATE, 2, subtype="PCM_16") as handle:
        for _ in range(int(minutes * 6)):
            root = rng.uniform(110, 440)
            y = sum(0.1 * np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.26, 1.5))
            y += 0.05 * rng.standard_normal(t.size) + 0.3 * (np.sin(2 * np.pi * 2 * t) > 0.99)
            y *= rng.uniform(0.3, 1.0)
            handle.write(np.stack([y, 0.8 * y], axis=1).astype(np.float32))


def peak_rss_mb(command):
    """Runs a command in a child process; returns (its peak RSS in MB, wall seconds)."""
    code = (
        "import resource, subprocess, sys\n"
        f"subprocess.run({command!r}, check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


def measure(minutes_list, commands):
    """Runs every command on every length of synthesized audio, printing one row per run.

    Args:
        minutes_list: lengths in minutes.
        commands: `commands(path, folder)` -> {name: command line} for the file at `path`.

    Returns:
        {(name, minutes): peak RSS in MB}.
    """
    from musiczoo_runtime.machine import cpu_name

    print(f"CPU: {cpu_name()} ({platform.machine()}), python {platform.python_version()}")
    print(f"{'command':>12}  {'audio':>8}  {'peak RSS (MB)':>13}  {'wall (s)':>8}")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for minutes in minutes_list:
            path = Path(folder) / f"{minutes:g}min.wav"
            synthesize(path, minutes)
            for name, command in commands(path, Path(folder)).items():
                rss, seconds = peak_rss_mb(command)
                results[name, minutes] = rss
                print(f"{name:>12}  {minutes:>4g} min  {rss:>13.0f}  {seconds:>8.1f}", flush=True)
            path.unlink()
    low, high = min(minutes_list), max(minutes_list)
    for name in dict.fromkeys(name for name, _ in results):
        if low != high and (name, low) in results and (name, high) in results:
            print(f"{name}: {high:g} min / {low:g} min peak RSS ratio: {results[name, high] / results[name, low]:.3f}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    parser.add_argument("--model", default="timbral_temporal")
    args = parser.parse_args()
    musiczoo = str(Path(sys.executable).parent / "musiczoo")
    results = measure(args.minutes, lambda path, folder: {
        "tag": [musiczoo, "tag", str(path), "--model", args.model, "--format", "json"]})
    if ("tag", 10) in results and ("tag", 60) in results:
        print(f"60 min / 10 min peak RSS ratio: {results['tag', 60] / results['tag', 10]:.3f}")


if __name__ == "__main__":
    main()
