"""Peak resident memory of `musiczoo explain units` and `explain activations` on 10 and 60 minutes of audio.

Usage:
    .venv/bin/python benchmarks/explain_memory.py [--minutes 10 60] [--model timbral_temporal] [--layer timbral]

The files are the ones `benchmarks/memory.py` synthesizes (44.1 kHz stereo 16-bit WAV, chords, clicks
and noise, written block by block); each command runs in a fresh process and the table reports that
process's peak resident set size (ru_maxrss). `units` keeps 5 excerpts per unit with up to 5 from the
one file (`--per-file 5`), so the search and the excerpt cutting both work on the long file.
"""

import argparse
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from memory import peak_rss_mb, synthesize


def cpu_name():
    """The CPU's model name as `lscpu` reports it."""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60])
    parser.add_argument("--model", default="timbral_temporal")
    parser.add_argument("--layer", default="timbral")
    args = parser.parse_args()
    musiczoo = str(Path(sys.executable).parent / "musiczoo")
    print(f"CPU: {cpu_name()}, python {platform.python_version()}")
    print(f"{'command':>12}  {'audio':>8}  {'peak RSS (MB)':>13}  {'wall (s)':>8}")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for minutes in args.minutes:
            path = Path(folder) / f"{minutes:g}min.wav"
            synthesize(path, minutes)
            commands = {
                "units": [musiczoo, "explain", "units", str(path), "--model", args.model, "--layer", args.layer,
                          "--top", "5", "--per-file", "5", "--out", str(Path(folder) / f"units{minutes:g}")],
                "activations": [musiczoo, "explain", "activations", str(path), "--model", args.model,
                                "--out", str(Path(folder) / f"maps{minutes:g}")],
            }
            for name, command in commands.items():
                rss, seconds = peak_rss_mb(command)
                results[name, minutes] = rss
                print(f"{name:>12}  {minutes:>4g} min  {rss:>13.0f}  {seconds:>8.1f}", flush=True)
            path.unlink()
    low, high = min(args.minutes), max(args.minutes)
    for name in ("units", "activations"):
        if (name, low) in results and (name, high) in results:
            print(f"{name}: {high:g} min / {low:g} min peak RSS ratio: {results[name, high] / results[name, low]:.3f}")


if __name__ == "__main__":
    main()
