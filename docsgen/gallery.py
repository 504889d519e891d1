"""The gallery: pictures and sounds the real `musiczoo` commands make, written into docs/gallery/.

`make gallery` (`python -m docsgen.gallery`) runs the commands on the bundled clip and on a few synthesized
signals in a scratch folder, then keeps the pictures (PNG) and the sounds (16 kHz Ogg Vorbis) under fixed names:
`docs/gallery/<input>/<name>`. It takes minutes, so the site uses the committed result;
tests/test_docs.py checks that the committed files are exactly the ones listed here.
Re-runnable: each folder it owns is replaced as a whole; other files under docs/gallery/ are left alone.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from zoo.outputs.audio import write_audio

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "docs" / "gallery"
CLIP = ROOT / "examples" / "traveling_minstrels.ogg"
RATE = 16000
AURALISED_LAYER = "timbral_7x38_conv"
AURALISED_UNITS = 2
ATTRIBUTION = "saliency"  # one gradient a patch: integrated gradients over the 20 s clip took over 10 min here
FILTER_LAYERS = ("timbral_7x38_conv", "timbral_7x67_conv", "temporal_128_conv", "temporal_64_conv",
                 "temporal_32_conv")  # timbral_temporal's first-layer branches

# input name -> (the tag attributed, whether the multiscale model's time scales are drawn)
INPUTS = {"traveling_minstrels": ("violin", True), "drum_loop": ("drums", True), "chords": ("piano", False)}


def drum_loop(seconds=6.0, bpm=120):
    """A synthesized drum loop `[samples]`: kick on the beats, noise snare on 2 and 4, hi-hat on eighths."""
    t = np.arange(int(seconds * RATE)) / RATE
    y = np.zeros(t.size)
    beat = 60.0 / bpm
    rng = np.random.default_rng(0)
    for k, start in enumerate(np.arange(0, seconds, beat / 2)):
        i = int(start * RATE)
        n = min(4000, t.size - i)
        decay = np.exp(-np.arange(n) / 600.0)
        if k % 2 == 0:
            y[i:i + n] += 0.8 * np.sin(2 * np.pi * (60 + 60 * decay) * np.arange(n) / RATE) * decay
        if k % 4 == 2:
            y[i:i + n] += 0.4 * rng.standard_normal(n) * np.exp(-np.arange(n) / 1200.0)
        y[i:i + n] += 0.1 * np.diff(rng.standard_normal(n + 1)) * np.exp(-np.arange(n) / 200.0)
    return (0.9 * y / np.abs(y).max()).astype(np.float32)


def chords(seconds=6.0):
    """Synthesized piano-like chords `[samples]`: C, F, G and C major triads with decaying harmonics."""
    t = np.arange(int(seconds * RATE)) / RATE
    y = np.zeros(t.size)
    step = seconds / 4
    for k, root in enumerate((261.6, 349.2, 392.0, 261.6)):
        i, n = int(k * step * RATE), int(step * RATE)
        local = t[:n]
        for ratio in (1.0, 1.26, 1.5):
            for harmonic in (1, 2, 3, 4):
                y[i:i + n] += np.sin(2 * np.pi * root * ratio * harmonic * local) / harmonic ** 1.5
        y[i:i + n] *= np.exp(-local * 1.5)
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def expected_files():
    """Every file the gallery holds, relative to docs/gallery/ (what `make gallery` writes)."""
    files = {f"filters/{layer}.png" for layer in FILTER_LAYERS} | {"filters/null.png"}
    for name, (tag, scales) in INPUTS.items():
        files |= {f"{name}/input.ogg", f"{name}/taggram.png", f"{name}/activations.png",
                  f"{name}/attribution_{tag}.png", f"{name}/attribution_{tag}.ogg"}
        files |= {f"{name}/auralised_{rank}.ogg" for rank in range(1, AURALISED_UNITS + 1)}
        if scales:
            files.add(f"{name}/scales.png")
    return files


def owned_folders():
    """The folders under docs/gallery/ that `make gallery` replaces."""
    return sorted({path.split("/")[0] for path in expected_files()})


def _run(scratch, *args):
    """Runs `musiczoo ARGS` in the scratch folder (so the pictures' titles name the input, not a path)."""
    command = [str(Path(sys.executable).with_name("musiczoo")), *map(str, args)]
    print("$ musiczoo", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=scratch)


def _only(folder, pattern):
    (found,) = sorted(Path(folder).rglob(pattern))
    return found


def _png(source, target):
    """Copies a picture as a 256-colour PNG: a third of matplotlib's size; continuous colour bars show steps."""
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256).save(target, optimize=True)


