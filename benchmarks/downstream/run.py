"""Downstream table: `musiczoo evaluate` for model x weights x task, then RESULTS.md and a figure.

Usage:
    python benchmarks/downstream/run.py --tasks DIR [--runs DIR] [--models M ...] [--weights mtt msd none]
        [--task NAME ...] [--table-only]

--tasks holds the task CSVs written by tasks.py (the audio stays outside the repository). Each row runs
`nice -n 19 musiczoo evaluate TASK.csv --model M --weights W --out RUNS/TASK/M-W` in a subprocess and
records its command and wall time in RUNS/TASK/M-W/row.json; a row whose row.json exists is not run again.
RESULTS.md and accuracy_vs_gflop.png (next to this script) are then rebuilt from every row.json under RUNS;
with --update-manifest, each pretrained weight set's entry in weights/manifest.json gets its `downstream`
results (task, clips, protocol, each probe's accuracy and macro-F1 with their intervals), so `zoo.card(...)`
shows them.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE.parent.parent / "weights" / "manifest.json"
MODELS = ("timbral_temporal", "timbral", "temporal", "multiscale", "crnn", "vgg")
WEIGHTS = ("msd", "none", "mtt")


def run_row(task_csv, model, weights, runs, layers=()):
    """Runs one row (unless already done) and returns its row.json contents; `layers` () for the defaults."""
    out = runs / task_csv.stem / "-".join([model, weights, *layers])
    record = out / "row.json"
    if record.is_file():
        return json.loads(record.read_text())
    command = ["nice", "-n", "19", sys.executable, "-m", "zoo", "evaluate", str(task_csv), "--model", model,
               "--weights", weights, "--out", str(out), "--quiet", *(f"--layer={layer}" for layer in layers)]
    started = time.perf_counter()
    status = subprocess.run(command, check=False).returncode
    seconds = time.perf_counter() - started
    if status not in (0, 1):
        print(f"row failed ({status}): {shlex.join(command)}", file=sys.stderr)
        return None
    row = {"task": task_csv.stem, "model": model, "weights": weights, "layers": list(layers),
           "wall_seconds": round(seconds, 1),
           "command": shlex.join(["musiczoo", *command[6:]])}
    record.write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
    return row


def rows(runs):
    """Every finished row under `runs`, with its results.json."""
    found = []
    for record in sorted(runs.glob("*/*/row.json")):
        row = json.loads(record.read_text())
        row["results"] = json.loads((record.parent / "results.json").read_text())
        found.append(row)
    return found


def cell(score):
    return f"{score['mean']:.3f} [{score['low']:.3f}, {score['high']:.3f}]"


def table(found):
    """RESULTS.md's text."""
    lines = ["# Downstream: frozen-embedding probes on real labelled music", "",
             "Written by `benchmarks/downstream/run.py` (see README.md here for the data and its provenance). "
             "Each row: `musiczoo evaluate` with its default protocol (the model's transfer layers pooled by mean "
             "and max, standardised; logistic regression and a 256-unit MLP; 5-fold stratified cross-validation, "
             "grouped by artist on 4Q; seed 0). Numbers: mean over the folds and its 95% interval (Student t). "
             "Wall time: the whole command, under `nice -n 19` on a machine shared with other jobs; files whose "
             "embeddings were already cached cost no extraction (hence the count of files extracted).", "",
             "| task | model | weights | layers | clips (skipped) | chance | logistic accuracy | logistic macro-F1 | "
             "MLP accuracy | MLP macro-F1 | wall time (files extracted) | CPU | command |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in found:
        results = row["results"]
        task, scores = results["task"], results["scores"]
        lines.append(
            f"| {row['task']} | {row['model']} | {row['weights']} | {', '.join(results['protocol']['layers'])} | "
            f"{task['clips']} ({len(task['skipped'])}) | "
            f"{task['chance']:.3f} | {cell(scores['logistic']['accuracy'])} | {cell(scores['logistic']['macro_f1'])} "
            f"| {cell(scores['mlp']['accuracy'])} | {cell(scores['mlp']['macro_f1'])} | {row['wall_seconds']:.0f} s ({results['timing']['files_extracted']}) "
            f"| {results['protocol']['cpu']} | `{row['command']}` |")
    return "\n".join(lines + paired(found)) + "\n"


def difference(ours, theirs, probe):
    """Markdown cell: `ours` minus `theirs` in accuracy, fold by fold (the same clips and seed give the same
    folds), as mean and 95% interval."""
    from zoo.training.probes import mean_and_half_width

    mean, half = mean_and_half_width([a - b for a, b in zip(ours["results"]["scores"][probe]["accuracy"]["folds"],
                                                            theirs["results"]["scores"][probe]["accuracy"]["folds"])])
    return f"{mean:+.3f} [{mean - half:+.3f}, {mean + half:+.3f}]"


def paired(found):
    """Markdown lines: each pretrained row minus its random-initialisation row, then the design comparisons."""
    lines = ["", "## Pretrained minus random initialisation, paired over the same folds", "",
             "Accuracy difference per fold (same clips, same seed, so the same folds), mean and 95% interval; "
             "an interval above 0 says the pretrained weights help on this task.", "",
             "| task | model | weights | logistic | MLP |", "| --- | --- | --- | --- | --- |"]
    floors = {(r["task"], r["model"]): r for r in found if r["weights"] == "none" and not r.get("layers")}
    for row in found:
        floor = floors.get((row["task"], row["model"]))
        if row["weights"] == "none" or row.get("layers") or floor is None:
            continue
        lines.append(f"| {row['task']} | {row['model']} | {row['weights']} | {difference(row, floor, 'logistic')} | "
                     f"{difference(row, floor, 'mlp')} |")
    return lines + designs(found)


# (question, first (model, layers), second (model, layers)): "first minus second" answers the question.
COMPARISONS = (
    ("vertical minus horizontal filters: `timbral` minus `temporal`", ("timbral", ()), ("temporal", ())),
    ("timbral branch minus temporal branch of `timbral_temporal`", ("timbral_temporal", ("timbral",)),
     ("timbral_temporal", ("temporal",))),
    ("musically motivated minus square filters: `timbral_temporal` minus `vgg`", ("timbral_temporal", ()),
     ("vgg", ())),
    ("finest minus coarsest time scale of `multiscale`: `scale0` minus `scale3`", ("multiscale", ("scale0",)),
     ("multiscale", ("scale3",))),
)


def designs(found):
    """Markdown lines: the design comparisons of COMPARISONS, per task and weight set, paired over folds."""
    by_key = {(r["task"], r["model"], r["weights"], tuple(r.get("layers", ()))): r for r in found}
    lines = ["", "## Design comparisons, paired over the same folds", "",
             "The seed's rationale as questions; each cell is the first minus the second in accuracy, fold by fold, "
             "mean and 95% interval. An interval that excludes 0 is a difference this data can see.", "",
             "| question | task | weights | logistic | MLP |", "| --- | --- | --- | --- | --- |"]
    for question, first, second in COMPARISONS:
        for (task, model, weights, layers), ours in sorted(by_key.items()):
            theirs = by_key.get((task, second[0], weights, second[1]))
            if (model, layers) != first or theirs is None:
                continue
            lines.append(f"| {question} | {task} | {weights} | {difference(ours, theirs, 'logistic')} | "
                         f"{difference(ours, theirs, 'mlp')} |")
    return lines


def figure(found, path):
    """Logistic-probe accuracy (with its interval) against GFLOP per 3 s patch, one panel per task (default
    layers only): a colour per model, a marker per weight set, one legend for all panels."""
    import matplotlib.ticker
    from matplotlib.lines import Line2D

    from zoo.models.catalog import card
    from zoo.outputs.figures import plt, save_figure

    tasks = sorted({row["task"] for row in found})
    columns = min(2, len(tasks))
    rows_of_panels = -(-len(tasks) // columns)
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(6.5 * columns, 3.8 * rows_of_panels + 0.9),
                             squeeze=False)
    colours = {model: plt.get_cmap("tab10")(i) for i, model in enumerate(MODELS)}
    markers = {"msd": "o", "mtt": "s", "none": "x"}
    nudge = {"msd": 0.95, "none": 1.0, "mtt": 1.05}  # one model's weight sets side by side, not on top
    for axis, task in zip(axes.flat, tasks):
        chance = None
        for row in (r for r in found if r["task"] == task and not r.get("layers")):
            accuracy = row["results"]["scores"]["logistic"]["accuracy"]
            chance = row["results"]["task"]["chance"]
            gflop = card(row["model"], None).cost["gflop_per_patch"]
            axis.errorbar(gflop * nudge.get(row["weights"], 1.0), accuracy["mean"],
                          yerr=[[accuracy["mean"] - accuracy["low"]], [accuracy["high"] - accuracy["mean"]]],
                          fmt=markers.get(row["weights"], "o"), color=colours.get(row["model"]), capsize=3)
        if chance is not None:
            axis.axhline(chance, color="grey", linestyle=":")
            axis.annotate("chance", (0.055, chance), textcoords="offset points", xytext=(0, 3), fontsize=8,
                          color="grey")
        axis.set_xscale("log")
        axis.set_xlim(0.05, 5)  # the catalog spans 0.09 (multiscale) to 2.8 (timbral_temporal) GFLOP
        axis.set_xticks([0.1, 0.3, 1, 3], ["0.1", "0.3", "1", "3"])
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("GFLOP per 3 s patch (log)")
        axis.set_ylabel("accuracy, logistic probe (95%)")
        axis.set_title(task)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(tasks):]:
        axis.set_visible(False)
    handles = [Line2D([], [], color=colours[model], marker="o", linestyle="", label=model) for model in MODELS]
    handles += [Line2D([], [], color="black", marker=marker, linestyle="", label=f"{weights} weights")
                for weights, marker in markers.items()]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.9 / (3.8 * rows_of_panels + 0.9), 1, 1))
    save_figure(fig, path, dpi=110)


