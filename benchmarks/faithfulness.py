"""Faithfulness of the attribution methods: deletion curves against a random order.

For each recording, model and tag (the recording's top tags by that model), the
most-attributed log-mel bins of each patch are replaced, in steps of 5% up to
50%, by the patch's mean log-mel, and the tag's probability is recorded. The
area under that curve (mean probability over the 11 points 0%, 5%, ..., 50%)
is compared with the same deletion in a random order (mean of 3 orders): a
faithful map removes what the model used first, so its curve falls faster and
its AUC is lower. Recordings: the bundled clip, the rationale benchmark's
rendered test clips (drum patterns and soundfont instruments, from its cache)
and any files or folders given. Methods as `zoo.explain.attribute` runs them, except that
SmoothGrad takes 8 noisy copies and integrated gradients one uniform grid of 16
midpoints (completeness is not refined here: deletion tests the ranking of the
bins, and refining would multiply the cost); integrated gradients runs from
both baselines, each patch's mean log-mel (the default) and silence.

    .venv/bin/python benchmarks/faithfulness.py [FILE_OR_FOLDER...] [--clips 4] [--patches 2] [--tags 2]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiczoo_runtime.cli_common import audio_files  # noqa: E402
from musiczoo_runtime.contract import SAMPLE_RATE, cache_dir  # noqa: E402
from zoo.explain.attribution import attribute_patches  # noqa: E402
from zoo.explain.network import open_network  # noqa: E402
from zoo.explain.recording import read_recording  # noqa: E402

FRACTIONS = np.round(np.arange(0, 0.51, 0.05), 2)
MODELS = ("timbral_temporal", "vgg", "crnn")
RANDOM_ORDERS = 3
# one uniform grid of 16 intervals (16 gradients, the inner edges by forward passes): deletion tests the order
IG_TOLERANCE = float("inf")
VARIANTS = {  # column of the results: (label in the table and plot, method, its settings)
    "saliency": ("saliency", "saliency", {}),
    "smoothgrad": ("smoothgrad", "smoothgrad", {"samples": 8}),
    "integrated_gradients": ("integrated_gradients (mean baseline)", "integrated_gradients",
                             {"baseline": "mean", "tolerance": IG_TOLERANCE}),
    "integrated_gradients_silence": ("integrated_gradients (silence baseline)", "integrated_gradients",
                                     {"baseline": "silence", "tolerance": IG_TOLERANCE}),
    "gradcam": ("gradcam", "gradcam", {}),
}


def recordings(paths, clips):
    """(name, waveform) of the bundled clip, `clips` rationale test clips per task, and the given files."""
    out = [("traveling_minstrels.ogg", read_recording(ROOT / "examples" / "traveling_minstrels.ogg").waveform)]
    cached = sorted((cache_dir() / "rationale").glob("clips-*.npz"))
    if cached and clips:
        data = np.load(cached[-1])
        meta = json.loads(cached[-1].with_suffix(".json").read_text())
        for task in ("rhythm", "timbre"):
            x, y = data[f"{task}_test_x"], data[f"{task}_test_y"]
            for i in np.linspace(0, len(x) - 1, clips).astype(int):
                out.append((f"rationale {task} {meta['classes'][task][int(y[i])]} #{i}", x[i].astype(np.float32)))
    for path in audio_files(paths) if paths else []:
        out.append((str(path), read_recording(path).waveform))
    return out


def deletion_curve(probability, patches, order):
    """Tag probability `[fractions]` (mean over patches) as bins are removed in `order` `[patches, bins]`."""
    means = patches.reshape(len(patches), -1).mean(axis=1)
    batch = []
    for fraction in FRACTIONS:
        count = int(round(fraction * order.shape[1]))
        edited = patches.reshape(len(patches), -1).copy()
        for i in range(len(patches)):
            edited[i, order[i, :count]] = means[i]
        batch.append(edited.reshape(patches.shape))
    return probability(np.concatenate(batch)).reshape(len(FRACTIONS), len(patches)).mean(axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="more audio files or folders")
    parser.add_argument("--clips", type=int, default=4, help="rationale test clips per task (default 4)")
    parser.add_argument("--patches", type=int, default=2, help="patches per recording, evenly spaced (default 2)")
    parser.add_argument("--tags", type=int, default=2, help="top tags per recording and model (default 2)")
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "faithfulness"), help="results folder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows, started = [], time.time()
    items = recordings(args.paths, args.clips)
    for model in args.models:
        network = open_network(model, "mtt")
        function = network.function([])

        def probability(x):
            outputs = [function(x[i:i + 8]) for i in range(0, len(x), 8)]
            return np.concatenate([np.asarray(o[-1] if isinstance(o, (list, tuple)) else o) for o in outputs])

        for name, waveform in items:
            recording = read_recording(waveform, sample_rate=SAMPLE_RATE)
            chosen = np.linspace(0, len(recording.patches) - 1, min(args.patches, len(recording.patches))).astype(int)
            patches = recording.patches[chosen]
            clip = probability(patches).mean(axis=0)
            for column in np.argsort(-clip)[:args.tags]:
                tag = network.tags[column]

                def tag_probability(x, column=column):
                    return probability(x)[:, column]

                row = {"model": model, "recording": name, "tag": tag, "probability": float(clip[column])}
                random_curves = [deletion_curve(tag_probability, patches,
                                                np.stack([rng.permutation(patches[0].size) for _ in patches]))
                                 for _ in range(RANDOM_ORDERS)]
                row["random"] = float(np.mean(random_curves))
                row["random_curve"] = [round(float(v), 5) for v in np.mean(random_curves, axis=0)]
                for variant, (_, method, settings) in VARIANTS.items():
                    maps, _, _ = attribute_patches(patches, model, "mtt", tag, method, **settings)
                    order = np.argsort(-maps.reshape(len(maps), -1) + 1e-12 * rng.random((len(maps), maps[0].size)),
                                       axis=1, kind="stable")
                    curve = deletion_curve(tag_probability, patches, order)
                    row[variant] = float(curve.mean())
                    row[f"{variant}_curve"] = [round(float(v), 5) for v in curve]
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if not k.endswith("_curve")}), flush=True)
    (out / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    summarise(rows, out, time.time() - started)


def table_line(name, variant, rows):
    """One markdown row: how often and by how much `variant`'s deletion AUC is below random order's on `rows`."""
    method, random = np.array([r[variant] for r in rows]), np.array([r["random"] for r in rows])
    return (f"| {name} | {VARIANTS[variant][0]} | {len(rows)} | {np.mean(method < random):.0%} | {method.mean():.4f} "
            f"| {random.mean():.4f} | {np.mean(random - method):+.4f} |")


def summarise(rows, out, seconds):
    """Prints the markdown table (per model and method: how often below random, by how much) and writes the plot."""
    from zoo.outputs.figures import plt, save_figure

    lines = ["| model | method | pairs | AUC below random | mean AUC | mean random AUC | mean (random - method) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    models = {model: [r for r in rows if r["model"] == model] for model in dict.fromkeys(r["model"] for r in rows)}
    figure, axes = plt.subplots(1, len(models), figsize=(13, 4), sharey=True, squeeze=False)
    for panel, (model, mine) in zip(axes[0], models.items()):
        for variant, (label, _, _) in VARIANTS.items():
            lines.append(table_line(f"`{model}`", variant, mine))
            panel.plot(FRACTIONS * 100, np.mean([r[f"{variant}_curve"] for r in mine], axis=0), marker=".", label=label)
        panel.plot(FRACTIONS * 100, np.mean([r["random_curve"] for r in mine], axis=0), "k--", label="random order")
        panel.set_title(model, fontsize=9)
        panel.set_xlabel("bins removed (%)")
    axes[0][0].set_ylabel("tag probability (mean over pairs)")
    axes[0][0].legend(fontsize=8)
    figure.suptitle("deletion curves: most-attributed log-mel bins replaced by the patch mean", fontsize=9)
    figure.tight_layout()
    save_figure(figure, out / "deletion_curves.png", dpi=90)
    lines += [table_line("all", variant, rows) for variant in VARIANTS]
    verdicts = []
    for model, mine in models.items():
        share, best = max((np.mean([r[v] < r["random"] for r in mine]), v) for v in VARIANTS)
        verdicts.append(f"`{model}`: best {VARIANTS[best][0]}, below random on {share:.0%} of {len(mine)} pairs "
                        f"(bar 90%: {'met' if share >= 0.9 else 'not met'})")
    text = ("\n".join(lines) + "\n\n" + "; ".join(verdicts)
            + f".\n\n{len(rows)} (recording, model, tag) rows in {seconds / 60:.1f} min\n")
    (out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
