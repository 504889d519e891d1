"""Distillation corpora: the files of a corpus folder and their split by track, never by patch.

A corpus is a folder with `manifest.csv` (as `tools/build_corpus.py` writes
it: path, track, split, source, license, duration) or any folder of audio
files, each its own track. Splits come from the manifest's `split` column or,
when absent, from the sha256 of the track id, so they are the same in every
process and on every machine.
"""

import csv
import hashlib
from pathlib import Path

from musiczoo_runtime.contract import DEFAULT_MODEL, PATCH_SECONDS
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.audio import EXTENSIONS

SPLITS = (("train", 80), ("validation", 90), ("test", 100))
TEACHER = DEFAULT_MODEL  # the model whose tags the students learn
MAX_PATCHES_PER_FILE = 20  # evenly spaced patches kept per file, so long files do not dominate


def split_of(track):
    """Deterministic split of a track id: 'train' (80 %), 'validation' (10 %) or 'test' (10 %) by its sha256."""
    bucket = int(hashlib.sha256(str(track).encode("utf-8")).hexdigest()[:8], 16) % 100
    return next(name for name, limit in SPLITS if bucket < limit)


def corpus_rows(corpus):
    """The files of a corpus: rows with path, track, split, source, license, duration (may be None).

    Args:
        corpus: a folder with `manifest.csv` (as written by build_corpus.py), or any folder of audio
            files (each file is its own track, its split comes from its relative path).

    Raises:
        ZooError: the folder is missing or holds no audio.
    """
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise ZooError(f"corpus folder {corpus} does not exist")
    listing = corpus / "manifest.csv"
    if listing.exists():
        with open(listing, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        missing = {"path", "track"} - set(rows[0] if rows else {})
        if missing:
            raise ZooError(f"{listing} lacks the column(s) {', '.join(sorted(missing))}")
        for row in rows:
            row["path"] = str(corpus / row["path"]) if not Path(row["path"]).is_absolute() else row["path"]
            row["split"] = row.get("split") or split_of(row["track"])
            row["duration"] = float(row["duration"]) if row.get("duration") else None
    else:
        paths = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
        rows = []
        for path in paths:
            relative = path.relative_to(corpus).as_posix()
            rows.append({"path": str(path), "track": relative, "split": split_of(relative),
                         "source": relative.split("/")[0] if "/" in relative else corpus.name,
                         "license": "unknown", "duration": None})
    if not rows:
        raise ZooError(f"no audio files in {corpus} (supported: {', '.join(EXTENSIONS)})")
    bad = sorted({row["split"] for row in rows} - {name for name, _ in SPLITS})
    if bad:
        raise ZooError(f"{listing}: unknown split(s) {', '.join(bad)}; use train, validation or test")
    return rows


def corpus_summary(cache):
    """Hours, sources, licenses and patches per split of the files a cache holds."""
    used = [row for row in cache.rows if row.get("patches")]
    sources = {}
    for row in used:
        entry = sources.setdefault(row.get("source") or "unknown", {"hours": 0.0, "files": 0, "licenses": []})
        entry["hours"] += (row["duration"] or 0) / 3600
        entry["files"] += 1
        if row.get("license", "unknown") not in entry["licenses"]:
            entry["licenses"].append(row.get("license", "unknown"))
    for entry in sources.values():
        entry["hours"] = round(entry["hours"], 3)
    patches = {name: int((cache.split == name).sum()) for name, _ in SPLITS}
    return {
        "hours": round(sum(e["hours"] for e in sources.values()), 3),
        "patch_hours": round(len(cache.logmel) * PATCH_SECONDS / 3600, 3),
        "files": len(used),
        "tracks": len({row["track"] for row in used}),
        "patches": patches,
        "max_patches_per_file": cache.settings["max_patches_per_file"],
        "sources": sources,
        "mir1k": any(row.get("source") == "mir1k" for row in used),
    }
