"""Every catalog architecture trained from scratch on one real labelled task, beside frozen probes on the same split.

    MUSICZOO_CACHE=DATA/cache python benchmarks/downstream/scratch.py --task DATA/tasks/philharmonia_instrument_70.csv \
        --out DATA/scratch [--models ...] [--epochs 10] [--seeds 1] [--frozen msd none]

One stratified split of the task's clips (`--test-fraction`, seed 0, the same whatever the training seed):
- **scratch**: each model built with random weights (`include_top=False, include_frontend=False,
  pooling="avg"`) under a new head (dropout 0.25 + dense softmax, as `zoo.finetune`'s), every layer trained on
  the training clips' log-mel patches (cross-entropy, Adam 1e-3, batch 16, batch-norm momentum 0.9, a fixed
  number of epochs, no early stopping): the same patch presentations for every architecture;
- **frozen**: the logistic probe of `musiczoo evaluate` (standardised mean+max pooled transfer layers) on
  each model's frozen embeddings for each of `--frozen`'s weight sets (`none` = random initialisation).
A clip's prediction is the argmax of its patches' mean probability. Intervals are 95% percentile bootstraps
over the test clips (2,000 resamples, seed 0; several seeds: each clip's correctness averaged over them
first); differences are paired clip by clip. Each run is appended to `DIR/runs.jsonl` and skipped when the
command is rerun; `SCRATCH.md` and `scratch.png` (here, or in `--report`) are rewritten from all of them.
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402

CATALOG = ("multiscale", "crnn", "temporal", "vgg", "timbral", "timbral_temporal")  # cheap first
BATCH = 16
LEARNING_RATE = 1e-3
BN_MOMENTUM = 0.9  # short budgets: moving statistics settle within them (Keras default 0.99)


def parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", type=Path, required=True,
                        help="CSV path,label[,group] (benchmarks/downstream/tasks.py)")
    parser.add_argument("--out", type=Path, required=True, help="folder for runs.jsonl and the patch cache")
    parser.add_argument("--models", nargs="+", default=list(CATALOG), choices=CATALOG)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=1, help="training seeds 0..N-1 per model")
    parser.add_argument("--test-fraction", type=float, default=0.5)
    parser.add_argument("--frozen", nargs="*", default=["msd", "none"], help="weight sets probed frozen")
    parser.add_argument("--report", type=Path, default=HERE,
                        help="folder for SCRATCH.md and scratch.png (default: here)")
    parser.add_argument("--report-only", action="store_true", help="rewrite SCRATCH.md and scratch.png from runs.jsonl")
    return parser.parse_args()


# ---------------------------------------------------------------- data


def split(clips, test_fraction):
    """(training indices, test indices): stratified by label, seed 0."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(clips.paths))
    return train_test_split(indices, test_size=test_fraction, stratify=clips.labels, random_state=0)


def patches(clips, out):
    """Log-mel patches `[patches, 187, 96]` of every clip (as `zoo.tag` cuts them) and the clip index of each,
    cached in `out/patches.npz`; unreadable clips are reported and get no patch."""
    from tqdm import tqdm

    from musiczoo_runtime.atomic import atomic_path
    from musiczoo_runtime.contract import PATCH_FRAMES
    from musiczoo_runtime.errors import ZooError
    from zoo.training.patch_cache import file_patches

    cached = out / "patches.npz"
    if cached.is_file():
        found = np.load(cached)
        return found["patches"], found["owners"]
    rows, owners, short = [], [], 0
    for index, path in enumerate(tqdm(clips.paths, desc="log-mel patches", unit="clip", file=sys.stderr)):
        try:
            found, frames = file_patches(path)
        except ZooError as error:
            tqdm.write(f"skipped: {error}", file=sys.stderr)
            continue
        rows.extend(patch for _, patch in found)
        owners.extend([index] * len(found))
        short += frames < PATCH_FRAMES
    if short:
        print(f"[scratch] {short} of {len(set(owners))} decoded clips are shorter than one 3 s patch: each is "
              "repeated to fill it (the zoo's warning for each is silenced here)", file=sys.stderr)
    arrays = {"patches": np.stack(rows).astype(np.float32), "owners": np.asarray(owners)}
    with atomic_path(cached) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return arrays["patches"], arrays["owners"]


# ---------------------------------------------------------------- runs


def scratch_network(name, classes):
    """Random-weight backbone `[batch, 187, 96]` -> softmax over `classes`, every layer trainable."""
    import keras

    import zoo
    from zoo.training.portable import HEAD_DROPOUT

    backbone = zoo.load(name, weights=None, include_top=False, include_frontend=False, pooling="avg")
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    x = keras.layers.Dropout(HEAD_DROPOUT, name="head_dropout")(backbone.output)
    return keras.Model(backbone.input, keras.layers.Dense(classes, activation="softmax", name="probabilities")(x))


