"""Design-rationale benchmark: which architecture fits which musical dimension.

One command builds the data (cached), trains every model and writes RESULTS.md and accuracy_vs_params.png:

    .venv/bin/python benchmarks/rationale/run.py --out benchmarks/rationale          # full protocol
    .venv/bin/python benchmarks/rationale/run.py --out /tmp/rationale-quick --quick  # smoke run, a few minutes

Tasks (see data.py): `rhythm` (eight Ballroom-like dance styles: recorded drum kits + soundfont bass and
harmony) and `timbre` (eight General MIDI instrument families). Train and test use disjoint recordings:
soundfonts FluidR3_GM + TimGM6mb and nine drum kits for training, MuseScore_General_Lite and three other
kits for testing. Sources are found or fetched by sources.py (apt-get download + dpkg -x into
~/.cache/musiczoo/rationale; `apt-get install -y fluidsynth` if missing).

Models: every catalog architecture trained from scratch (`zoo.load(name, weights=None,
include_frontend=False, classes=8)`, its own sigmoid top, binary cross-entropy on one-hot targets,
Adam 1e-3, batch 16, the same number of epochs on the same patches, no early stopping), a tiny
temporal-only network built from zoo blocks (~7.3k parameters, after Pons et al.'s Ballroom models),
and every backbone with pretrained weights (`zoo.card(name, None)["available_weights"]`) as a frozen
mean-pooled feature extractor with a linear softmax head (dropout 0.25 + dense, as the head of
`zoo.training.portable.classifier_model`). Log-mel patches are computed once by streaming each clip
through `zoo.tag`'s inference pipeline (whole 3 s patches). Clip accuracy = argmax of the mean over a clip's
patches. Every (task, model, init, seed) result is appended to `results.jsonl` in --out and skipped when
the command is rerun, so an interrupted run resumes; `--deadline-minutes` stops starting new runs after
that time and still writes the report of what finished.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SCRATCH_MODELS = ("tiny_temporal", "multiscale", "crnn", "temporal", "vgg", "timbral", "timbral_temporal")  # cheap first
CATALOG = ("timbral", "temporal", "timbral_temporal", "vgg", "crnn", "multiscale")
BATCH = 16
LEARNING_RATE = 1e-3
HEAD_EPOCHS = 60
BN_MOMENTUM = 0.9
HEAVY = ("timbral", "timbral_temporal")
# Scratch-only variants of catalog models, run when named in --models: `multiscale` without its pyramid.
ABLATIONS = {"multiscale_1level": ("multiscale", {"levels": 1})}


def parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE), help="folder for results.jsonl, RESULTS.md and the plot")
    parser.add_argument("--cache", default=None, help="clip cache (default: $MUSICZOO_RATIONALE_CACHE or "
                        "~/.cache/musiczoo/rationale)")
    parser.add_argument("--train-per-class", type=int, default=20, help="training clips per class (6.1 s each)")
    parser.add_argument("--test-per-class", type=int, default=10, help="test clips per class")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every from-scratch model")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=None, help="subset of scratch models (default: all but "
                        f"the ablations {', '.join(ABLATIONS)})")
    parser.add_argument("--no-pretrained", action="store_true")
    parser.add_argument("--no-scratch", action="store_true", help="only the pretrained + linear runs")
    parser.add_argument("--deadline-minutes", type=float, default=None,
                        help="start no new training run after this many minutes; the report covers what finished")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite RESULTS.md and the plot from results.jsonl and summary.json in --out, no training")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 train / 1 test clips per class, 1 epoch, 2 seeds, cheap models only")
    args = parser.parse_args()
    if args.quick:
        args.train_per_class, args.test_per_class, args.epochs, args.seeds = 2, 1, 1, 2
        args.models = args.models or ["tiny_temporal", "crnn"]
    return args


# ---------------------------------------------------------------- data -> log-mel patches


def logmel_patches(waves):
    """Log-mel patches `[patches, 187, 96]` and the clip index of each patch, via the zoo's own code.

    The clips stream through the inference pipeline of `zoo.tag` (whole patches only), whose
    network here is the identity, so the patches are exactly the ones `zoo.tag` would classify.
    """
    from musiczoo_runtime.contract import SAMPLE_RATE
    from zoo.inference import pipeline
    from zoo.inference.api import openers

    patches, owners = [], []
    for result in pipeline.run(lambda: np.asarray, openers(waves, SAMPLE_RATE), last_patch="drop"):
        if result.error is not None:
            raise result.error
        (found,) = result.outputs
        patches.append(found)
        owners.extend([result.index] * len(found))
    return np.concatenate(patches).astype(np.float32), np.asarray(owners)


# ---------------------------------------------------------------- models


def tiny_temporal(classes, filters=26):
    """Temporal-only network from zoo blocks: mel-averaged input, 128/64/32-frame filters, pooled, dense.

    In the spirit of the ~7,300-parameter Ballroom networks of Pons, Slizovskaia, Gong, Gomez and Serra
    (2017); not a reproduction of them.
    """
    import keras
    from keras import layers

    from musiczoo_runtime.contract import N_MELS, frames_in
    from zoo.models import blocks

    logmel = keras.Input((frames_in(3.0), N_MELS), name="logmel")
    x = blocks.normalized_input(logmel)
    x = layers.AveragePooling2D(pool_size=(1, N_MELS), name="mel_mean")(x)
    frames = blocks.temporal_branch(x, lengths=(128, 64, 32), filters=filters)
    pooled = layers.Concatenate(name="pooled")([layers.GlobalMaxPooling1D(name="max_pool")(frames),
                                                layers.GlobalAveragePooling1D(name="mean_pool")(frames)])
    return keras.Model(logmel, blocks.classifier(pooled, classes, dropout=0.25), name="tiny_temporal")


def scratch_model(name, classes):
    import zoo
    from zoo.models.loading import build

    if name == "tiny_temporal":
        return tiny_temporal(classes)
    if name in ABLATIONS:
        catalog_name, options = ABLATIONS[name]
        return build(catalog_name, classes, include_frontend=False, **options)
    return zoo.load(name, weights=None, include_frontend=False, classes=classes)


def trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def clip_accuracy(probabilities, owners, clip_labels):
    clips = np.unique(owners)
    mean = np.stack([probabilities[owners == c].mean(axis=0) for c in clips])
    return float(np.mean(mean.argmax(axis=1) == clip_labels[clips])), float(
        np.mean(probabilities.argmax(axis=1) == clip_labels[owners]))


def run_scratch(name, task, seed, data, epochs):
    import keras

    keras.utils.set_random_seed(seed)
    (x_train, o_train, y_train), (x_test, o_test, y_test), classes = data
    model = scratch_model(name, len(classes))
    for layer in model.layers:  # short budgets: let batch-norm moving statistics catch up (Keras default 0.99)
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy")
    targets = np.eye(len(classes), dtype=np.float32)[y_train[o_train]]
    start = time.time()
    history = model.fit(x_train, targets, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0)
    train_seconds = time.time() - start
    start = time.time()
    probabilities = np.concatenate([model.predict_on_batch(x_test[i:i + 32]) for i in range(0, len(x_test), 32)])
    clip, patch = clip_accuracy(probabilities, o_test, y_test)
    return {"accuracy": clip, "patch_accuracy": patch, "trainable_params": trainable(model),
            "train_seconds": round(train_seconds, 1), "eval_seconds": round(time.time() - start, 1),
            "final_loss": round(float(history.history["loss"][-1]), 4)}


def embed(name, x):
    """Frozen mean-pooled features of pretrained `name` (its first available weight tag)."""
    import zoo

    tag = zoo.card(name, None).available_weights[0]
    backbone = zoo.load(name, weights=tag, include_top=False, include_frontend=False, pooling="avg")
    return np.concatenate([backbone.predict_on_batch(x[i:i + 32]) for i in range(0, len(x), 32)]), tag


def run_linear(features, task, seed, data):
    import keras

    from zoo.training.portable import HEAD_DROPOUT

    keras.utils.set_random_seed(seed)
    (f_train, o_train, y_train), (f_test, o_test, y_test), classes = data
    mean, std = f_train.mean(axis=0), f_train.std(axis=0) + 1e-6
    head = keras.Sequential([keras.Input(f_train.shape[1:]), keras.layers.Dropout(HEAD_DROPOUT),
                             keras.layers.Dense(len(classes), activation="softmax")])
    head.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy")
    start = time.time()
    head.fit((f_train - mean) / std, y_train[o_train], batch_size=BATCH, epochs=HEAD_EPOCHS, verbose=0)
    train_seconds = time.time() - start
    clip, patch = clip_accuracy(head.predict((f_test - mean) / std, verbose=0), o_test, y_test)
    return {"accuracy": clip, "patch_accuracy": patch, "trainable_params": trainable(head),
            "train_seconds": round(train_seconds, 1)}


# ---------------------------------------------------------------- report


def t_interval(values):
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def summarise(rows):
    groups = {}
    for row in rows:
        groups.setdefault((row["task"], row["model"], row["init"]), []).append(row)
    table = []
    for (task, model, init), items in sorted(groups.items()):
        mean, half = t_interval([r["accuracy"] for r in items])
        if items[0].get("weights"):
            init = f"pretrained {items[0]['weights']} + linear"
        table.append(dict(task=task, model=model, init=init, mean=mean, half=half, n=len(items),
                          params=items[0]["trainable_params"],
                          train=float(np.mean([r["train_seconds"] for r in items])),
                          extract=items[0].get("extract_seconds"),
                          patch=float(np.mean([r["patch_accuracy"] for r in items]))))
    return table


def plot(table, path):
    from zoo.outputs.figures import plt, save_figure

    markers = {"tiny_temporal": "v", "temporal": ">", "timbral": "^", "timbral_temporal": "D", "vgg": "s", "crnn": "o",
               "multiscale": "P", "multiscale_1level": "X"}
    colors = {"tiny_temporal": "tab:orange", "temporal": "tab:red", "timbral": "tab:blue",
              "timbral_temporal": "tab:purple", "vgg": "tab:green", "crnn": "tab:brown", "multiscale": "tab:cyan",
              "multiscale_1level": "tab:olive"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 6.8), sharey=True)
    for ax, task in zip(axes, ("rhythm", "timbre")):
        for row in [r for r in table if r["task"] == task]:
            half = 0 if np.isnan(row["half"]) else row["half"]
            filled = row["init"] == "scratch"  # else "pretrained <tag> + linear"
            color = colors.get(row["model"], "black")
            ax.errorbar(row["params"], row["mean"], yerr=half, fmt=markers.get(row["model"], "x"), color=color,
                        mfc=color if filled else "white", ms=8, capsize=3,
                        label=f"{row['model']} ({'scratch' if filled else 'pretrained + linear'}, n={row['n']})")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.05)
        ax.axhline(1 / 8, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{task} (8 classes; dotted = chance)")
        ax.set_xlabel("trainable parameters (log; pretrained + linear: the head only)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    axes[0].set_ylabel("test clip accuracy, mean over seeds ± 95% t-interval")
    fig.suptitle("Design-rationale benchmark: filled = trained from scratch, hollow = frozen pretrained + linear head")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def write_report(out, rows, meta, args):
    table = summarise(rows)
    lines = ["# Design-rationale benchmark: results", "",
             "Written by `benchmarks/rationale/run.py` from `results.jsonl`; numbers are as measured.", "",
             "Commands (in order): " + "; then ".join(f"`{run['command']}`" for run in meta.get(
                 "invocations", [{"command": meta["command"]}])), "",
             "## Results", "",
             "Accuracy: test clip accuracy (argmax of the mean of a clip's 3 s patch probabilities), mean over "
             "seeds ± half-width of the 95% t-interval. Patch acc: the same per 3 s patch. Trainable params: for "
             "pretrained+linear, the linear head only (the backbone is frozen). Train time: wall seconds of "
             "`fit` per seed (mean); for pretrained+linear the one-off feature extraction (train + test patches) "
             "is listed separately.", "",
             "| task | model | init | accuracy (mean ± 95% CI) | patch acc | seeds | trainable params | "
             "train time (s) | feature extraction (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        ci = "n/a" if np.isnan(r["half"]) else f"{r['half']:.3f}"
        lines.append(f"| {r['task']} | {r['model']} | {r['init']} | {r['mean']:.3f} ± {ci} | {r['patch']:.3f} | "
                     f"{r['n']} | {r['params']:,} | {r['train']:.1f} | "
                     f"{'' if r['extract'] is None else format(r['extract'], '.1f')} |")
    lines += ["", "Chance level is 0.125 (eight balanced classes).", "",
              "![accuracy against trainable parameters](accuracy_vs_params.png)", "",
              "## Protocol", "",
              f"- Data: {meta['data']}",
              f"- Split (disjoint recordings): {meta['split']}",
              f"- Scratch training: {args.epochs} epochs, batch {BATCH}, Adam {LEARNING_RATE}, binary cross-entropy "
              "on one-hot targets through each catalog model's own sigmoid top, no early stopping or validation; "
              f"batch-norm momentum set to {BN_MOMENTUM} (Keras default 0.99) so moving statistics settle within "
              "the short budget; every model sees the same patches in the same number of epochs.",
              f"- Scratch budget: the same for every model: {args.epochs} epochs x "
              f"{-(-meta.get('train_patches', 0) // BATCH)} steps of {BATCH} patches = "
              f"{args.epochs * meta.get('train_patches', 0)} patch presentations per task and seed.",
              f"- Pretrained + linear: frozen backbone (`include_top=False, pooling='avg'`, weights: first tag of "
              f"`available_weights`), standardised features, dropout {0.25} + dense softmax, {HEAD_EPOCHS} epochs, "
              "Adam 1e-3.",
              f"- Seeds per configuration: {args.seeds} requested (column `seeds` = seeds that finished).",
              f"- Machine: {meta['machine']}",
              ]
    for run in meta.get("invocations", [{k: meta[k] for k in ("command", "wall_minutes", "load_start", "load_end")}]):
        lines.append(f"- Wall time of `{run['command']}`: {run['wall_minutes']:.1f} min; load average (1, 5, 15 min) "
                     f"at start {run['load_start']}, at end {run['load_end']}.")
    import zoo

    lines += ["", "## Origin of the pretrained weights", ""]
    for name in CATALOG:
        for tag in zoo.card(name, None).available_weights[:1]:
            card = zoo.card(name, tag)
            source, data = card.source or {}, str(card.training_data or "")
            origin = (f"converted {source.get('package')} {source.get('version')} checkpoint {source.get('checkpoint')}"
                      if isinstance(source, dict) and source.get("package") else
                      f"distilled ({source.get('recipe') if isinstance(source, dict) else source})")
            seen = [p for p in ("hydrogen-drumkits", "fluid-soundfont-gm", "musescore-general-soundfont-small",
                                "timgm6mb-soundfont") if p in data]
            note = (f" Caution: its unlabeled training audio included {', '.join(seen)}, the packages this "
                    "benchmark draws from (test kits/soundfont included), so for this backbone train/test "
                    "disjointness holds for the labeled data and the linear head, not for the backbone's exposure."
                    if seen else "")
            used = sorted({r["weights_sha256"][:12] for r in rows if r["model"] == name and r.get("weights_sha256")})
            sha = (f"sha256 as used: {', '.join(used)}..." if used else
                   f"sha256 in the manifest now: {str(card.sha256)[:12]}...")
            lines.append(f"- `{name}` `{tag}` ({sha}): {origin}.{note}")
    present = {(r["task"], r["model"], r["init"], r["seed"]) for r in rows}

    expected = [(task, name, "pretrained+linear", seed) for task in ("rhythm", "timbre") for name in CATALOG
                if zoo.card(name, None).available_weights for seed in range(args.seeds)]
    expected += [(task, name, "scratch", seed) for task in ("rhythm", "timbre") for name in SCRATCH_MODELS
                 for seed in range(args.seeds)]
    missing = [key for key in expected if key not in present]
    if missing:
        lines += ["", "## Not run (cut by the deadline, not selected, or weights that failed to load)", ""]
        lines += [f"- failed to load: {item}" for item in meta.get("skipped", [])]
        lines += [f"- {task} / {name} / {init} / seed {seed}" for task, name, init, seed in missing]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")
    plot(table, out / "accuracy_vs_params.png")
    return table


# ---------------------------------------------------------------- main


def report_only(args):
    out = Path(args.out)
    meta = json.loads((out / "summary.json").read_text())["meta"]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    config = dict(train_per_class=args.train_per_class, test_per_class=args.test_per_class, epochs=args.epochs)
    rows = [r for r in rows if r.get("config") == config]
    write_report(out, rows, meta, args)
    print(f"[run] rewrote {out / 'RESULTS.md'} from {len(rows)} results")


def main():
    args = parse()
    if args.report_only:
        return report_only(args)
    began = time.time()
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    import data as rationale_data
    import sources

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache) if args.cache else sources.cache_dir()
    print(f"[run] building/loading data in {cache}", flush=True)
    clips, info = rationale_data.build(cache, args.train_per_class, args.test_per_class)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    prepared = {}
    for task in ("rhythm", "timbre"):
        splits = []
        for split in ("train", "test"):
            waves, labels = clips[task][split]
            mel, owners = logmel_patches(waves)
            splits.append((mel, owners, labels))
        prepared[task] = (splits[0], splits[1], info["classes"][task])
        print(f"[run] {task}: train {splits[0][0].shape[0]} patches / {len(splits[0][2])} clips, "
              f"test {splits[1][0].shape[0]} patches / {len(splits[1][2])} clips", flush=True)

    results_path = out / "results.jsonl"
    config = dict(train_per_class=args.train_per_class, test_per_class=args.test_per_class, epochs=args.epochs)
    rows = []
    if results_path.is_file():
        rows = [r for r in map(json.loads, results_path.read_text().splitlines()) if r.get("config") == config]
    done = {(r["task"], r["model"], r["init"], r["seed"]) for r in rows}

    def record(row):
        row["config"] = config
        rows.append(row)
        with open(results_path, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(f"[run] {row['task']:6s} {row['model']:16s} {row['init']:18s} seed {row['seed']} "
              f"acc {row['accuracy']:.3f} (patch {row['patch_accuracy']:.3f}) params {row['trainable_params']:,} "
              f"train {row['train_seconds']:.0f}s [{(time.time() - began) / 60:.1f} min]", flush=True)

    def late():
        return args.deadline_minutes is not None and (time.time() - began) / 60 > args.deadline_minutes

    not_run, skipped = [], []
    import zoo

    if not args.no_pretrained:
        for name in CATALOG:
            if not zoo.card(name, None).available_weights:
                continue
            for task in ("rhythm", "timbre"):
                if all((task, name, "pretrained+linear", s) in done for s in range(args.seeds)):
                    continue
                if late():
                    not_run.append(f"{task} / {name} pretrained+linear (all seeds)")
                    continue
                (x_train, o_train, y_train), (x_test, o_test, y_test), classes = prepared[task]
                start = time.time()
                try:
                    f_train, tag = embed(name, x_train)
                    f_test, _ = embed(name, x_test)
                except zoo.ZooError as error:  # e.g. a weight file being rewritten by a distillation job
                    print(f"[run] skipped pretrained {name} on {task}: {error}", flush=True)
                    skipped.append(f"{task} / {name} pretrained+linear: {error}")
                    continue
                extract = round(time.time() - start, 1)
                for seed in range(args.seeds):
                    if (task, name, "pretrained+linear", seed) in done:
                        continue
                    result = run_linear(f_train, task, seed, ((f_train, o_train, y_train), (f_test, o_test, y_test),
                                                              classes))
                    record(dict(task=task, model=name, init="pretrained+linear", weights=tag, seed=seed,
                                weights_sha256=zoo.card(name, tag).sha256,
                                extract_seconds=extract, **result))

    models = args.models or list(SCRATCH_MODELS)
    # cheap models with all their seeds first, then the heavy ones seed by seed: a deadline cuts the most
    # expensive runs, and every model gets its first seed before any heavy model gets a second
    order = [(name, seed) for name in models if name not in HEAVY for seed in range(args.seeds)]
    order += [(name, seed) for seed in range(args.seeds) for name in models if name in HEAVY]
    for name, seed in [] if args.no_scratch else order:
        for task in ("rhythm", "timbre"):
            if (task, name, "scratch", seed) in done:
                continue
            if late():
                not_run.append(f"{task} / {name} scratch seed {seed}")
                continue
            record(dict(task=task, model=name, init="scratch", seed=seed,
                        **run_scratch(name, task, seed, prepared[task], args.epochs)))

    sizes = {task: {split: f"{len(clips[task][split][1])} clips / {len(prepared[task][i][1])} patches"
                    for i, split in enumerate(("train", "test"))} for task in clips}
    split = info["split"]
    meta = dict(
        command=" ".join([".venv/bin/python", "benchmarks/rationale/run.py", *sys.argv[1:]]),
        data=(f"{rationale_data.CLIP_SECONDS} s clips at 16 kHz, two 3 s patches each; "
              + "; ".join(f"{task}: train {s['train']}, test {s['test']}" for task, s in sizes.items())
              + f"; classes rhythm = {', '.join(info['classes']['rhythm'])}; timbre = "
              + ", ".join(info["classes"]["timbre"])),
        split=(f"train soundfonts {', '.join(split['train']['soundfonts'])}, train drum kits "
               f"{', '.join(split['train']['drum_kits'])}; test soundfont {', '.join(split['test']['soundfonts'])}, "
               f"test drum kits {', '.join(split['test']['drum_kits'])}"),
        machine=(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
                 f"({cpu_model()}), TensorFlow {tf.__version__}, Keras {keras.__version__}; the load averages "
                 "below show whether other jobs shared the cores (times are slower if so)"),
        train_patches=int(len(prepared["rhythm"][0][1])),
        wall_minutes=(time.time() - began) / 60, load_start=load_start,
        load_end=" ".join(f"{v:.2f}" for v in os.getloadavg()), not_run=not_run, skipped=skipped)
    summary = out / "summary.json"
    earlier = json.loads(summary.read_text())["meta"] if summary.is_file() else None
    keys = ("command", "wall_minutes", "load_start", "load_end")
    if earlier and earlier.get("train_patches", meta["train_patches"]) == meta["train_patches"]:
        meta["invocations"] = earlier.get("invocations", [{k: earlier[k] for k in keys}])
    meta["invocations"] = meta.get("invocations", []) + [{k: meta[k] for k in keys}]
    table = write_report(out, rows, meta, args)
    (out / "summary.json").write_text(json.dumps({"meta": meta, "table": table}, indent=1, default=float))
    print(f"[run] wrote {out / 'RESULTS.md'} and {out / 'accuracy_vs_params.png'} "
          f"in {meta['wall_minutes']:.1f} min", flush=True)


if __name__ == "__main__":
    main()
