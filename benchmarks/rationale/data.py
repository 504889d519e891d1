"""Builds the two rationale tasks from recorded sounds: dance-style rhythm and instrument-family timbre.

Rhythm (eight Ballroom-like dance styles): recorded drum-kit samples (Hydrogen kits) are mixed in numpy
on a per-style pattern grid; bass and harmony are written as MIDI and rendered by `fluidsynth` from a
General MIDI soundfont. The drum roles (kick, snare, rim, closed hat, tom) and the bass and harmony
instrument pools are the same for every style, so only tempo, meter and pattern tell the styles apart.

Timbre (eight instrument families): random melodic phrases and chords on a random General MIDI program of
the family, rendered by `fluidsynth`, in one shared pitch range (so register is not a cue).

Train and test come from disjoint recordings: the training clips use soundfonts FluidR3_GM and TimGM6mb
and drum kits TRAIN_KITS, the test clips soundfont MuseScore_General_Lite and kits TEST_KITS.

To render quickly, every (task, split, soundfont) is one long MIDI file with one clip per slot
(`SLOT_SECONDS` apart), rendered by a single `fluidsynth` call (loading the compressed .sf3 takes ~15 s)
and cut into clips. Clips are `CLIP_SECONDS` long: two whole 3 s patches each.
"""

import json
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import sources  # noqa: E402

SR = 16000
CLIP_SECONDS = 6.1  # 382 centred frames: two whole 187-frame patches, no tail patch
SLOT_SECONDS = 8.5  # clip + release/reverb tail before the next clip's notes
TICKS = 960  # per quarter note; the MIDI tempo is fixed at 120 BPM, so one tick = 0.5 / 960 s
TRAIN_FONTS = ("FluidR3_GM", "TimGM6mb")
TEST_FONTS = ("MuseScore_General_Lite",)
TRAIN_KITS = ("Audiophob", "Millo-Drums_v.1", "Millo_MultiLayered2", "Millo_MultiLayered3", "BJA_Pacific",
              "ElectricEmpireKit", "VariBreaks", "rumpf_kit_z01_h2", "ForzeeStereo")
TEST_KITS = ("The Black Pearl 1.0", "ColomboAcousticDrumkit", "HardElectro1")

# ---------------------------------------------------------------- a tiny Standard MIDI File writer


def _vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, events):
    """Writes a format-0 MIDI file. `events`: (seconds, status bytes) with the tempo fixed at 120 BPM."""
    track = bytearray(_vlq(0) + b"\xff\x51\x03" + (500000).to_bytes(3, "big"))
    now = 0
    for seconds, message in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
        tick = int(round(seconds * 2 * TICKS))
        track += _vlq(max(0, tick - now)) + bytes(message)
        now = max(now, tick)
    for channel in range(16):  # all sound off, all notes off
        track += _vlq(0) + bytes((0xB0 | channel, 120, 0)) + _vlq(0) + bytes((0xB0 | channel, 123, 0))
    track += _vlq(TICKS) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS)
    Path(path).write_bytes(header + b"MTrk" + struct.pack(">I", len(track)) + track)


def note(events, channel, start, duration, pitch, velocity):
    pitch, velocity = int(np.clip(pitch, 0, 127)), int(np.clip(velocity, 1, 127))
    events.append((start, (0x90 | channel, pitch, velocity)))
    events.append((start + max(duration, 0.02), (0x80 | channel, pitch, 0)))


def slot_reset(events, start, programs):
    """All notes off, controllers reset and program changes at the start of a slot."""
    for channel in range(16):
        events.append((max(start - 0.05, 0), (0xB0 | channel, 123, 0)))
    for channel, program in programs.items():
        events.append((start, (0xC0 | channel, int(program))))
        events.append((start, (0xB0 | channel, 7, 100)))


