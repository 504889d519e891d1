"""Cost of every catalog model per 3 s patch: trainable parameters, GFLOP, and speed against the teacher.

Usage:
    .venv/bin/python benchmarks/model_cost.py [--models multiscale ...] [--rounds 5] [--update-manifest]

GFLOP are counted from layer shapes as benchmarks/efficiency.py counts them
(Conv1D, Conv2D, Dense and GRU; multiply and add = 2 FLOPs). Speed is
`zoo.training.agreement.patches_per_second` (the measure of the distillation
agreement report: log-mel input, batches of 32, best of 3) on the same 128
random log-mel patches, the teacher (`timbral_temporal`) and each model measured
one after the other in every round; the ratio reported is the median over rounds of
(model patches/s) / (teacher patches/s) of the same round. `--update-manifest`
writes the counted (deterministic) `cost` of each model into weights/manifest.json.
"""

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import zoo  # noqa: E402
from efficiency import model_flops  # noqa: E402
from musiczoo_runtime.contract import N_MELS, PATCH_FRAMES  # noqa: E402
from musiczoo_runtime.machine import cpu_model  # noqa: E402
from zoo.models.loading import build  # noqa: E402
from zoo.training.agreement import SPEED_PATCHES, patches_per_second  # noqa: E402
from zoo.training.corpus import TEACHER  # noqa: E402


def counted_cost(name):
    """{"trainable_params", "gflop_per_patch"} of a randomly initialised catalog model with its top."""
    network = build(name, classes=50, include_frontend=False)
    params = int(sum(np.prod(w.shape) for w in network.trainable_weights))
    return {"trainable_params": params, "gflop_per_patch": round(model_flops(network) / 1e9, 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=None, help="catalog names (default: all)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--update-manifest", action="store_true")
    args = parser.parse_args()
    names = args.models or zoo.list_models()
    patches = np.random.default_rng(0).uniform(0, 3, (SPEED_PATCHES, PATCH_FRAMES, N_MELS)).astype(np.float32)
    teacher = build(TEACHER, classes=50, include_frontend=False)
    networks = {name: build(name, classes=50, include_frontend=False) for name in names}
    ratios = {name: [] for name in names}
    speeds = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, network in networks.items():
            reference = patches_per_second(teacher, patches)
            speed = patches_per_second(network, patches)
            speeds[name].append(speed)
            ratios[name].append(speed / reference)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} CPUs; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"| model | trainable parameters | GFLOP / patch | patches/s (median) | speed vs {TEACHER} (median, range) |")
    print("|---|---:|---:|---:|---:|")
    costs = {}
    for name in names:
        costs[name] = counted_cost(name)
        r = ratios[name]
        print(f"| {name} | {costs[name]['trainable_params']:,} | {costs[name]['gflop_per_patch']:.3f} | "
              f"{np.median(speeds[name]):.1f} | {np.median(r):.2f}x ({min(r):.2f}-{max(r):.2f}) |")
    if args.update_manifest:
        path = HERE.parent / "weights" / "manifest.json"
        listing = json.loads(path.read_text(encoding="utf-8"))
        for name, cost in costs.items():
            entry = {key: value for key, value in listing["models"][name].items() if key != "cost"}
            weights = entry.pop("weights")
            listing["models"][name] = {**entry, "cost": cost, "weights": weights}
        path.write_text(json.dumps(listing, indent=2) + "\n", encoding="utf-8")
        print(f"wrote the cost of {', '.join(costs)} into {path}")


if __name__ == "__main__":
    main()
