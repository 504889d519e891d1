"""Build the unlabeled corpus of freely licensed music used to distil the zoo's students.

Usage (from the repository root, inside the project's virtualenv, as root or with sudo for apt):

    python tools/build_corpus.py --out ~/musiczoo-corpus    # or set $MUSICZOO_CORPUS and omit --out

Needs: Debian's package registry (`apt-get download`, `dpkg -x`), `fluidsynth`
(installed with `apt-get install -y fluidsynth` when missing and running as
root; otherwise install it yourself or pass `--midi-pieces 0`) and the
`music21` Python package for the score corpus (`pip install -e ".[corpus]"`).
Optional: MIR-1K (sung pop, research use), by default at `../shared/data/mir1k`
next to the repository (`--mir1k` to point elsewhere), is referenced in place,
never copied; without it the corpus is simply smaller.

What it writes under `--out` (default `$MUSICZOO_CORPUS`; keep it outside the repository):
  debs/, packages/<name>/    downloaded and extracted Debian packages
  audio/drums/, audio/loops/, audio/midi/
                             16 kHz mono FLAC sequenced from drum one-shots,
                             tiled loops and General MIDI renderings of scores
  manifest.csv               one row per file: id, path, track, source,
                             style, original_path, license, duration, split
  summary.json               hours per source and split, licenses per source

Soundtrack files are used in place (only those of at least
`--min-music-seconds`, which leaves out sound effects). Every file is its
own track, except drum patterns (their kit is the track) and MIR-1K clips
(their song, `<singer>_<song>`, is the track). The split
is by track: a track's sha256 decides train (80 %), validation (10 %) or
test (10 %), so no recording is divided between splits. Everything is
deterministic for a given set of packages and `--seed`.
"""

import argparse
import csv
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiczoo_runtime.atomic import atomic_path, rename_no_replace, temporary  # noqa: E402
from musiczoo_runtime.contract import SAMPLE_RATE  # noqa: E402
from musiczoo_runtime.errors import ZooError  # noqa: E402
from musiczoo_runtime import audio as audio_io  # noqa: E402
from zoo.training.corpus import split_of  # noqa: E402

SOUNDTRACKS = (
    "wesnoth-1.16-music", "freedroidrpg-data", "planetblupi-music-ogg", "supertuxkart-data", "hedgewars-data",
    "widelands-data", "boswars-data", "fillets-ng-data", "pushover-data", "frozen-bubble-data",
)
SOUNDFONTS = {
    "fluid-soundfont-gm": "usr/share/sounds/sf2/FluidR3_GM.sf2",
    "musescore-general-soundfont-small": "usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
    "timgm6mb-soundfont": "usr/share/sounds/sf2/TimGM6mb.sf2",
}
MIR1K = ROOT.parent / "shared" / "data" / "mir1k"  # the shared data folder next to the repository
CORPUS_ENV = "MUSICZOO_CORPUS"
MIR1K_LICENSE = "MIR-1K (Hsu and Jang 2010), research use only; not redistributed"
MUSIC21_LICENSE = "music21 corpus scores (BSD-3-Clause package; public-domain works)"
AUDIO_SUFFIXES = (".ogg", ".wav", ".flac", ".mp3", ".aiff", ".aif")
FIELDS = ("id", "path", "track", "source", "style", "original_path", "license", "duration", "split")
# General MIDI programs (0-based) the score parts are given, so renderings cover many timbres.
GM_PROGRAMS = (0, 4, 6, 11, 19, 24, 25, 32, 40, 42, 46, 48, 52, 56, 60, 65, 68, 71, 73, 80, 88, 104)
MAX_MEASURES = 48
RENDER_RATE = 44100
KIT_ROLES = (
    ("kick", r"kick|\bbd|bass ?drum|^bd_|drum_bass|drum_heavy_kick"),
    ("snare", r"snare|\bsn\b|^sn_|clap|rim"),
    ("hat", r"hat|\bhh|cymbal_closed|cymbal_pedal|shaker|tambourine"),
    ("tom", r"tom"),
    ("cymbal", r"crash|ride|splash|china|cymbal"),
)