def render(midi_path, soundfont, raw_path, seconds):
    """fluidsynth at 16 kHz (reverb and chorus off) -> mono float32 waveform of `seconds`.

    Renders raw 16-bit stereo and stops fluidsynth once `seconds` are written: with some soundfonts
    (TimGM6mb) fluidsynth's file renderer does not stop at the end of the MIDI file.
    """
    fluidsynth = sources.ensure_fluidsynth()
    needed = int(seconds * SR) * 4
    process = subprocess.Popen([fluidsynth, "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(SR),
                                "-T", "raw", "-O", "s16", "-E", "little", "-F", str(raw_path), str(soundfont),
                                str(midi_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while process.poll() is None:
            if Path(raw_path).is_file() and Path(raw_path).stat().st_size >= needed:
                break
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    audio = np.fromfile(raw_path, dtype="<i2")[: needed // 2]
    Path(raw_path).unlink()
    audio = audio[: len(audio) // 2 * 2].reshape(-1, 2).astype(np.float32) / 32768.0
    audio = audio.mean(axis=1)
    return np.pad(audio, (0, max(0, int(seconds * SR) - len(audio))))


# ---------------------------------------------------------------- drum kits

ROLES = ("kick", "snare", "rim", "hat", "tom")


def _role(name):
    n = name.lower()
    if n.startswith("sample:") or not n.strip():
        return None
    if "kick" in n or "bass drum" in n or "bassdrum" in n:
        return "kick"
    if "stick" in n or "rim" in n:
        return "rim"
    if "snare" in n and "roll" not in n:
        return "snare"
    if ("hat" in n or "hh" in n) and ("closed" in n or " cl" in n or "pedal" in n or " pd" in n):
        return "hat"
    if "tom" in n:
        return "tom"
    return None


def _load_sample(path):
    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SR:
        g = np.gcd(rate, SR)
        audio = resample_poly(audio, SR // g, rate // g).astype(np.float32)
    audio = audio[: int(1.5 * SR)]
    peak = np.abs(audio).max()
    return audio / peak if peak > 0 else None


def load_kit(folder):
    """Role -> list of peak-normalised 16 kHz one-shots of a Hydrogen kit (rim falls back to snare)."""
    root = ET.parse(folder / "drumkit.xml").getroot()
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    kit = {role: [] for role in ROLES}
    for instrument in root.iter(f"{ns}instrument"):
        name = instrument.find(f"{ns}name")
        role = _role(name.text or "" if name is not None else "")
        if role is None:
            continue
        for filename in instrument.iter(f"{ns}filename"):
            path = folder / filename.text
            if path.is_file():
                sample = _load_sample(path)
                if sample is not None:
                    kit[role].append(sample)
    if not kit["rim"]:
        kit["rim"] = [0.5 * s for s in kit["snare"]]
    if not kit["tom"]:
        kit["tom"] = kit["kick"]
    missing = [role for role in ROLES if not kit[role]]
    if missing:
        raise RuntimeError(f"drum kit {folder.name} lacks {missing}")
    return kit


# ---------------------------------------------------------------- rhythm task

# Each style: meter (beats per bar), steps per beat (4 = straight 16ths, 3 = swung triplets), tempo range,
# drum hits {role: [(step, velocity 0-1)]}, bass [(step, length in steps, chord degree)], harmony
# [(step, length in steps)]; steps count from the bar start.
STYLES = {
    "chacha": dict(beats=4, sub=4, bpm=(116, 128),
                   drums={"kick": [(0, 1), (8, .8)], "rim": [(4, .8), (12, .8), (14, .7)],
                          "hat": [(s, .5 + .2 * (s % 4 == 0)) for s in range(0, 16, 2)], "tom": [(15, .5)]},
                   bass=[(0, 3, 0), (6, 2, 4), (8, 3, 0), (12, 2, 4), (14, 2, 0)],
                   harmony=[(0, 1), (3, 1), (6, 1), (8, 1), (11, 1), (14, 1)]),
    "jive": dict(beats=4, sub=3, bpm=(164, 176),
                 drums={"kick": [(0, 1), (6, .9)], "snare": [(3, 1), (9, 1)],
                        "hat": [(0, .6), (3, .7), (5, .4), (6, .6), (9, .7), (11, .4)]},
                 bass=[(0, 2, 0), (3, 2, 2), (6, 2, 4), (9, 2, 5)],
                 harmony=[(3, 1), (5, 1), (9, 1), (11, 1)]),
    "quickstep": dict(beats=4, sub=3, bpm=(192, 208),
                      drums={"kick": [(0, .9), (6, .8)], "snare": [(3, .8), (9, .8), (11, .4)],
                             "hat": [(0, .5), (3, .6), (5, .35), (6, .5), (9, .6), (11, .35)]},
                      bass=[(0, 3, 0), (6, 3, 4)],
                      harmony=[(0, 2), (3, 2), (6, 2), (9, 2)]),
    "rumba": dict(beats=4, sub=4, bpm=(96, 104),
                  drums={"kick": [(0, .8), (6, .6), (8, .7)], "rim": [(0, .7), (3, .7), (6, .7), (10, .7), (12, .7)],
                         "hat": [(s, .35) for s in range(0, 16, 2)], "tom": [(7, .5), (14, .6), (15, .5)]},
                  bass=[(6, 6, 0), (12, 4, 4)],
                  harmony=[(0, 12), (10, 6)]),
    "samba": dict(beats=2, sub=4, bpm=(96, 104),
                  drums={"kick": [(0, .5), (4, 1)], "tom": [(4, .8)],
                         "hat": [(s, .35 + .35 * (s in (3, 7))) for s in range(8)],
                         "rim": [(0, .6), (3, .6), (5, .6)], "snare": [(2, .4), (6, .4), (7, .5)]},
                  bass=[(0, 3, 0), (3, 1, 0), (4, 4, 4)],
                  harmony=[(2, 1), (3, 1), (6, 1)]),
    "tango": dict(beats=4, sub=4, bpm=(120, 132),
                  drums={"kick": [(0, 1), (4, .9), (8, 1), (12, .9)], "snare": [(12, 1), (14, .9), (15, .9)],
                         "rim": [(4, .7), (8, .6)]},
                  bass=[(0, 1, 0), (4, 1, 0), (8, 1, 4), (12, 1, 4), (14, 1, 2), (15, 1, 4)],
                  harmony=[(0, 1), (4, 1), (8, 1), (12, 1)]),
    "viennesewaltz": dict(beats=3, sub=4, bpm=(174, 180),
                          drums={"kick": [(0, 1)], "snare": [(4, .5), (8, .5)], "hat": [(4, .5), (8, .5)]},
                          bass=[(0, 4, 0)],
                          harmony=[(4, 2), (8, 2)]),
    "waltz": dict(beats=3, sub=4, bpm=(84, 90),
                  drums={"kick": [(0, 1)], "snare": [(4, .35), (8, .35)],
                         "hat": [(s, .3 + .2 * (s % 4 == 0)) for s in range(0, 12, 2)]},
                  bass=[(0, 8, 0)],
                  harmony=[(4, 3), (8, 3)]),
}
BASS_PROGRAMS = (32, 33, 34, 35)  # acoustic, fingered, picked, fretless bass
HARMONY_PROGRAMS = (0, 2, 4, 16, 24, 25, 48, 61)  # piano, e. grand, e. piano, organ, guitars, strings, brass
PROGRESSIONS = ((0, 5, 7, 0), (0, 9, 5, 7), (0, 7, 9, 5), (0, 5, 0, 7), (0, 2, 7, 0))  # chord roots in semitones


def _chord(root, minor):
    return [root, root + (3 if minor else 4), root + 7]


def rhythm_clip(style, rng):
    """MIDI events (relative to the clip start) and a drum-hit list for one clip of `style`."""
    spec = STYLES[style]
    bpm = rng.uniform(*spec["bpm"])
    step = 60.0 / bpm / spec["sub"]
    bar_steps = spec["beats"] * spec["sub"]
    key = 36 + int(rng.integers(0, 12))  # bass root, C2..B2
    progression = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    minor = bool(rng.integers(2))
    offset = -rng.uniform(0, bar_steps * step)  # the clip starts anywhere in a bar
    events, hits = [], []
    swing = rng.uniform(0.0, 0.01)
    bar = 0
    while offset + bar * bar_steps * step < CLIP_SECONDS + 0.5:
        start = offset + bar * bar_steps * step
        root = key + progression[bar % len(progression)]
        for s, length, degree in spec["bass"]:
            t = start + s * step + rng.normal(0, swing)
            pitch = root + {0: 0, 2: 4 - minor, 4: 7, 5: 9}.get(degree, 0)
            if t >= 0 and rng.random() > 0.05:
                note(events, 0, t, length * step * 0.9, pitch, 95 * rng.uniform(.8, 1.1))
        for s, length in spec["harmony"]:
            t = start + s * step + rng.normal(0, swing)
            if t >= 0 and rng.random() > 0.05:
                velocity = 70 * rng.uniform(.8, 1.15)
                for pitch in _chord(root + 24, minor):
                    note(events, 1, t, length * step * 0.85, pitch, velocity)
        for role, pattern in spec["drums"].items():
            for s, velocity in pattern:
                t = start + s * step + rng.normal(0, swing)
                if t >= 0 and rng.random() > 0.07:
                    hits.append((t, role, velocity * rng.uniform(.75, 1.1)))
        bar += 1
    events = [(t, m) for t, m in events if t < CLIP_SECONDS + 0.3]
    return events, hits, bpm


def mix_drums(length, hits, kit, rng):
    out = np.zeros(length + SR * 2, dtype=np.float32)
    for t, role, velocity in hits:
        samples = kit[role]
        sample = samples[rng.integers(len(samples))]
        i = int(t * SR)
        if 0 <= i < length:
            out[i:i + len(sample)] += velocity * sample
    return out[:length]


# ---------------------------------------------------------------- timbre task

FAMILIES = {
    "piano": (0, 1, 2, 3, 4, 5),
    "mallets": (8, 9, 10, 11, 12, 13, 14, 15),
    "organ": (16, 17, 18, 19, 20),
    "guitar": (24, 25, 26, 27, 28),
    "strings": (40, 41, 42, 44, 48, 49),
    "brass": (56, 57, 58, 59, 60, 61),
    "woodwinds": (64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75),
    "synth": (80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95),
}
LOW, HIGH = 52, 84  # one shared pitch range (E3..C6) for every family


def timbre_clip(family, rng):
    """MIDI events of a random phrase (melody, or chords + melody) on a random program of `family`."""
    program = int(rng.choice(FAMILIES[family]))
    events = []
    bpm = rng.uniform(70, 150)
    beat = 60.0 / bpm
    scale = np.array([0, 2, 4, 5, 7, 9, 11]) if rng.random() < .6 else np.array([0, 2, 3, 5, 7, 8, 10])
    key = int(rng.integers(0, 12))
    pitches = np.array([p for p in range(LOW, HIGH + 1) if (p - key) % 12 in scale])
    chords = rng.random() < 0.4
    t = 0.0
    index = int(rng.integers(len(pitches) // 4, 3 * len(pitches) // 4))
    while t < CLIP_SECONDS:
        length = beat * float(rng.choice([0.5, 1, 1, 1.5, 2]))
        velocity = 90 * rng.uniform(.75, 1.15)
        if chords and rng.random() < 0.5:
            for k in (0, 2, 4):
                note(events, 0, t, length * .95, pitches[min(index + k, len(pitches) - 1)], velocity * .8)
        else:
            note(events, 0, t, length * rng.uniform(.6, .98), pitches[index], velocity)
        index = int(np.clip(index + rng.integers(-3, 4), 0, len(pitches) - 1))
        if rng.random() < 0.1:
            t += beat * 0.5  # a rest
        t += length
    return events, program


# ---------------------------------------------------------------- building and caching


def _normalise(audio, rng):
    rms = np.sqrt(np.mean(audio ** 2)) + 1e-9
    audio = audio * (10 ** (rng.uniform(-26, -16) / 20) / rms)
    return np.clip(audio, -1, 1).astype(np.float32)


def _render_slots(clips, programs, soundfont, scratch, tag):
    """Renders clip event lists (one per slot, with per-slot programs) in one fluidsynth call."""
    events = []
    for i, (clip_events, clip_programs) in enumerate(zip(clips, programs)):
        base = i * SLOT_SECONDS + 0.5
        slot_reset(events, base - 0.2, clip_programs)
        events.extend((base + t, m) for t, m in clip_events)
    midi = Path(scratch) / f"{tag}.mid"
    write_midi(midi, events)
    audio = render(midi, soundfont, Path(scratch) / f"{tag}.raw", len(clips) * SLOT_SECONDS + 1)
    n = int(CLIP_SECONDS * SR)
    return [audio[int((i * SLOT_SECONDS + 0.5) * SR):][:n] for i in range(len(clips))]


def build_task(task, split, per_class, seed, scratch, kits=None):
    """Waveforms `[clips, samples]`, labels `[clips]`, per-clip metadata for one task and split."""
    rng = np.random.default_rng(seed)
    fonts = TRAIN_FONTS if split == "train" else TEST_FONTS
    classes = list(STYLES) if task == "rhythm" else list(FAMILIES)
    plan = [(c, fonts[i % len(fonts)]) for c in range(len(classes)) for i in range(per_class)]
    waves, labels, meta = [None] * len(plan), np.array([c for c, _ in plan]), [None] * len(plan)
    for font in fonts:
        rows = [i for i, (_, f) in enumerate(plan) if f == font]
        clips, programs, extra = [], [], []
        for i in rows:
            name = classes[plan[i][0]]
            if task == "rhythm":
                events, hits, bpm = rhythm_clip(name, rng)
                bass, harmony = int(rng.choice(BASS_PROGRAMS)), int(rng.choice(HARMONY_PROGRAMS))
                clips.append(events)
                programs.append({0: bass, 1: harmony})
                kit = list(kits)[rng.integers(len(kits))]
                extra.append(dict(bpm=round(bpm, 1), kit=kit, bass=bass, harmony=harmony, hits=hits,
                                  drum_gain=rng.uniform(0.5, 1.2)))
            else:
                events, program = timbre_clip(name, rng)
                clips.append(events)
                programs.append({0: program})
                extra.append(dict(program=program))
        rendered = _render_slots(clips, programs, sources.soundfonts()[font], scratch, f"{task}-{split}-{font}")
        for i, audio, info in zip(rows, rendered, extra):
            if task == "rhythm":
                hits = info.pop("hits")
                drums = mix_drums(len(audio), hits, kits[info["kit"]], rng)
                audio = 0.6 * audio / (np.sqrt(np.mean(audio ** 2)) + 1e-9) * 0.1 + info.pop("drum_gain") * drums * 0.1
            waves[i] = _normalise(audio, rng)
            meta[i] = dict(label=classes[plan[i][0]], soundfont=font, **info)
    return np.stack(waves), labels, classes, meta


def build(cache, per_class_train, per_class_test, seed=0, verbose=True):
    """Builds (or loads from `cache`) both tasks; returns {task: {split: (waves, labels), ...}, classes, meta}.

    The cache key holds the clip counts and the seed, so different sizes do not collide.
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    key = f"v1-train{per_class_train}-test{per_class_test}-seed{seed}"
    path = cache / f"clips-{key}.npz"
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        info = json.loads((cache / f"clips-{key}.json").read_text())
        return {task: {split: (data[f"{task}_{split}_x"], data[f"{task}_{split}_y"]) for split in ("train", "test")}
                for task in ("rhythm", "timbre")}, info
    kits_root = sources.drumkits_dir()
    arrays, info = {}, {"classes": {}, "meta": {}, "split": {
        "train": {"soundfonts": TRAIN_FONTS, "drum_kits": TRAIN_KITS},
        "test": {"soundfonts": TEST_FONTS, "drum_kits": TEST_KITS}}}
    with tempfile.TemporaryDirectory() as scratch:
        for split, kit_names, per_class, offset in (("train", TRAIN_KITS, per_class_train, 0),
                                                    ("test", TEST_KITS, per_class_test, 1000)):
            kits = {name: load_kit(kits_root / name) for name in kit_names}
            for task in ("rhythm", "timbre"):
                if verbose:
                    print(f"[data] rendering {task}/{split}: {per_class} clips per class", flush=True)
                waves, labels, classes, meta = build_task(task, split, per_class, seed + offset + (task == "timbre"),
                                                          scratch, kits)
                arrays[f"{task}_{split}_x"], arrays[f"{task}_{split}_y"] = waves, labels
                info["classes"][task] = classes
                info["meta"][f"{task}_{split}"] = meta
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.rename(path)
    (cache / f"clips-{key}.json").write_text(json.dumps(info, indent=1, default=str))
    return build(cache, per_class_train, per_class_test, seed, verbose)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/rationale-preview")
    out.mkdir(parents=True, exist_ok=True)
    data, info = build(out, 1, 1)
    for task in data:
        for split, (x, y) in data[task].items():
            for i in range(len(x)):
                soundfile.write(out / f"{task}-{split}-{info['classes'][task][y[i]]}.wav", x[i], SR)
    print(json.dumps(info["split"]))
