"""Throughput of `musiczoo tag` against the original musicnn 0.1.0 pipeline, side by side.

Usage:
    .venv/bin/python benchmarks/throughput.py [--rounds 2] [--real DIR] [--runtimes auto tensorflow onnx]

The file set: the bundled clip (real music, looped to 40 s) plus synthesized
music-like files in mixed formats and sample rates (WAV 44.1 kHz stereo 30 s,
FLAC 48 kHz 1 min, OGG/Vorbis 22.05 kHz 3 min, MP3 44.1 kHz 10 min), and
every audio file under `--real DIR` if given. Both pipelines run as fresh
processes over the same files, alternating, `--rounds` times each:

- zoo: `musiczoo tag FILES --hop 3 --last-patch drop --format json --runtime R`, once per
  runtime R (`auto`, the default, picks per model and batch size from the measured table);
- original: librosa.load at 16 kHz, musicnn's librosa log-mel, 3 s patches,
  the original TF1 graph from the musicnn wheel, one file at a time (the graph
  is loaded once, which favours the original).

The table gives audio-seconds per wall-second of each whole process (start-up
included) and of the processing alone (after imports and model loading), the
ratio, and whether the top-3 tags agree per file with the original's. A second
table times the front end alone: the zoo's on-graph log-mel against librosa's.
The ONNX graphs are converted (and cached) before the timed runs.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "traveling_minstrels.ogg"
SYNTHESIZED = [  # (name, seconds, rate, channels, format, subtype)
    ("synth_30s.wav", 30, 44100, 2, "WAV", "PCM_16"),
    ("synth_1min.flac", 60, 48000, 1, "FLAC", "PCM_16"),
    ("synth_3min.ogg", 180, 22050, 2, "OGG", "VORBIS"),
    ("synth_10min.mp3", 600, 44100, 2, "MP3", "MPEG_LAYER_III"),
]


def synthesize(seconds, rate, seed):
    """Music-like audio `[samples]`: chord changes, a bass line, hi-hat clicks and a kick every beat."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / rng.uniform(80, 140)
    out = np.zeros(int(seconds * rate), np.float32)
    t_bar = np.arange(int(4 * beat * rate)) / rate
    for start in range(0, len(out), len(t_bar)):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        bar = sum(0.08 * np.sin(2 * np.pi * root * ratio * 2 * t_bar) for ratio in (1.0, 1.26, 1.5))
        bar += 0.15 * np.sin(2 * np.pi * root / 2 * t_bar)
        for k in range(8):
            onset = int(k * beat / 2 * rate)
            length = min(len(t_bar) - onset, int(0.05 * rate))
            bar[onset:onset + length] += 0.1 * rng.standard_normal(length) * np.exp(-np.arange(length) / (0.01 * rate))
            if k % 2 == 0:
                kick = np.arange(min(len(t_bar) - onset, int(0.15 * rate))) / rate
                bar[onset:onset + len(kick)] += 0.5 * np.sin(2 * np.pi * 55 * kick) * np.exp(-kick / 0.05)
        piece = bar[: len(out) - start]
        out[start:start + len(piece)] = piece
    return np.clip(out, -1, 1)


def make_files(folder, real_dir=None):
    """Writes the benchmark set into `folder`; returns the paths (real files from `real_dir` appended)."""
    from musiczoo_runtime.audio import EXTENSIONS

    clip, rate = soundfile.read(EXAMPLE, dtype="float32")
    paths = [folder / "example_looped_40s.flac"]
    soundfile.write(paths[0], np.concatenate([clip, clip]), rate)
    for seed, (name, seconds, file_rate, channels, fmt, subtype) in enumerate(SYNTHESIZED):
        y = synthesize(seconds, file_rate, seed)
        data = np.stack([y, np.roll(y, 100)], axis=1) if channels == 2 else y
        extra = {"compression_level": 0.0} if subtype in ("VORBIS", "MPEG_LAYER_III") else {}
        with soundfile.SoundFile(folder / name, "w", file_rate, channels, subtype, format=fmt, **extra) as handle:
            for start in range(0, len(data), 10 * file_rate):  # libsndfile's MP3 encoder crashes on huge writes
                handle.write(data[start:start + 10 * file_rate])
        paths.append(folder / name)
    if real_dir:
        paths += sorted(p for p in Path(real_dir).rglob("*") if p.suffix.lower() in EXTENSIONS)
    return paths


def run_original(paths, out_file):
    """The original pipeline, one file at a time; writes {file: clip probabilities} and the processing time."""
    import librosa

    from zoo.reference import musicnn as original

    graph = original.original_graph("MTT_musicnn")
    start = time.perf_counter()
    results = {}
    for path in paths:
        audio, _ = librosa.load(path, sr=16000)
        patches = original.original_patches(original.librosa_logmel(audio, pad_mode="constant"))
        results[str(path)] = graph(patches).mean(axis=0).tolist()
    Path(out_file).write_text(json.dumps({"seconds": time.perf_counter() - start, "results": results}))


