"""Reliability report: many kinds of good and bad inputs through `musiczoo tag` and `musiczoo features`,
and a run killed with SIGKILL then run again.

Usage:
    .venv/bin/python benchmarks/reliability.py [--seed 0] [--copies 3] [--out benchmarks/RELIABILITY.md]

Builds a folder of inputs by category (good files in four formats, rates and channel counts;
truncated, bit-flipped and garbage-spliced copies; random bytes; empty files; NaN and 1e6
amplitudes; float audio peaking at 8 (normalised, with a warning); integer PCM stored as float;
silent and 1-sample files (tagged, with a warning); a broken link; a link loop; a named pipe;
unreadable files), then, each in a fresh process:
`musiczoo tag FOLDER --format json` (as uid 1000 in a user namespace when `unshare` allows it, so
chmod 000 really denies reading), `musiczoo features FOLDER --out OUT`, and the same `features` run
killed with SIGKILL once its first output appears, then run again. Counts per category: inputs,
results, error records (failures isolated), inputs with neither (lost), and tracebacks on stderr.
Writes the table to `--out` and prints it; what `--out` holds below `KEPT` (the cases found by
hostile probes, each with its test) is kept as it is.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile

from musiczoo_runtime.machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
           "mp3": ("MP3", "MPEG_LAYER_III")}
BAD_CATEGORIES = ("random bytes", "empty", "NaN samples", "amplitude 1e6", "integer PCM as float", "broken link",
                  "symlink loop", "named pipe", "unreadable")
WARNED_CATEGORIES = ("float peak 8", "silent", "1 sample")  # tagged, each with a `warning:` line naming it


def music(seconds, rate, channels, rng):
    t = np.arange(int(seconds * rate)) / rate
    y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, 4))
    y = y + 0.05 * rng.standard_normal(t.size)
    return np.stack([y * (0.5 + 0.5 * c / channels) for c in range(channels)], axis=1).astype(np.float32)


def build(folder, copies, rng):
    """Writes the inputs, one sub-folder per format (so `features` outputs do not clash); returns
    {path relative to `folder`: category}."""
    category = {}

    def add(name, kind):
        relative = Path(name.rsplit(".", 1)[1] if kind in ("good", "truncated", "bit flips", "garbage spliced in",
                                                          "random bytes") else "other") / name
        category[str(relative)] = kind
        (folder / relative.parent).mkdir(exist_ok=True)
        return folder / relative

    for i in range(copies):
        for ext, (fmt, subtype) in FORMATS.items():
            rate, channels = [(8000, 1), (22050, 2), (44100, 2), (48000, 1)][(i + len(category)) % 4]
            data = music(rng.uniform(2.0, 7.0), rate, channels, rng)
            good = add(f"good_{i}.{ext}", "good")
            soundfile.write(good, data, rate, format=fmt, subtype=subtype)
            content = good.read_bytes()
            add(f"truncated_{i}.{ext}", "truncated").write_bytes(content[: int(rng.integers(0, len(content)))])
            flipped = bytearray(content)
            for position in rng.integers(0, 8 * len(content), int(rng.integers(1, 64))):
                flipped[position // 8] ^= 1 << (position % 8)
            add(f"bitflips_{i}.{ext}", "bit flips").write_bytes(bytes(flipped))
            spliced = bytearray(content)
            start = int(rng.integers(0, len(content)))
            spliced[start:start + int(rng.integers(1, 4096))] = rng.bytes(int(rng.integers(1, 4096)))
            add(f"spliced_{i}.{ext}", "garbage spliced in").write_bytes(bytes(spliced))
            add(f"random_{i}.{ext}", "random bytes").write_bytes(rng.bytes(int(rng.integers(1, 20000))))
        add(f"empty_{i}.wav", "empty").write_bytes(b"")
        for kind, value in (("NaN samples", np.nan), ("amplitude 1e6", 1e6)):
            y = music(3.0, 16000, 1, rng)
            y[int(rng.integers(0, len(y)))] = value
            soundfile.write(add(f"{kind.split()[0].lower()}_{i}.wav", kind), y, 16000, subtype="FLOAT")
        y = music(4.0, 16000, 1, rng)[:, 0]
        soundfile.write(add(f"hot_{i}.wav", "float peak 8"), 8 * y / np.abs(y).max(), 16000, subtype="FLOAT")
        soundfile.write(add(f"pcm_as_float_{i}.wav", "integer PCM as float"), np.round(20000 * y / np.abs(y).max()),
                        16000, subtype="FLOAT")
        soundfile.write(add(f"silent_{i}.wav", "silent"), np.zeros(5 * 16000, np.float32), 16000)
        soundfile.write(add(f"one_sample_{i}.wav", "1 sample"), y[:1], 16000)
        add(f"broken_link_{i}.mp3", "broken link").symlink_to(folder / "other" / f"missing_{i}.mp3")
        loop = add(f"loop_{i}.flac", "symlink loop")
        loop.symlink_to(loop.name)
        os.mkfifo(add(f"pipe_{i}.wav", "named pipe"))
        locked = add(f"unreadable_{i}.flac", "unreadable")
        soundfile.write(locked, music(3.0, 44100, 2, rng), 44100, format="FLAC")
        locked.chmod(0)
    return category


def user_namespace():
    """The prefix that runs a command as uid 1000 without capabilities, or [] if unavailable."""
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
        return prefix
    return []


def musiczoo(*arguments, prefix=()):
    return subprocess.run([*prefix, sys.executable, "-m", "zoo", *arguments], cwd=ROOT, capture_output=True,
                          text=True, timeout=3600)


def tag_run(folder, category, prefix):
    done = musiczoo("tag", str(folder), "--format", "json", prefix=prefix)
    records = {str(Path(json.loads(line)["file"]).relative_to(folder)): json.loads(line)
               for line in done.stdout.splitlines()}
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    counts = defaultdict(Counter)
    for name, kind in category.items():
        record = records.get(name)
        outcome = "lost" if record is None else "result" if "tags" in record else "error"
        if kind == "good" and outcome != "result":
            outcome = "lost"  # a good file without its tags is lost, whatever was printed
        counts[kind][outcome] += 1
        counts[kind]["error names the file"] += bool(record and "error" in record
                                                     and record["error"].startswith(str(folder / name)))
        counts[kind]["warning names the file"] += any(line.startswith(f"warning: {folder / name}: ")
                                                      for line in warned)
    return done, counts, len(errors)


def loadable(path):
    try:
        return np.load(path)["penultimate"].shape[1] == 200
    except Exception:  # noqa: BLE001 - a partial file is exactly what this looks for
        return False


def features_runs(folder, category, out, kill_delays=(0.0, 0.05, 0.2, 0.5)):
    """features once, then runs killed with SIGKILL at `kill_delays` seconds after their first output appears,
    each followed by a re-run into the same folder; returns a dict of counts."""
    arguments = ("features", str(folder), "--layer", "penultimate", "--out", str(out))
    first = musiczoo(*arguments)
    good = [name for name, kind in category.items() if kind == "good"]
    missing = [name for name in good if not loadable(out / Path(name).with_suffix(".npz"))]
    counts, reruns = Counter(), []
    for delay in kill_delays:
        shutil.rmtree(out)
        process = subprocess.Popen([sys.executable, "-m", "zoo", *arguments], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while process.poll() is None and not (out.is_dir() and any(out.rglob("*.npz"))):
            time.sleep(0.01)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        visible = sorted(out.rglob("*.npz"))
        counts["outputs visible after SIGKILL"] += len(visible)
        counts["partial outputs visible"] += sum(not loadable(p) for p in visible)
        counts["temporaries left by the killed runs"] += len(list(out.rglob(".*")))
        reruns.append(musiczoo(*arguments))
        counts["good files without features after the re-runs"] += sum(
            not loadable(out / Path(name).with_suffix(".npz")) for name in good)
        counts["temporaries left after the re-runs"] += len(list(out.rglob(".*")))
    return {"first run exit": first.returncode, "good files without features": len(missing),
            "runs killed (SIGKILL at 0, 0.05, 0.2, 0.5 s after the first output)": len(kill_delays), **counts,
            "re-run exits": ", ".join(str(run.returncode) for run in reruns),
            "tracebacks": sum("Traceback" in run.stderr for run in (first, *reruns))}


def report(category, counts, tracebacks, error_lines, features, prefix, seconds):
    kinds = list(dict.fromkeys(category.values()))
    lines = ["# Reliability report", "",
             f"`.venv/bin/python benchmarks/reliability.py` ({cpu_model()}, "
             f"{os.cpu_count()} cores, {seconds:.0f} s). `musiczoo tag FOLDER --format json` ran "
             + ("as uid 1000 in a user namespace (`unshare --user`), so unreadable files really were unreadable."
                if prefix else "as the current user (no user namespace: as root, 'unreadable' files were readable)."),
             "", "| category | inputs | tagged | warning names the file | error record | error names the file | lost |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind in kinds:
        c = counts[kind]
        lines.append(f"| {kind} | {sum(1 for k in category.values() if k == kind)} | {c['result']} "
                     f"| {c['warning names the file']} | {c['error']} | {c['error names the file']} | {c['lost']} |")
    total = Counter()
    for c in counts.values():
        total.update(c)
    bad_tagged = sum(counts[kind]["result"] for kind in BAD_CATEGORIES)
    unwarned = sum(counts[kind]["result"] - counts[kind]["warning names the file"] for kind in WARNED_CATEGORIES)
    lines += [f"| **all** | {len(category)} | {total['result']} | {total['warning names the file']} | {total['error']} "
              f"| {total['error names the file']} | **{total['lost']}** |", "",
              f"Outputs lost: **{total['lost']}** (must be 0). Tracebacks seen: **{tracebacks}** in `tag`, "
              f"**{features['tracebacks']}** in `features` (must be 0). `error:` lines on stderr: {error_lines} "
              f"(one per error record: {error_lines == total['error']}). Inputs that can never be audio "
              f"(random bytes, empty, NaN, 1e6, integer PCM as float, broken links, link loops, pipes, unreadable) "
              f"tagged anyway: {bad_tagged}. Inputs whose tags need a warning (float peaking at 8, normalised; "
              f"silent; 1 sample) tagged without one: {unwarned} (must be 0). Damaged "
              "copies of real files either decode (a result) or fail with their own error; both are correct.", "",
              "`musiczoo features FOLDER --out OUT` (exit 1: the bad inputs fail), then the same run killed with "
              "SIGKILL shortly after its first output appears, and run again into the same folder, four times:",
              "", "| measure | value |", "|---|---:|"]
    lines += [f"| {key} | {value} |" for key, value in features.items()]
    return "\n".join(lines) + "\n"


KEPT = "<!-- kept by benchmarks/reliability.py: the cases below are written by hand, each with its test -->"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--copies", type=int, default=3, help="inputs per category and format (default: 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RELIABILITY.md")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        os.chmod(scratch, 0o755)
        folder = scratch / "inputs"
        folder.mkdir()
        category = build(folder, args.copies, np.random.default_rng(args.seed))
        prefix = user_namespace()
        done, counts, error_lines = tag_run(folder, category, prefix)
        for relative, kind in category.items():
            if kind == "unreadable":
                (folder / relative).chmod(0o644)  # features runs as this user: unreadable only in the tag run
        features = features_runs(folder, category, scratch / "features")
        text = report(category, counts, done.stderr.count("Traceback"), error_lines, features, prefix,
                      time.perf_counter() - started)
    sys.path.insert(0, str(ROOT))
    from musiczoo_runtime.atomic import atomic_path

    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if KEPT in old:
        text = text.rstrip("\n") + "\n\n" + KEPT + old.split(KEPT, 1)[1]
    with atomic_path(args.out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
