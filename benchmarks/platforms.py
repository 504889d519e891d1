"""The same recordings tagged by musiczoo installed on several Pythons and stacks, compared side by side.

Usage:
    .venv/bin/python benchmarks/platforms.py AUDIO... --venvs .venv .venv-3.12 .venv-3.13
        [--models timbral_temporal vgg] [--weights mtt msd] [--runtimes tensorflow onnx]

AUDIO are files or folders of real recordings (never committed; say where they came from when you report).
Each virtual environment's own `musiczoo tag --format json` runs on all of them, once per model, weights and
runtime; the first environment is the reference. Printed: each environment's Python and stack, then per
environment and setting the largest clip-level probability difference from the reference, how many files keep
the reference's top-3 tags (in order), and the command's wall time (shared machines: compare within one run).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musiczoo_runtime.cli_common import audio_files  # noqa: E402
from musiczoo_runtime.machine import cpu_name  # noqa: E402

STACK = ("import sys, importlib.metadata as m; print('Python %d.%d.%d' % sys.version_info[:3] + ', ' + ', '.join("
         "f'{p} {m.version(p)}' for p in ('tensorflow', 'keras', 'numpy', 'onnxruntime', 'tensorflow-io') "
         "if __import__('importlib.util').util.find_spec(p.replace('-', '_'))))")


def stack(venv):
    """The interpreter and package versions of a virtual environment, as one line."""
    return subprocess.run([str(venv / "bin" / "python"), "-c", STACK], capture_output=True, text=True,
                          check=True).stdout.strip()


def tag(venv, files, model, weights, runtime):
    """({file: {tag: probability}}, wall seconds) of one `musiczoo tag --format json` run."""
    command = [str(venv / "bin" / "musiczoo"), "tag", *map(str, files), "--format", "json", "--model", model,
               "--weights", weights, "--runtime", runtime]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    records = [json.loads(line) for line in done.stdout.splitlines()]
    failed = [record for record in records if "error" in record]
    if done.returncode != 0 or failed or len(records) != len(files):
        raise SystemExit(f"{' '.join(command[:2])} ... failed ({done.returncode}): {failed or done.stderr[-2000:]}")
    return {record["file"]: record["tags"] for record in records}, seconds


def top3(tags):
    return [name for name, _ in sorted(tags.items(), key=lambda item: -item[1])[:3]]


def compare(reference, other):
    """(largest |probability difference| over files and tags, files with the reference's top-3 in order)."""
    largest = max(abs(reference[f][t] - other[f][t]) for f in reference for t in reference[f])
    same = sum(top3(reference[f]) == top3(other[f]) for f in reference)
    return largest, same


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("audio", nargs="+", type=Path)
    parser.add_argument("--venvs", nargs="+", type=Path, required=True, help="the first one is the reference")
    parser.add_argument("--models", nargs="+", default=["timbral_temporal"])
    parser.add_argument("--weights", nargs="+", default=["mtt", "msd"])
    parser.add_argument("--runtimes", nargs="+", default=["tensorflow", "onnx"])
    args = parser.parse_args(argv)
    files = audio_files(args.audio)
    print(f"CPU: {cpu_name()}; {len(files)} recordings")
    for venv in args.venvs:
        print(f"- `{venv}`: {stack(venv)}")
    print("\n| setting | environment | max abs. difference | same top-3 | wall s |\n| --- | --- | ---: | ---: | ---: |")
    for model in args.models:
        for weights in args.weights:
            for runtime in args.runtimes:
                reference = None
                for venv in args.venvs:
                    result, seconds = tag(venv, files, model, weights, runtime)
                    reference = reference or result
                    largest, same = compare(reference, result)
                    print(f"| {model} {weights} {runtime} | `{venv}` | {largest:.2e} | {same}/{len(files)} "
                          f"| {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