def timed(command):
    """Runs a command; returns (wall seconds, stdout)."""
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def frontend_table(paths):
    """Audio-seconds per second of the zoo's streamed on-graph log-mel and of librosa's, alternating."""
    from zoo.reference import musicnn as original
    from musiczoo_runtime.audio import read_file
    from zoo.signal.streaming import LogmelStream

    def zoo_logmel(audio):
        stream = LogmelStream()
        return np.concatenate([stream.push(audio), stream.finish()])

    audios = [read_file(path)[0] for path in paths]
    seconds = sum(len(a) for a in audios) / 16000
    zoo_logmel(audios[0][:48000])  # builds the front end
    best = {"zoo on-graph log-mel": 0.0, "librosa log-mel": 0.0}
    for _ in range(2):
        for name, function in (("zoo on-graph log-mel", zoo_logmel),
                               ("librosa log-mel", lambda a: original.librosa_logmel(a, "constant"))):
            start = time.perf_counter()
            for audio in audios:
                function(audio)
            best[name] = max(best[name], seconds / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--real", metavar="DIR", help="folder of real music to add to the set")
    parser.add_argument("--runtimes", nargs="+", default=["auto", "tensorflow", "onnx"],
                        choices=["auto", "tensorflow", "onnx"], help="zoo runtimes to time (default: all three)")
    parser.add_argument("--run-original", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_original:
        return run_original(args.run_original, args.out)

    import zoo
    from musiczoo_runtime.machine import cpu_name
    from zoo.inference.runtimes import onnx_path

    onnx_path("timbral_temporal", "mtt")  # the cached graph, so that no timed run converts it
    print(f"CPU: {cpu_name()} ({platform.machine()}), python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    zoos = [f"zoo {runtime}" for runtime in args.runtimes]
    musiczoo = str(Path(sys.executable).parent / "musiczoo")
    with tempfile.TemporaryDirectory() as folder:
        paths = make_files(Path(folder), args.real)
        audio_seconds = sum(soundfile.info(p).duration for p in paths)
        print(f"{len(paths)} files, {audio_seconds / 60:.1f} min of audio")
        walls = {name: [] for name in ["original", *zoos]}
        processing = {name: [] for name in ["original", *zoos]}
        outputs = {}
        for _ in range(args.rounds):
            for runtime, name in zip(args.runtimes, zoos):
                wall, out = timed([musiczoo, "tag", *map(str, paths), "--hop", "3", "--last-patch", "drop",
                                   "--format", "json", "--runtime", runtime])
                walls[name].append(wall)
                outputs[name] = {r["file"]: r["tags"] for r in map(json.loads, out.splitlines())}
            result_file = Path(folder) / "original.json"
            wall, _ = timed([sys.executable, __file__, "--run-original", *map(str, paths), "--out", str(result_file)])
            walls["original"].append(wall)
            original_run = json.loads(result_file.read_text())
            processing["original"].append(original_run["seconds"])
            outputs["original"] = original_run["results"]
        # the zoo's processing time: the same command on the same files minus its start-up on a 3 s clip
        tiny = Path(folder) / "tiny.wav"
        soundfile.write(tiny, np.zeros(48000, np.float32), 16000)
        startups = {}
        for runtime, name in zip(args.runtimes, zoos):
            startups[name] = min(timed([musiczoo, "tag", str(tiny), "--format", "json", "--runtime", runtime])[0]
                                 for _ in range(args.rounds))
            processing[name] = [wall - startups[name] for wall in walls[name]]

        tags = zoo.card("timbral_temporal")["tags"]

        def top3(clip):
            return sorted(tags, key=lambda t: -clip[t])[:3]

        theirs = {path: [tags[i] for i in np.argsort(-np.asarray(outputs["original"][path]))[:3]]
                  for path in map(str, paths)}
        print(f"\n{'pipeline':<16} {'wall (s)':>9} {'audio s / wall s':>16} {'start-up (s)':>12} "
              f"{'processing (s)':>14} {'audio s / s':>11} {'x original':>10} {'same top-3':>10}")
        rates = {}
        for name in ["original", *zoos]:
            wall, work = min(walls[name]), min(processing[name])
            rates[name] = (audio_seconds / wall, audio_seconds / work)
            agree = sum(top3(outputs[name][path]) == theirs[path]
                        for path in map(str, paths)) if name != "original" else len(paths)
            startup = f"{startups[name]:.1f}" if name in startups else "-"
            print(f"{name:<16} {wall:>9.1f} {rates[name][0]:>16.1f} {startup:>12} {work:>14.1f} "
                  f"{rates[name][1]:>11.1f} {rates[name][0] / rates['original'][0]:>9.2f}x "
                  f"{agree:>6}/{len(paths)}")
        alone = ", ".join(f"{name} {rates[name][1] / rates['original'][1]:.2f}x" for name in zoos)
        print(f"x original: audio-seconds per wall-second of the whole process against the original's "
              f"(processing alone: {alone})")
        if "zoo tensorflow" in outputs:
            same = {name: sum(top3(outputs[name][path]) == top3(outputs["zoo tensorflow"][path]) for path in theirs)
                    for name in zoos}
            print("top-3 identical to zoo tensorflow: " + ", ".join(f"{n} {k}/{len(paths)}" for n, k in same.items()))
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        print(f"\n{'front end':<22} {'audio s / s':>11}")
        for name, rate in frontend_table(paths).items():
            print(f"{name:<22} {rate:>11.0f}")


if __name__ == "__main__":
    main()
