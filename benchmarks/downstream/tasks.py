"""Builds the downstream tasks' CSVs from the data folders (audio is never committed; see README.md here).

Usage: python benchmarks/downstream/tasks.py --mood DIR/MER_audio_taffc_dataset --philharmonia DIR/philharmonia
           --out DIR [--per-quadrant N] [--per-genre 50] [--min-genre 20] [--per-instrument 40] [--seed 0] [--wav DIR]

Writes, into --out:
- `4q_mood.csv` (path,label,artist): the 900 4Q clips, label = Russell quadrant Q1..Q4 from the metadata,
  artist as the group so that no artist spans folds (with `--per-quadrant N`: `4q_mood_N.csv`, the first N
  clips of each quadrant in the metadata's order, by song ID);
- `4q_genre.csv` (path,label,artist): the 4Q clips whose AllMusic metadata names exactly one genre, of the genres
  with at least `--min-genre` such clips, the first `--per-genre` of each in the metadata's order;
- `philharmonia_instrument.csv` (path,label): `--per-instrument` notes drawn at random (seed `--seed`) from
  each instrument folder of the Philharmonia samples (all of them where a folder has fewer); with `--wav DIR`,
  WAV copies of the selected notes decoded by libsndfile (see `as_wav`) and the CSV points to them.
"""

import argparse
import csv
import random
from pathlib import Path


def mood_rows(root, per_quadrant=None):
    """(path, quadrant, artist) of the 4Q clips in the metadata's order (by song ID), the first `per_quadrant`
    of each quadrant (all when None)."""
    rows, taken = [], {}
    with open(root / "panda_dataset_taffc_metadata.csv", newline="", encoding="latin-1") as handle:
        for entry in csv.DictReader(handle):
            path = root / entry["Quadrant"] / f"{entry['Song']}.mp3"
            if path.is_file() and taken.get(entry["Quadrant"], 0) < (per_quadrant or float("inf")):
                taken[entry["Quadrant"]] = taken.get(entry["Quadrant"], 0) + 1
                rows.append((path, entry["Quadrant"], entry["Artist"].strip()))
    return rows


def genre_rows(root, per_genre, min_genre):
    """(path, genre, artist) of the 4Q clips with exactly one genre in the metadata, for genres with at least
    `min_genre` such clips, the first `per_genre` of each in the metadata's order."""
    single = {}
    with open(root / "panda_dataset_taffc_metadata.csv", newline="", encoding="latin-1") as handle:
        for entry in csv.DictReader(handle):
            genres = [genre.strip() for genre in entry["GenresStr"].split(";") if genre.strip()]
            path = root / entry["Quadrant"] / f"{entry['Song']}.mp3"
            if len(genres) == 1 and path.is_file():
                single.setdefault(genres[0], []).append((path, genres[0], entry["Artist"].strip()))
    return [row for genre in sorted(single) if len(single[genre]) >= min_genre for row in single[genre][:per_genre]]


def philharmonia_rows(root, per_instrument, seed):
    """(path, instrument) of `per_instrument` random notes of each instrument folder."""
    rows, rng = [], random.Random(seed)
    for folder in sorted(p for p in (root / "audio").iterdir() if p.is_dir()):
        notes = sorted(folder.glob("*.mp3"))
        rows.extend((path, folder.name) for path in sorted(rng.sample(notes, min(per_instrument, len(notes)))))
    return rows


def as_wav(rows, folder):
    """Decodes each row's file with libsndfile and writes it as 16-bit WAV under `folder` (rows then point there).

    libsndfile's MP3 header length of these files exceeds what decodes (e.g. 3.26 s declared, 3.08 s decoded),
    which the zoo refuses as "truncated or corrupt"; the WAV copies hold exactly what decodes.
    """
    import soundfile

    converted = []
    for path, *rest in rows:
        target = folder / rest[0] / (path.stem + ".wav")
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            audio, rate = soundfile.read(path, dtype="float32")
            soundfile.write(target, audio, rate, subtype="PCM_16")
        converted.append((target, *rest))
    return converted


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([str(row[0].resolve()), *row[1:]] for row in rows)
    print(f"{path}: {len(rows)} clips")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mood", type=Path, help="the MER_audio_taffc_dataset folder")
    parser.add_argument("--philharmonia", type=Path, help="the philharmonia-samples folder (holding audio/)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-quadrant", type=int)
    parser.add_argument("--per-genre", type=int, default=50)
    parser.add_argument("--min-genre", type=int, default=20)
    parser.add_argument("--per-instrument", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wav", type=Path, help="decode the Philharmonia notes into WAV copies in this folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.mood:
        name = f"4q_mood_{args.per_quadrant}.csv" if args.per_quadrant else "4q_mood.csv"
        write(args.out / name, ("path", "label", "artist"), mood_rows(args.mood, args.per_quadrant))
        write(args.out / "4q_genre.csv", ("path", "label", "artist"), genre_rows(args.mood, args.per_genre, args.min_genre))
    if args.philharmonia:
        rows = philharmonia_rows(args.philharmonia, args.per_instrument, args.seed)
        write(args.out / f"philharmonia_instrument_{args.per_instrument}.csv", ("path", "label"),
              as_wav(rows, args.wav) if args.wav else rows)


if __name__ == "__main__":
    main()
