"""Peak resident memory of `musiczoo explain units` and `explain activations` on 10 and 60 minutes of audio.

Usage:
    .venv/bin/python benchmarks/explain_memory.py [--minutes 10 60] [--model timbral_temporal] [--layer timbral]

The files are the ones `benchmarks/memory.py` synthesizes (44.1 kHz stereo 16-bit WAV, chords, clicks
and noise, written block by block); each command runs in a fresh process and the table reports that
process's peak resident set size (ru_maxrss). `units` keeps 5 excerpts per unit with up to 5 from the
one file (`--per-file 5`), so the search and the excerpt cutting both work on the long file.
"""

import argparse
import sys
from pathlib import Path

from memory import measure


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60])
    parser.add_argument("--model", default="timbral_temporal")
    parser.add_argument("--layer", default="timbral")
    args = parser.parse_args()
    musiczoo = str(Path(sys.executable).parent / "musiczoo")
    measure(args.minutes, lambda path, folder: {
        "units": [musiczoo, "explain", "units", str(path), "--model", args.model, "--layer", args.layer,
                  "--top", "5", "--per-file", "5", "--out", str(folder / f"units-{path.stem}")],
        "activations": [musiczoo, "explain", "activations", str(path), "--model", args.model,
                        "--out", str(folder / f"maps-{path.stem}")]})


if __name__ == "__main__":
    main()