def ensure_package(name, out):
    """Downloads and extracts a Debian package once; returns its extracted root."""
    root = out / "packages" / name
    if root.is_dir():
        return root
    debs = out / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{name}_*.deb")):
        result = subprocess.run(["apt-get", "download", name], cwd=debs, capture_output=True, text=True)
        if result.returncode:
            raise ZooError(f"apt-get download {name} failed: {result.stderr.strip()[-300:]}")
    with temporary(root.parent, name, directory=True) as tmp:  # a killed run leaves no half-extracted package
        subprocess.run(["dpkg", "-x", str(next(debs.glob(f"{name}_*.deb"))), str(tmp)], check=True)
        rename_no_replace(tmp, root)
    return root


def read_copyright(root, name):
    """A package's copyright file: its DEP-5 (Files patterns, License) stanzas in order, and its text."""
    text = (root / "usr/share/doc" / name / "copyright").read_text(encoding="utf-8", errors="replace")
    stanzas, files = [], None
    for line in text.splitlines():
        if line.startswith("Files:"):
            files = line[len("Files:"):].split()
        elif line.startswith("License:") and files is not None:
            stanzas.append((files, line[len("License:"):].strip()))
            files = None
        elif files is not None and line.startswith((" ", "\t")) and ":" not in line:
            files.extend(line.split())
    return stanzas, text


def _pattern_matches(pattern, parts):
    """Whether a DEP-5 pattern (a path in the source tree) matches an installed path's components.

    Source-tree prefixes differ from install paths (`etc/samples/x.flac` is installed as
    `usr/share/sonic-pi/samples/x.flac`), so a pattern matches when some tail of it matches
    some tail of the path (`*` crossing `/` as in DEP-5), provided that pattern tail is not a
    bare wildcard. An archive pattern `drumkits/Kit.h2drumkit` stands for `drumkits/Kit/*`.
    """
    if pattern == "*":
        return True
    pieces = re.sub(r"\.h2drumkit$", "/*", pattern).split("/")
    tails = ["/".join(pieces[m:]) for m in range(len(pieces))]
    suffixes = ["/".join(parts[k:]) for k in range(len(parts))]
    return any(t.strip("*/?") and fnmatch.fnmatch(s, t) for t in tails for s in suffixes)


def license_of(copyright, relative):
    """The license of an installed file from its package's copyright file.

    DEP-5 files: the last stanza whose pattern matches (see `_pattern_matches`). Free-form
    files: the licenses they name under /usr/share/common-licenses.
    """
    stanzas, text = copyright
    parts = Path(relative).parts
    found = None
    for patterns, name in stanzas:
        if name and any(_pattern_matches(p, parts) for p in patterns):
            found = name
    if found:
        return found
    named = list(dict.fromkeys(m.rstrip(".") for m in re.findall(r"common-licenses/([A-Za-z0-9.+-]+)", text)))
    return f"free-form copyright file naming {', '.join(named)}" if named else "see the package's copyright file"


def duration_of(path):
    """Seconds of audio in a file libsndfile can read, or None."""
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError):
        return None
    return info.frames / info.samplerate if info.samplerate else None


def write_flac(path, waveform):
    """Writes a 16 kHz mono waveform as 16-bit FLAC (peak-normalised to 0.9) atomically; returns seconds."""
    peak = float(np.max(np.abs(waveform))) or 1.0
    with atomic_path(path) as tmp:
        soundfile.write(str(tmp), (0.9 / peak * waveform).astype(np.float32), SAMPLE_RATE, format="FLAC")
    return len(waveform) / SAMPLE_RATE


