"""The browser page against the command line: clip-level tags of the same files, per model the build includes.

Usage:
    make web && .venv/bin/python benchmarks/web_parity.py FILE... [--models N]

For every file and each of the first N catalog entries of web/dist (all by default), the page (served on
127.0.0.1, headless Debian Chromium, the file through its file input) against `zoo.tag` (what
`musiczoo tag` runs): the largest clip-level difference and whether the top-3 tags agree. Files not at
16 kHz are also written as 16 kHz WAV resampled by the zoo's resampler (soxr, HQ) and tagged in the page
again: that row has no browser resampling, so the difference between the rows is the resampler's share.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import soxr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["SE_OFFLINE"] = "true"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from web_page import WEB_DIST, chromium, served, tag_in_page  # noqa: E402

import zoo  # noqa: E402
from musiczoo_runtime import machine  # noqa: E402
from musiczoo_runtime.contract import SAMPLE_RATE  # noqa: E402


def soxr_wav(path, folder):
    """`path` as 16 kHz mono float WAV resampled with soxr HQ, as the zoo reads it; None if already 16 kHz."""
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if rate == SAMPLE_RATE:
        return None
    out = Path(folder) / f"{Path(path).stem}.soxr16k.wav"
    soundfile.write(str(out), soxr.resample(data.mean(axis=1), rate, SAMPLE_RATE, quality="HQ"), SAMPLE_RATE,
                    subtype="FLOAT")
    return out


def compare(record, expected):
    """(largest clip-level difference, page top-3, command-line top-3)."""
    page = np.array([record["tags"][tag] for tag in expected.tags])
    top = [expected.tags[i] for i in np.argsort(-page, kind="stable")[:3]]
    return float(np.abs(page - expected.clip_probabilities).max()), top, [t for t, _ in expected.top(3)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--models", type=int, default=None, help="the first N catalog entries (default: all)")
    args = parser.parse_args()
    catalog = json.loads((WEB_DIST / "catalog.json").read_text())["models"][:args.models]
    print(f"CPU: {machine.cpu_name()}; page: {WEB_DIST}")
    print("file\tmodel\tinput\tmax |page - musiczoo tag|\tsame top-3\tpage top-3\tcommand-line top-3")
    with tempfile.TemporaryDirectory() as folder, served() as page_url:
        driver = chromium(folder)
        try:
            for path in args.files:
                resampled = soxr_wav(path, folder)
                for index, entry in enumerate(catalog):
                    expected = zoo.tag(path, model=entry["model"], weights=entry["weights"])
                    inputs = [("browser resampler", path)] + ([("soxr 16 kHz WAV", resampled)] if resampled else [])
                    for label, source in inputs:
                        difference, top, cli_top = compare(tag_in_page(driver, page_url, source, index), expected)
                        print(f"{Path(path).name}\t{entry['model']} {entry['weights']}\t{label}\t{difference:.2e}\t"
                              f"{top == cli_top}\t{', '.join(top)}\t{', '.join(cli_top)}", flush=True)
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
