"""Throughput of `musiczoo beam tag` on the local runner with 1 and 2 worker processes, against `musiczoo tag`.

Usage:
    .venv/bin/python benchmarks/beam_scaling.py [--files 48] [--seconds 120] [--rounds 2]

The same files (music-like synthesized audio from benchmarks/throughput.py, cycling through
WAV 44.1 kHz stereo, FLAC 48 kHz, OGG/Vorbis 22.05 kHz and MP3 44.1 kHz) go through three
commands, each a fresh process, alternating, `--rounds` times:

- `musiczoo tag FOLDER --format json` (one process: reader thread + network, every core);
- `musiczoo beam tag FOLDER --out PREFIX --direct_num_workers=1` (FnApiRunner, one worker process);
- the same with `--direct_num_workers=2`;
- the same with `--direct_num_workers=2 --runtime tensorflow` (the others run `--runtime auto`, which
  takes ONNX Runtime or TensorFlow, whichever the shipped measurements find faster on this CPU).

Throughput is audio-seconds per wall-second of the whole command (start-up included: Beam's
job service and each worker's TensorFlow import and model load are part of what a user
waits for). The bars of issue 17: 2 workers at least 1.6x 1 worker, and 2 workers at least
0.8x `musiczoo tag`. Each command's start-up (best of `--rounds` runs on one 3 s file) is measured
too, and the ratios are also given after it, which is what a catalogue much larger than the
benchmark's sees. The clip tags of the Beam runs are checked against `musiczoo tag`'s.
The machine's load (`uptime`) is printed before and after every run.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import synthesize  # noqa: E402

from musiczoo_runtime.machine import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMATS = [(44100, 2, "WAV", "PCM_16", ".wav"), (48000, 1, "FLAC", "PCM_16", ".flac"),
           (22050, 2, "OGG", "VORBIS", ".ogg"), (44100, 1, "MP3", "MPEG_LAYER_III", ".mp3")]
MUSICZOO = [sys.executable, "-m", "zoo"]


def make_files(folder, count, seconds):
    """Writes `count` files of `seconds` each into `folder`; returns the total audio seconds."""
    for i in range(count):
        rate, channels, fmt, subtype, suffix = FORMATS[i % len(FORMATS)]
        y = synthesize(seconds, rate, seed=i)
        data = np.stack([y, np.roll(y, 7)], axis=1) if channels == 2 else y
        with soundfile.SoundFile(folder / f"track{i:02d}{suffix}", "w", rate, channels, subtype, format=fmt) as out:
            for start in range(0, len(data), 10 * rate):  # libsndfile's Vorbis and MP3 encoders crash on huge writes
                out.write(data[start:start + 10 * rate])
    return count * seconds


def load():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed(command):
    """Runs a command; returns (wall seconds, stdout). Fails loudly on a non-zero exit."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def clip_tags(records):
    return {Path(r["file"]).name: np.array(list(r["tags"].values())) for r in records if "tags" in r}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each file")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="beam-scaling-") as scratch:
        folder = Path(scratch) / "music"
        folder.mkdir()
        audio = make_files(folder, args.files, args.seconds)
        out = Path(scratch) / "out"
        runs = {"musiczoo tag": [*MUSICZOO, "tag", str(folder), "--format", "json"]}
        for workers, runtime, name in ((1, "auto", "beam, 1 worker(s)"), (2, "auto", "beam, 2 worker(s)"),
                                       (2, "tensorflow", "beam, 2 worker(s), tensorflow")):
            runs[name] = [*MUSICZOO, "beam", "tag", str(folder), "--out", str(out / f"w{workers}{runtime}"),
                          f"--direct_num_workers={workers}", "--runtime", runtime]
        walls, tags = {name: [] for name in runs}, {}
        print(f"CPU: {cpu_name()}; {args.files} files, {audio:.0f} s of audio", flush=True)
        for round_ in range(args.rounds):
            for name, command in runs.items():
                before = load()
                wall, stdout = timed(command)
                walls[name].append(wall)
                print(f"round {round_ + 1} {name}: {wall:.1f} s ({audio / wall:.1f} audio-s/s)\n"
                      f"  before: {before}\n  after:  {load()}", flush=True)
                if name == "musiczoo tag":
                    tags[name] = clip_tags(json.loads(line) for line in stdout.splitlines())
                else:
                    prefix = command[command.index("--out") + 1]
                    tags[name] = clip_tags(json.loads(line) for path in glob.glob(f"{prefix}-tags-*.jsonl")
                                           for line in open(path, encoding="utf-8"))
        # start-up: the same commands on one 3 s file (Beam's job service, worker processes, imports, model load)
        tiny = Path(scratch) / "tiny"
        tiny.mkdir()
        soundfile.write(tiny / "tiny.wav", np.zeros(48000, np.float32), 16000)
        startup = {name: min(timed([str(tiny) if part == str(folder) else part for part in command])[0]
                             for _ in range(args.rounds)) for name, command in runs.items()}
    best = {name: audio / min(values) for name, values in walls.items()}
    alone = {name: audio / max(min(values) - startup[name], 1e-9) for name, values in walls.items()}
    reference = tags["musiczoo tag"]
    print("\n| command | best wall s | audio-s per wall-s | start-up s (3 s file) | audio-s per s after start-up "
          "| max abs. diff of clip tags vs `musiczoo tag` |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in runs:
        same = sorted(tags[name]) == sorted(reference)
        diff = max(np.abs(tags[name][f] - reference[f]).max() for f in reference) if same else float("nan")
        print(f"| {name} | {min(walls[name]):.1f} | {best[name]:.1f} | {startup[name]:.1f} | {alone[name]:.1f} "
              f"| {diff:.1e} |")
    for label, rates in (("whole commands", best), ("after start-up", alone)):
        scaling = rates["beam, 2 worker(s)"] / rates["beam, 1 worker(s)"]
        versus = rates["beam, 2 worker(s)"] / rates["musiczoo tag"]
        runtime = rates["beam, 2 worker(s)"] / rates["beam, 2 worker(s), tensorflow"]
        print(f"{label}: 2 workers / 1 worker: {scaling:.2f}x (bar 1.6x: {'met' if scaling >= 1.6 else 'not met'}); "
              f"2 workers / musiczoo tag: {versus:.2f}x (bar 0.8x: {'met' if versus >= 0.8 else 'not met'}); "
              f"2 workers, auto / tensorflow: {runtime:.2f}x")


if __name__ == "__main__":
    main()