def downstream_entry(row):
    """A row as a model card's `downstream` item."""
    results = row["results"]
    protocol = results["protocol"]
    return {
        "task": row["task"], "clips": results["task"]["clips"], "classes": len(results["task"]["classes"]),
        "chance": round(results["task"]["chance"], 4),
        "protocol": f"{protocol['folds']}-fold {protocol['cross_validation']} (seed {protocol['seed']}), layers "
                    f"{', '.join(protocol['layers'])} pooled by mean and max, standardised",
        "scores": {probe: {metric: {key: round(score[metric][key], 4) for key in ("mean", "low", "high")}
                           for metric in ("accuracy", "macro_f1")}
                   for probe, score in results["scores"].items()},
        "source": "benchmarks/downstream/RESULTS.md",
    }


def update_manifest(found):
    """Writes each pretrained row's results into its weight set's `downstream` list in weights/manifest.json."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for row in found:
        entry = manifest["models"].get(row["model"], {}).get("weights", {}).get(row["weights"])
        if entry is None or row.get("layers"):
            continue
        items = [item for item in entry.get("downstream", []) if item["task"] != row["task"]]
        entry["downstream"] = sorted(items + [downstream_entry(row)], key=lambda item: item["task"])
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, required=True)
    parser.add_argument("--runs", type=Path, default=None, help="default: TASKS/runs")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--weights", nargs="+", default=list(WEIGHTS))
    parser.add_argument("--layer", action="append", default=[],
                        help="probe these layers instead of the defaults (repeatable; e.g. per-branch rows)")
    parser.add_argument("--task", nargs="+", help="task CSV names without .csv (default: every CSV in --tasks)")
    parser.add_argument("--table-only", action="store_true", help="only rebuild RESULTS.md and the figure")
    parser.add_argument("--update-manifest", action="store_true",
                        help="write the pretrained rows into weights/manifest.json's downstream fields")
    args = parser.parse_args()
    runs = args.runs or args.tasks / "runs"
    tasks = [args.tasks / f"{name}.csv" for name in args.task] if args.task else sorted(args.tasks.glob("*.csv"))
    if not args.table_only:
        for model in args.models:
            for task in tasks:
                for weights in args.weights:
                    run_row(task, model, weights, runs, tuple(args.layer))
    found = rows(runs)
    (HERE / "RESULTS.md").write_text(table(found), encoding="utf-8")
    if found:
        figure(found, HERE / "accuracy_vs_gflop.png")
    if args.update_manifest:
        update_manifest(found)


if __name__ == "__main__":
    main()