def clip_predictions(probabilities, owners, test):
    """Argmax of the mean patch probability of each clip in `test` (`[clips]` class indices)."""
    return np.asarray([probabilities[owners == clip].mean(axis=0).argmax() for clip in test])


def train_scratch(name, seed, epochs, data):
    """Trains `name` from scratch on the training patches; returns the run's record."""
    import keras

    x, owners, y, train, test = data
    keras.utils.set_random_seed(seed)
    network = scratch_network(name, int(y.max()) + 1)
    network.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy")
    training_rows = np.flatnonzero(np.isin(owners, train))
    started = time.perf_counter()
    history = network.fit(x[training_rows], y[owners[training_rows]], batch_size=BATCH, epochs=epochs, shuffle=True,
                          verbose=2)
    train_seconds = time.perf_counter() - started
    rows = np.flatnonzero(np.isin(owners, test))
    probabilities = network.predict(x[rows], batch_size=64, verbose=0)
    return {"test": [int(i) for i in test], "predicted": clip_predictions(probabilities, owners[rows], test).tolist(),
            "trainable_params": int(sum(np.prod(w.shape) for w in network.trainable_weights)),
            "presentations": int(epochs * len(training_rows)),
            "train_seconds": round(train_seconds, 1), "final_loss": round(float(history.history["loss"][-1]), 4)}


def probe_frozen(name, weights, clips, labels, train, test):
    """The logistic probe of `musiczoo evaluate` on frozen embeddings, fitted on `train`, predicting `test`."""
    from zoo.training.embeddings import embed, feature_matrix
    from zoo.training.evaluate import transfer_layers
    from zoo.training.probes import probe

    layers = transfer_layers(name)
    started = time.perf_counter()
    embeddings, failures, _ = embed(clips.paths, name, None if weights == "none" else weights, layers)
    extract_seconds = time.perf_counter() - started
    for path, error in failures.items():
        print(f"skipped: {error}", file=sys.stderr)
    train = [i for i in train if clips.paths[i] in embeddings]
    test = [i for i in test if clips.paths[i] in embeddings]

    def features(indices):
        return feature_matrix(embeddings, [clips.paths[i] for i in indices])

    fitted = probe("logistic", 0).fit(features(train), labels[train])
    return {"test": [int(i) for i in test], "predicted": fitted.predict(features(test)).tolist(), "layers": layers,
            "extract_seconds": round(extract_seconds, 1)}


# ---------------------------------------------------------------- main


def main():
    args = parse()
    from musiczoo_runtime.errors import ZooWarning
    from zoo.training.probes import read_clips

    # one line from patches() says how many clips are shorter than a patch, instead of a warning per clip and pass
    warnings.filterwarnings("ignore", message=r".*shorter than one .* patch", category=ZooWarning)

    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    runs = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    clips = read_clips(args.task)
    classes = sorted(set(clips.labels))
    labels = np.asarray([classes.index(label) for label in clips.labels])
    train, test = split(clips, args.test_fraction)
    if not args.report_only:
        x, owners = patches(clips, args.out)
        train, test = train[np.isin(train, owners)], test[np.isin(test, owners)]  # the clips that decoded
        done = {(r["model"], r["init"], r.get("seed"), r.get("epochs")) for r in runs}

        def record(row):
            row.update(task=args.task.stem, train_clips=len(train))
            runs.append(row)
            with open(log, "a") as handle:
                handle.write(json.dumps(row) + "\n")
            accuracy = np.mean(np.asarray(row["predicted"]) == labels[row["test"]])
            print(f"[scratch] {row['model']} {row['init']} seed {row.get('seed')}: accuracy {accuracy:.3f}", flush=True)

        for name in args.models:
            for weights in args.frozen:
                if (name, f"frozen {weights}", None, None) not in done:
                    record({"model": name, "init": f"frozen {weights}",
                            **probe_frozen(name, weights, clips, labels, train, test)})
        for seed in range(args.seeds):
            for name in args.models:
                if (name, "scratch", seed, args.epochs) not in done:
                    record({"model": name, "init": "scratch", "seed": seed, "epochs": args.epochs,
                            **train_scratch(name, seed, args.epochs, (x, owners, labels, train, test))})
    import scratch_report

    scratch_report.write(runs, labels, classes, args, args.report)


if __name__ == "__main__":
    main()