def _as_ogg(source, target):
    audio, rate = soundfile.read(source, dtype="float32")
    write_audio(audio, target, rate)


def _input_gallery(audio, name, tag, scales, scratch, out):
    """Runs every command on `audio` (a file name in `scratch`) and keeps its outputs in `out`."""
    work = scratch / f"work_{name}"
    _run(scratch, "tag", audio, "--plot", work / "tag")
    _png(_only(work / "tag", "*.png"), out / "taggram.png")
    _run(scratch, "explain", "activations", audio, "--out", work / "act")
    _png(_only(work / "act", "*.png"), out / "activations.png")
    _run(scratch, "explain", "attribute", audio, "--tag", tag, "--method", ATTRIBUTION, "--listen", "--out",
         work / "attr")
    _png(_only(work / "attr", "*.png"), out / f"attribution_{tag}.png")
    _as_ogg(_only(work / "attr", "*.wav"), out / f"attribution_{tag}.ogg")
    _run(scratch, "explain", "auralise", audio, "--layer", AURALISED_LAYER, "--top", AURALISED_UNITS, "--out",
         work / "aur")
    for rank, path in enumerate(sorted((work / "aur").glob(f"*.{AURALISED_LAYER}.unit*.wav")), start=1):
        _as_ogg(path, out / f"auralised_{rank}.ogg")
    _as_ogg(_only(work / "aur", "*.input.wav"), out / "input.ogg")  # the 16 kHz mono input auralise writes
    if scales:
        _run(scratch, "explain", "scales", audio, "--out", work / "scales")
        _png(_only(work / "scales", "*.png"), out / "scales.png")


def build(gallery=GALLERY):
    """Runs the commands and replaces the gallery's folders; returns the files written."""
    with tempfile.TemporaryDirectory(prefix="musiczoo-gallery-") as scratch:
        scratch = Path(scratch)
        staged = scratch / "gallery"
        shutil.copyfile(CLIP, scratch / CLIP.name)
        inputs = {"traveling_minstrels": CLIP.name}
        for name, signal in (("drum_loop", drum_loop()), ("chords", chords())):
            inputs[name] = f"{name}.wav"
            soundfile.write(scratch / inputs[name], signal, RATE)
        for name, (tag, scales) in INPUTS.items():
            (staged / name).mkdir(parents=True)
            _input_gallery(inputs[name], name, tag, scales, scratch, staged / name)
        _run(scratch, "explain", "filters", "timbral_temporal", "--out", scratch / "filters")
        (staged / "filters").mkdir()
        for layer in (*FILTER_LAYERS, "null"):
            _png(scratch / "filters" / f"{layer}.png", staged / "filters" / f"{layer}.png")
        written = {str(path.relative_to(staged)) for path in staged.rglob("*") if path.is_file()}
        if written != expected_files():
            raise SystemExit(f"the gallery script wrote {sorted(written ^ expected_files())} unlike expected_files()")
        for folder in owned_folders():
            shutil.rmtree(gallery / folder, ignore_errors=True)
            shutil.copytree(staged / folder, gallery / folder)
    return written


if __name__ == "__main__":
    print(f"{len(build())} files in {GALLERY}")
