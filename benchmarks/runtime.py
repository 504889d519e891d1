"""musiczoo-runtime against the full musiczoo, side by side in one run: start-up, installed size, throughput.

Usage:
    .venv/bin/python benchmarks/runtime.py --real DIR [--files 40] [--rounds 3] [--venvs DIR]

Two fresh virtual environments (made under `--venvs`, default a temporary folder, and reused when
present): `full` with `pip install .` (the musiczoo wheel, TensorFlow included) and `runtime` with
`pip install ./runtime` only. Measured, every command in a fresh process, the two alternating:

- installed size: `du` of each environment (bar: the runtime's at most a tenth of the full one's);
- start-up: `musiczoo-runtime tag 3s.wav` against `musiczoo tag 3s.wav` (the full default, `--runtime
  auto`), wall seconds, median of `--rounds` (bar: at most 1.0 s, and at most a third of the full one's);
- throughput: the first `--files` audio files under `--real DIR` (real recordings, never committed),
  `tag FILES --hop 3 --last-patch drop --format json` with both commands, and the original musicnn 0.1.0
  pipeline (benchmarks/throughput.py's, one file at a time, the TF1 graph): wall seconds of the whole
  process, start-up included, and whether the top-3 tags agree (bar: the runtime at least 2x the
  original's speed). Each command runs once untimed first (the full one's `auto` may calibrate).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("tensorflow", "keras", "kapre", "librosa", "scipy")


def venv(folder, *requirement):
    """A virtual environment at `folder` with `requirement` installed (made once; reused when present)."""
    python = folder / "bin" / "python"
    if not (folder / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirement], check=True)
        (folder / ".installed").touch()
    return folder


def megabytes(folder):
    return int(subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True,
                              check=True).stdout.split()[0]) / 1024


def timed(command):
    """Runs a command in a fresh process; returns (wall seconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command[:3]))} ... exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall, done.stdout


def top3(probabilities, tags):
    return [tags[i] for i in np.argsort(-np.asarray(probabilities), kind="stable")[:3]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", required=True, metavar="DIR", help="folder of real recordings")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--venvs", metavar="DIR", help="where the two environments are made (default: temporary)")
    args = parser.parse_args()

    from musiczoo_runtime.machine import cpu_name

    print(f"CPU: {cpu_name()} ({platform.machine()}, {os.cpu_count()} cores), python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.venvs or scratch)
        full = venv(base / "full", str(ROOT))
        light = venv(base / "runtime", str(ROOT / "runtime"))
        listed = subprocess.run([str(light / "bin" / "python"), "-m", "pip", "list"], capture_output=True,
                                text=True, check=True).stdout.lower().split()
        print(f"runtime environment holds any of {', '.join(HEAVY)}: {any(h in listed for h in HEAVY)}")
        sizes = {"full": megabytes(full), "runtime": megabytes(light)}
        print(f"\ninstalled size: full {sizes['full']:.0f} MB, runtime {sizes['runtime']:.0f} MB, "
              f"ratio {sizes['runtime'] / sizes['full']:.3f} (bar <= 0.100)")

        commands = {"full": [str(full / "bin" / "musiczoo")], "runtime": [str(light / "bin" / "musiczoo-runtime")]}
        tiny = Path(scratch) / "3s.wav"
        t = np.arange(48000) / 16000
        soundfile.write(tiny, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
        startup = {name: [] for name in commands}
        for name, command in commands.items():
            timed([*command, "tag", str(tiny)])  # untimed: caches (the full `auto` table, the OS's file cache)
        for _ in range(args.rounds):
            for name, command in commands.items():
                startup[name].append(timed([*command, "tag", str(tiny)])[0])
        median = {name: statistics.median(walls) for name, walls in startup.items()}
        print(f"\nstart-up, `tag` on one 3 s file, median of {args.rounds} (all runs):")
        for name in commands:
            print(f"  {name:<8} {median[name]:.2f} s  ({', '.join(f'{w:.2f}' for w in startup[name])})")
        print(f"  runtime / full {median['runtime'] / median['full']:.3f} (bar <= 0.333); runtime "
              f"{median['runtime']:.2f} s (bar <= 1.0 s)")

        extensions = (".wav", ".flac", ".ogg", ".mp3")
        paths = sorted(p for p in Path(args.real).rglob("*") if p.suffix.lower() in extensions)[:args.files]
        audio_seconds = sum(soundfile.info(p).duration for p in paths)
        print(f"\nthroughput: {len(paths)} files from {args.real}, {audio_seconds / 60:.1f} min of audio")
        tag_args = ["tag", *map(str, paths), "--hop", "3", "--last-patch", "drop", "--format", "json"]
        original_out = Path(scratch) / "original.json"
        runs = dict(commands)
        runs["original"] = [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--run-original"]
        walls, outputs = {name: [] for name in runs}, {}
        for _ in range(args.rounds):
            for name, command in runs.items():
                if name == "original":
                    wall, _ = timed([*command, *map(str, paths), "--out", str(original_out)])
                    outputs[name] = json.loads(original_out.read_text())["results"]
                else:
                    wall, out = timed([*command, *tag_args])
                    outputs[name] = {r["file"]: r["tags"] for r in map(json.loads, out.splitlines())}
                walls[name].append(wall)
        tags = list(next(iter(outputs["full"].values())))
        tops = {name: {path: top3(list(result[path].values()) if isinstance(result[path], dict) else result[path],
                                  tags) for path in map(str, paths)} for name, result in outputs.items()}
        best = {name: min(w) for name, w in walls.items()}
        print(f"{'pipeline':<10} {'wall (s), best of ' + str(args.rounds):>22} {'audio s / wall s':>17} "
              f"{'x original':>10} {'top-3 = original':>16} {'top-3 = full':>12}")
        for name in runs:
            same_original = sum(tops[name][p] == tops["original"][p] for p in tops[name])
            same_full = sum(tops[name][p] == tops["full"][p] for p in tops[name])
            print(f"{name:<10} {best[name]:>22.2f} {audio_seconds / best[name]:>17.1f} "
                  f"{best['original'] / best[name]:>9.2f}x {same_original:>13}/{len(paths)} "
                  f"{same_full:>9}/{len(paths)}")
        diff = max(abs(outputs["runtime"][p][t] - outputs["full"][p][t]) for p in outputs["full"] for t in tags)
        print(f"runtime against full: largest probability difference {diff:.2e}; runtime x full "
              f"{best['full'] / best['runtime']:.2f}; runtime x original {best['original'] / best['runtime']:.2f} "
              f"(bar >= 2.0)")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