def soundtrack_rows(out, name, min_seconds):
    """Manifest rows of a game package's music files (used in place)."""
    root = ensure_package(name, out)
    copyright = read_copyright(root, name)
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        seconds = duration_of(path)
        if seconds is None or seconds < min_seconds:
            continue
        relative = path.relative_to(root).as_posix()
        rows.append({
            "id": f"{name}:{relative}", "path": path.relative_to(out).as_posix(), "track": f"{name}:{relative}",
            "source": name, "style": "game soundtrack", "original_path": "/" + relative,
            "license": license_of(copyright, relative), "duration": round(seconds, 3),
        })
    return rows


def _role(label):
    label = label.lower()
    return next((role for role, pattern in KIT_ROLES if re.search(pattern, label)), "perc")


def hydrogen_kits(root):
    """Kit name -> {role: [sample paths]} from each Hydrogen drumkit.xml."""
    kits = {}
    for xml in sorted((root / "usr/share/hydrogen/data/drumkits").glob("*/drumkit.xml")):
        roles = {}
        for instrument in ElementTree.parse(xml).getroot().iter():
            if not instrument.tag.endswith("instrument"):
                continue
            name = next((c.text or "" for c in instrument if c.tag.endswith("name")), "")
            files = [e.text for e in instrument.iter() if e.tag.endswith("filename") and e.text]
            for file in files[:1]:
                if (xml.parent / file).is_file():
                    roles.setdefault(_role(f"{name} {file}"), []).append(xml.parent / file)
        if roles.get("kick") and roles.get("snare"):
            kits[xml.parent.name] = roles
    return kits


def sonic_pi_kits(root):
    """Two kits of Sonic Pi one-shots: a drum-machine kit and a tabla kit."""
    samples = sorted(root.rglob("*.flac"))
    drums, tabla = {}, {}
    for path in samples:
        stem = path.stem
        if stem.startswith("tabla_"):
            tabla.setdefault("kick" if "ghe" in stem or "dhec" in stem else "perc", []).append(path)
        elif stem.startswith(("bd_", "sn_", "drum_", "elec_", "perc_")):
            drums.setdefault(_role(stem), []).append(path)
    tabla.setdefault("snare", tabla.get("perc", []))
    return {"sonic-pi drums": drums, "sonic-pi tabla": tabla}


def sequence(kit, rng, seconds, cache):
    """A drum pattern `[samples]` at 16 kHz from a kit's one-shots.

    Args:
        kit: {role: [sample paths]} with at least 'kick' and 'snare'.
        rng: numpy Generator (tempo, pattern, velocities, timing).
        seconds: length of the pattern.
        cache: dict path -> decoded 16 kHz one-shot, shared between calls.
    """
    bpm = rng.uniform(70, 170)
    step = 60.0 / bpm / 4
    pick = {role: paths[rng.integers(len(paths))] for role, paths in kit.items() if paths}
    kick_steps = [s for s in range(16) if s % 4 == 0 or rng.random() < 0.15]
    snare_steps = [4, 12] + ([14] if rng.random() < 0.3 else [])
    hat_every = int(rng.choice([1, 2, 2, 4]))
    out = np.zeros(int(seconds * SAMPLE_RATE) + SAMPLE_RATE, np.float32)
    for index in range(int(seconds / step)):
        bar, position = divmod(index, 16)
        hits = []
        if position in kick_steps:
            hits.append("kick")
        if position in snare_steps:
            hits.append("snare")
        if position % hat_every == 0 and rng.random() > 0.1:
            hits.append("hat")
        if bar % 4 == 3 and position >= 12:
            hits.append("tom")
        if bar % 4 == 0 and position == 0:
            hits.append("cymbal")
        if rng.random() < 0.12:
            hits.append("perc")
        for role in hits:
            if role not in pick:
                continue
            if pick[role] not in cache:
                cache[pick[role]] = audio_io.read_file(pick[role])[0][: 2 * SAMPLE_RATE]
            sample = cache[pick[role]]
            start = max(0, int((index * step + rng.normal(0, 0.004)) * SAMPLE_RATE))
            out[start:start + len(sample)] += rng.uniform(0.5, 1.0) * sample[: len(out) - start]
    return out[: int(seconds * SAMPLE_RATE)]


