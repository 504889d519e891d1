"""The recorded sounds the rationale benchmark is built from, fetched from Debian packages.

Every source is a freely licensed Debian package (licenses in each package's
`usr/share/doc/<package>/copyright`):

- `hydrogen-drumkits`: recorded drum kits (Hydrogen `.h2drumkit` folders, drumkit.xml + samples);
- `fluid-soundfont-gm`, `timgm6mb-soundfont`, `musescore-general-soundfont-small`: General MIDI
  soundfonts that `fluidsynth` renders from MIDI;
- `sonic-pi-samples`: recorded one-shots (not used by the default tasks; listed for completeness).

`package_root(name)` finds an unpacked package, in this order: when `$MUSICZOO_CORPUS` is set (the
distillation corpus of `tools/build_corpus.py`, which unpacks its packages there),
`$MUSICZOO_CORPUS/packages/<name>` and `$MUSICZOO_CORPUS/<name>`; then the cache folder
(`$MUSICZOO_RATIONALE_CACHE`, default `~/.cache/musiczoo/rationale`). When none holds it, it runs
`apt-get download <name>` and `dpkg -x <deb> <cache>/<name>` (no root needed; needs Debian/Ubuntu
apt sources). `ensure_fluidsynth()` runs `apt-get install -y fluidsynth` (with sudo when not root) if
the `fluidsynth` command is missing. Nothing here writes into the repository.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PACKAGES = ("hydrogen-drumkits", "fluid-soundfont-gm", "timgm6mb-soundfont", "musescore-general-soundfont-small")
DEFAULT_CACHE = Path.home() / ".cache" / "musiczoo" / "rationale"
CORPUS_ENV = "MUSICZOO_CORPUS"


def cache_dir():
    """The cache folder: `$MUSICZOO_RATIONALE_CACHE` or `~/.cache/musiczoo/rationale`."""
    return Path(os.environ.get("MUSICZOO_RATIONALE_CACHE", DEFAULT_CACHE)).expanduser()


def _candidates(name):
    if os.environ.get(CORPUS_ENV):
        corpus = Path(os.environ[CORPUS_ENV]).expanduser()
        yield corpus / "packages" / name
        yield corpus / name
    yield cache_dir() / "packages" / name


def package_root(name):
    """Folder holding the unpacked Debian package `name` (its `usr/...` tree), downloading it if absent."""
    for folder in _candidates(name):
        if (folder / "usr").is_dir():
            return folder
    target = cache_dir() / "packages" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise RuntimeError(f"{name} is not unpacked anywhere ({', '.join(map(str, _candidates(name)))}) "
                           "and apt-get/dpkg are missing: unpack the Debian package there by hand")
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        print(f"[sources] apt-get download {name}", flush=True)
        subprocess.run(["apt-get", "download", name], cwd=scratch, check=True)
        debs = sorted(Path(scratch).glob(f"{name}_*.deb"))
        if not debs:
            raise RuntimeError(f"apt-get download {name} produced no .deb")
        unpacked = Path(scratch) / "unpacked"
        subprocess.run(["dpkg", "-x", str(debs[0]), str(unpacked)], check=True)
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def ensure_fluidsynth():
    """Path of the `fluidsynth` command, installing the Debian package when it is missing."""
    path = shutil.which("fluidsynth")
    if path:
        return path
    command = ["apt-get", "install", "-y", "fluidsynth"]
    if os.geteuid() != 0 and shutil.which("sudo"):
        command = ["sudo", *command]
    print(f"[sources] {' '.join(command)}", flush=True)
    subprocess.run(command, check=True)
    path = shutil.which("fluidsynth")
    if not path:
        raise RuntimeError("fluidsynth is still missing after apt-get install")
    return path


def drumkits_dir():
    """Folder of the Hydrogen drum kits (one sub-folder per kit)."""
    return package_root("hydrogen-drumkits") / "usr/share/hydrogen/data/drumkits"


def soundfonts():
    """Name -> path of the three General MIDI soundfonts."""
    return {
        "FluidR3_GM": package_root("fluid-soundfont-gm") / "usr/share/sounds/sf2/FluidR3_GM.sf2",
        "TimGM6mb": package_root("timgm6mb-soundfont") / "usr/share/sounds/sf2/TimGM6mb.sf2",
        "MuseScore_General_Lite": package_root("musescore-general-soundfont-small")
        / "usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
    }


if __name__ == "__main__":
    for package in PACKAGES:
        print(package, package_root(package))
    print("fluidsynth", ensure_fluidsynth())
