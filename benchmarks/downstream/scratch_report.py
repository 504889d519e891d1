"""SCRATCH.md and scratch.png (in a given folder, by default next to this file) from the runs of `scratch.py`:
accuracies with bootstrap intervals over the test clips, paired differences, and a picture of every model's
three ways to the task (scratch, frozen `msd`, frozen random; runs of other frozen weight sets are not shown)."""

import platform
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROUNDS = 2000
INITS = ("scratch", "frozen msd", "frozen none")
COMPARISONS = (("timbral", "temporal"), ("timbral_temporal", "vgg"), ("timbral", "vgg"), ("temporal", "vgg"),
               ("timbral_temporal", "timbral"), ("timbral_temporal", "temporal"), ("multiscale", "vgg"))


def correctness(runs, labels):
    """Test clip -> share of `runs` (seeds) that classified it correctly, over the clips every run predicted."""
    shared = set.intersection(*(set(run["test"]) for run in runs))
    hits = {clip: [] for clip in shared}
    for run in runs:
        for clip, predicted in zip(run["test"], run["predicted"]):
            if clip in hits:
                hits[clip].append(predicted == labels[clip])
    return {clip: float(np.mean(found)) for clip, found in hits.items()}


def bootstrap(values):
    """Mean and 95% percentile bootstrap interval of per-clip values (resampling clips, seed 0)."""
    values = np.asarray(values, dtype=np.float64)
    draws = np.random.default_rng(0).integers(0, len(values), (ROUNDS, len(values)))
    means = values[draws].mean(axis=1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def paired(a, b):
    """Bootstrap of a - b over the clips both correctness maps hold."""
    clips = sorted(set(a) & set(b))
    return bootstrap([a[clip] - b[clip] for clip in clips])


def cell(found, signed=False):
    mean, low, high = found
    form = "{:+.3f}" if signed else "{:.3f}"
    return f"{form.format(mean)} [{form.format(low)}, {form.format(high)}]"


def macro_f1(runs, labels):
    from sklearn.metrics import f1_score

    return float(np.mean([f1_score(labels[run["test"]], run["predicted"], average="macro") for run in runs]))


def group(runs, epochs):
    """(model, init) -> runs; scratch runs only those of `epochs`."""
    groups = {}
    for run in runs:
        if run["init"] == "scratch" and run.get("epochs") != epochs:
            continue
        groups.setdefault((run["model"], run["init"]), []).append(run)
    return groups


def figure(scores, models, chance, title, path):
    """One row per model (cheapest at the top): scratch, frozen msd and frozen random accuracies with intervals."""
    from zoo import card
    from zoo.outputs.figures import plt, save_figure

    styles = {"scratch": ("o", "tab:red", "trained from scratch"),
              "frozen msd": ("s", "tab:blue", "frozen msd weights + logistic probe"),
              "frozen none": ("D", "tab:grey", "frozen random weights + logistic probe")}
    fig, axis = plt.subplots(figsize=(8, 2.2 + 0.5 * len(models)))
    for offset, init in zip((-0.2, 0.0, 0.2), INITS):
        marker, colour, label = styles[init]
        rows = [(y, scores[(name, init)]) for y, name in enumerate(models) if (name, init) in scores]
        if rows:
            axis.errorbar([s[0] for _, s in rows], [y + offset for y, _ in rows],
                          xerr=[[s[0] - s[1] for _, s in rows], [s[2] - s[0] for _, s in rows]],
                          fmt=marker, color=colour, capsize=3, label=label)
    axis.axvline(chance, color="black", lw=0.8, ls=":", label=f"chance ({chance:.3f})")
    axis.set_yticks(range(len(models)), [f"{name}\n{card(name, None).cost['gflop_per_patch']:.2f} GFLOP/patch"
                                         for name in models])
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xlabel("test clip accuracy (95% bootstrap interval over the test clips)")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    axis.grid(axis="x", alpha=0.3)
    save_figure(fig, path, dpi=120, bbox_inches="tight")


def write(runs, labels, classes, args, folder=HERE):
    """Writes SCRATCH.md and scratch.png into `folder` from the runs of `args.task` (the parsed `scratch.py`
    arguments; `labels`: `[clips]` class indices of the task's clips in its order, `classes`: their names)."""
    from musiczoo_runtime.atomic import atomic_path
    from musiczoo_runtime.machine import cpu_name
    from zoo import card

    runs = [run for run in runs if run["task"] == args.task.stem]
    groups = group(runs, args.epochs)
    models = sorted({model for model, _ in groups}, key=lambda name: card(name, None).cost["gflop_per_patch"])
    hits = {key: correctness(items, labels) for key, items in groups.items()}
    scores = {key: bootstrap(list(found.values())) for key, found in hits.items()}
    chance = float(np.bincount(labels).max() / len(labels))
    scratch = [run for run in runs if run["init"] == "scratch" and run.get("epochs") == args.epochs]
    sample = scratch[0] if scratch else runs[0]
    presentations = f"{scratch[0]['presentations']:,}" if scratch else "none yet"
    lines = ["# From scratch against frozen, on real recordings", "",
             f"Written by `benchmarks/downstream/scratch.py` (issue 29, part 3b); CPU: {cpu_name()} "
             f"({platform.machine()}).", "",
             f"Task `{args.task.stem}`: {len(labels)} clips, {len(classes)} classes (chance {chance:.3f}); "
             f"one stratified split, seed 0: {sample['train_clips']} training clips, {len(sample['test'])} test "
             f"clips. Scratch budget, the same for every architecture: {args.epochs} epochs of the training "
             f"clips' 3 s patches = {presentations} patch presentations (batch 16, Adam 1e-3).", "",
             "Command: `MUSICZOO_CACHE=DATA/cache python benchmarks/downstream/scratch.py --task "
             f"DATA/tasks/{args.task.name} --out DATA/scratch --epochs {args.epochs}` (add `--models M --seeds N` "
             "for more seeds of some models; finished runs are kept and skipped).", "",
             "## Accuracy", "",
             "Test clip accuracy, mean [95% bootstrap interval over the test clips]. Several seeds: each clip's "
             "correctness averaged over them first; the seeds' own accuracies are listed. Paired: scratch minus "
             "frozen `msd`, and minus frozen random weights, clip by clip. Final training loss: the cross-entropy "
             "of the last epoch (per seed); a high one says the budget stopped the model before it fitted its "
             "training notes.", "",
             "| model | GFLOP / patch | trainable params | scratch | scratch macro-F1 | seeds | frozen msd + logistic "
             "| frozen random + logistic | scratch - frozen msd | scratch - frozen random | final training loss "
             "| train min / seed |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in models:
        runs_of = groups.get((name, "scratch"), [])
        seeds = ", ".join(f"{np.mean(np.asarray(r['predicted']) == labels[r['test']]):.3f}" for r in runs_of)
        values = [cell(scores[(name, init)]) if (name, init) in scores else "not run" for init in INITS]
        gaps = " | ".join(cell(paired(hits[(name, "scratch")], hits[(name, init)]), signed=True)
                          if (name, "scratch") in hits and (name, init) in hits else "" for init in INITS[1:])
        lines.append(f"| {name} | {card(name, None).cost['gflop_per_patch']:.2f} | "
                     f"{runs_of[0]['trainable_params']:,} | {values[0]} | "
                     f"{macro_f1(runs_of, labels):.3f} | {seeds} | {values[1]} | {values[2]} | {gaps} | "
                     f"{', '.join(format(r['final_loss'], '.2f') for r in runs_of)} | "
                     f"{np.mean([r['train_seconds'] for r in runs_of]) / 60:.1f} |" if runs_of else
                     f"| {name} | | | not run | | | {values[1]} | {values[2]} | | | | |")
    lines += ["", "## Design comparisons, paired clip by clip", "",
              "| comparison | scratch | frozen msd + logistic | frozen random + logistic |", "|---|---|---|---|"]
    for a, b in [pair for pair in COMPARISONS if all((m, "scratch") in hits for m in pair)]:
        found = [cell(paired(hits[(a, init)], hits[(b, init)]), signed=True)
                 if (a, init) in hits and (b, init) in hits else "" for init in INITS]
        lines.append(f"| `{a}` - `{b}` | {' | '.join(found)} |")
    lines += ["", "![accuracy of every model trained from scratch, and frozen](scratch.png)", ""]
    with atomic_path(folder / "SCRATCH.md") as tmp:
        Path(tmp).write_text("\n".join(lines))
    figure(scores, models, chance, f"{args.task.stem}, {len(sample['test'])} test clips\ntrained from scratch "
           f"({presentations} patch presentations) against frozen embeddings", folder / "scratch.png")
    print(f"[scratch] wrote {folder / 'SCRATCH.md'} and {folder / 'scratch.png'}")