def drum_rows(out, patterns_per_kit, seconds, seed):
    """Sequenced drum patterns from the Hydrogen kits and Sonic Pi one-shots, plus tiled Sonic Pi loops."""
    rows = []
    for name, kits in (("hydrogen-drumkits", hydrogen_kits), ("sonic-pi-samples", sonic_pi_kits)):
        root = ensure_package(name, out)
        copyright = read_copyright(root, name)
        for kit_name, kit in kits(root).items():
            rng = np.random.default_rng([seed, int(hashlib.sha256(kit_name.encode()).hexdigest()[:8], 16)])
            cache = {}
            licenses = sorted({license_of(copyright, p.relative_to(root).as_posix()) for v in kit.values() for p in v})
            slug = re.sub(r"[^A-Za-z0-9]+", "_", kit_name).strip("_")
            for index in range(patterns_per_kit):
                target = out / "audio/drums" / f"{slug}_{index:02d}.flac"
                waveform = sequence(kit, rng, seconds, cache)
                length = write_flac(target, waveform) if not target.exists() else duration_of(target)
                rows.append({
                    "id": f"drums:{slug}_{index:02d}", "path": target.relative_to(out).as_posix(),
                    "track": f"{name}:{kit_name}", "source": name, "style": "drum kit pattern",
                    "original_path": f"one-shots of kit {kit_name!r}", "license": " / ".join(licenses),
                    "duration": round(length, 3),
                })
    root = out / "packages/sonic-pi-samples"
    copyright = read_copyright(root, "sonic-pi-samples")
    for path in sorted(root.rglob("loop_*.flac")):
        target = out / "audio/loops" / f"{path.stem}.flac"
        if not target.exists():
            loop = audio_io.read_file(path)[0]
            write_flac(target, np.tile(loop, -(-int(seconds * SAMPLE_RATE) // len(loop)))[: int(seconds * SAMPLE_RATE)])
        relative = path.relative_to(root).as_posix()
        rows.append({
            "id": f"loops:{path.stem}", "path": target.relative_to(out).as_posix(),
            "track": f"sonic-pi-samples:{relative}", "source": "sonic-pi-samples", "style": "loop",
            "original_path": "/" + relative, "license": license_of(copyright, relative),
            "duration": round(duration_of(target), 3),
        })
    return rows


def ensure_fluidsynth():
    """Path of fluidsynth, installing the Debian package when missing and running as root."""
    if shutil.which("fluidsynth") is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "fluidsynth"], check=True, capture_output=True)
    if shutil.which("fluidsynth") is None:
        raise ZooError("fluidsynth is missing: run `apt-get install -y fluidsynth` (or pass --midi-pieces 0)")
    return shutil.which("fluidsynth")


def pick_scores(count):
    """`count` music21 corpus scores, taken round-robin across composers/collections (deterministic)."""
    try:
        from music21 import corpus
    except ImportError:
        raise ZooError('music21 is missing: pip install -e ".[corpus]" (or pass --midi-pieces 0)') from None
    groups = {}
    for path in sorted(str(p) for p in corpus.getPaths()):
        groups.setdefault(path.split("/corpus/", 1)[1].split("/")[0], []).append(path)
    # hash order spreads the picks over each collection instead of taking its first files
    queues = [sorted(paths, key=lambda p: hashlib.sha256(p.encode()).hexdigest()) for paths in groups.values()]
    picked = []
    for depth in range(max(len(q) for q in queues)):
        picked += [q[depth] for q in queues if depth < len(q)]
    return picked[:count]


def render_score(score_path, font, fluidsynth, rng, max_seconds):
    """Renders a music21 corpus score through a soundfont, each part on a random GM program.

    Returns:
        16 kHz mono waveform `[samples]` of at most `max_seconds`.
    """
    from music21 import converter, instrument, midi

    score = converter.parse(score_path)
    if hasattr(score, "scores"):  # an Opus of several pieces: render the first
        score = score.scores[0]
    score = score.measures(1, MAX_MEASURES)  # render no more than needed
    for part in score.parts:
        for old in part.recurse().getElementsByClass(instrument.Instrument):
            part.remove(old, recurse=True)
        choice = instrument.Instrument()
        choice.midiProgram = int(rng.choice(GM_PROGRAMS))
        part.insert(0, choice)
    with tempfile.TemporaryDirectory() as tmp:
        mid, raw = Path(tmp) / "score.mid", Path(tmp) / "score.raw"
        midi_file = midi.translate.streamToMidiFile(score)
        midi_file.open(str(mid), "wb")
        midi_file.write()
        midi_file.close()
        # raw 16-bit stereo output can be cut at any point: stop fluidsynth once enough is rendered
        # (some files make it render silence for hours after the last note)
        needed = int(max_seconds * RENDER_RATE) * 4
        process = subprocess.Popen([fluidsynth, "-ni", "-q", "-g", "0.6", "-r", str(RENDER_RATE), "-T", "raw",
                                    "-O", "s16", "-F", str(raw), str(font), str(mid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None:
            if raw.exists() and raw.stat().st_size >= needed:
                process.kill()
            time.sleep(0.05)
        process.wait()
        pcm = np.fromfile(raw, dtype="<i2")[: needed // 2]
    stereo = pcm[: len(pcm) // 2 * 2].reshape(-1, 2).astype(np.float32) / 32768.0
    return audio_io.from_array(stereo, RENDER_RATE).read()


def midi_rows(out, count, max_seconds, seed):
    """General MIDI renderings of music21 scores, one soundfont per score, parts given varied instruments."""
    if count == 0:
        return []
    fluidsynth = ensure_fluidsynth()
    fonts = []
    for name, relative in SOUNDFONTS.items():
        root = ensure_package(name, out)
        fonts.append((name, root / relative, license_of(read_copyright(root, name), relative)))
    rows = []
    for index, score_path in enumerate(pick_scores(count)):
        relative = score_path.split("/corpus/", 1)[1]
        slug = re.sub(r"[^A-Za-z0-9]+", "_", relative.rsplit(".", 1)[0]).strip("_")
        font_name, font, font_license = fonts[index % len(fonts)]
        target = out / "audio/midi" / f"{slug}.flac"
        if not target.exists():
            try:
                waveform = render_score(score_path, font, fluidsynth, np.random.default_rng([seed, index]), max_seconds)
            except Exception as error:  # noqa: BLE001 - music21 raises many parser-specific types
                print(f"  skipped {relative}: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            if len(waveform) < 3 * SAMPLE_RATE or not np.any(waveform):
                continue
            write_flac(target, waveform)
        rows.append({
            "id": f"midi:{slug}", "path": target.relative_to(out).as_posix(), "track": f"music21:{relative}",
            "source": f"music21 via {font_name}", "style": "rendered MIDI score",
            "original_path": f"music21/corpus/{relative}",
            "license": f"{MUSIC21_LICENSE}; soundfont {font_name}: {font_license}",
            "duration": round(duration_of(target), 3),
        })
    return rows


def mir1k_rows(folder):
    """MIR-1K clips referenced in place; a song (`<singer>_<song>`) is one track."""
    rows = []
    for path in sorted(Path(folder).glob("*.flac")):
        song = path.stem.rsplit("_", 1)[0]
        rows.append({
            "id": f"mir1k:{path.stem}", "path": str(path.resolve()), "track": f"mir1k:{song}", "source": "mir1k",
            "style": "sung pop (karaoke mix)", "original_path": str(path), "license": MIR1K_LICENSE,
            "duration": round(duration_of(path), 3),
        })
    return rows


def summarize(rows):
    """Hours per source and split, licenses per source."""
    summary = {"hours": 0.0, "files": len(rows), "sources": {}, "splits": {}}
    for row in rows:
        hours = row["duration"] / 3600
        summary["hours"] += hours
        source = summary["sources"].setdefault(row["source"], {"hours": 0.0, "files": 0, "style": row["style"],
                                                               "licenses": []})
        source["hours"] += hours
        source["files"] += 1
        if row["license"] not in source["licenses"]:
            source["licenses"].append(row["license"])
        split = summary["splits"].setdefault(row["split"], {"hours": 0.0, "files": 0, "tracks": set()})
        split["hours"] += hours
        split["files"] += 1
        split["tracks"].add(row["track"])
    for split in summary["splits"].values():
        split["tracks"] = len(split["tracks"])
    return summary


def build(out, midi_pieces, midi_seconds, patterns_per_kit, pattern_seconds, min_music_seconds, mir1k, seed):
    """Builds (or completes) the corpus under `out` and writes manifest.csv and summary.json.

    Returns:
        the summary dict.
    """
    out = Path(out).resolve()
    if ROOT in out.parents or out == ROOT:
        raise ZooError(f"--out {out} is inside the repository: keep audio and caches outside it")
    rows = []
    for name in SOUNDTRACKS:
        print(f"soundtrack {name}", file=sys.stderr)
        rows += soundtrack_rows(out, name, min_music_seconds)
    print("drum patterns and loops", file=sys.stderr)
    rows += drum_rows(out, patterns_per_kit, pattern_seconds, seed)
    print(f"rendering up to {midi_pieces} scores", file=sys.stderr)
    rows += midi_rows(out, midi_pieces, midi_seconds, seed)
    if mir1k and Path(mir1k).is_dir():
        rows += mir1k_rows(mir1k)
    else:
        print(f"MIR-1K not found at {mir1k}: corpus built without sung pop", file=sys.stderr)
    for row in rows:
        row["split"] = split_of(row["track"])
    with atomic_path(out / "manifest.csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(rows)
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=float) + "\n", encoding="utf-8")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get(CORPUS_ENV) or None,
                        help=f"corpus folder, outside the repository (default: ${CORPUS_ENV})")
    parser.add_argument("--midi-pieces", type=int, default=120, help="music21 scores to render (0: none)")
    parser.add_argument("--midi-seconds", type=float, default=90.0, help="seconds kept of each rendering")
    parser.add_argument("--patterns-per-kit", type=int, default=6, help="drum patterns sequenced per kit")
    parser.add_argument("--pattern-seconds", type=float, default=30.0, help="length of drum patterns and loops")
    parser.add_argument("--min-music-seconds", type=float, default=20.0,
                        help="shortest soundtrack file kept (shorter ones are sound effects)")
    parser.add_argument("--mir1k", default=str(MIR1K),
                        help="MIR-1K folder, used in place if present (default: ../shared/data/mir1k next to the "
                             "repository; '' to skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.out:
        parser.error(f"give the corpus folder with --out or ${CORPUS_ENV}")
    summary = build(args.out, args.midi_pieces, args.midi_seconds, args.patterns_per_kit, args.pattern_seconds,
                    args.min_music_seconds, args.mir1k, args.seed)
    print(f"{summary['hours']:.2f} h in {summary['files']} files")
    for name, source in sorted(summary["sources"].items()):
        print(f"  {name:40s} {source['hours']:6.2f} h  {source['files']:4d} files  {source['style']}")
    for name, split in summary["splits"].items():
        print(f"  {name:12s} {split['hours']:6.2f} h  {split['tracks']} tracks")


if __name__ == "__main__":
    main()
