"""Fine-tuning: a new classifier on a pretrained backbone, trained on your labeled audio.

`finetune` reads a labeled collection (`zoo.training.datasets`) and streams each
file once through the inference pipeline into 3 s log-mel patches (the same
patches `zoo.tag` sees), kept in a memory-mapped temporary file. Files, not
patches, are split into training and validation, stratified by label and fixed
by the seed. The backbone is `zoo.load(..., include_top=False, pooling=...)`; a
new head (dropout, dense softmax or sigmoid) is trained on its frozen pooled
output, then the top `fine_tune_blocks` blocks can be unfrozen and trained at a
lower learning rate. Both phases stop early on the validation loss and keep
their best weights. The saved `model.keras` takes waveform patches and reloads
without `zoo` (`zoo.training.portable`); `zoo.training.predict` applies it.
"""

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from musiczoo_runtime import checks
from musiczoo_runtime.atomic import temporary
from musiczoo_runtime.contract import (
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
    N_MELS,
    PATCH_FRAMES,
    PATCH_SAMPLES,
    PATCH_SECONDS,
    SAMPLE_RATE,
)
from musiczoo_runtime.errors import ZooError, file_error
from zoo.inference import pipeline
from zoo.inference.api import openers
from zoo.models.catalog import spec
from musiczoo_runtime import patching
from zoo.training import datasets, strategies
from zoo.training.batches import RowBatches
from zoo.training.portable import classifier_model

# Blocks of each family from the top down, as layer-name prefixes (a layer belongs to a block
# when its name is a prefix or starts with prefix + "_"); fine_tune_blocks=N unfreezes the first N.
MODEL_FILE = "model.keras"
BLOCKS = {
    "musicnn": (("cnn3",), ("cnn2",), ("cnn1",), ("timbral", "temporal"), ("input_bn",)),
    "vgg": tuple((f"conv{i}", f"bn{i}") for i in range(5, 0, -1)) + (("input_bn",),),
    "crnn": tuple((f"conv{i}", f"bn{i}") for i in range(4, 0, -1)) + (("input_bn",),),
    "multiscale": tuple((f"scale{level}",) for level in range(3, -1, -1)) + (("input_bn",),),  # coarsest first
}


def _progress(batches, description, verbose):
    return tqdm(batches, desc=description, unit="batch", file=sys.stderr, disable=not verbose)


class _EpochBar(keras.callbacks.Callback):
    """A tqdm bar on stderr advancing once per epoch, showing the latest losses and accuracies."""

    def __init__(self, epochs, description, enabled):
        super().__init__()
        self.epochs, self.description, self.enabled = epochs, description, enabled

    def on_train_begin(self, logs=None):
        self.bar = tqdm(total=self.epochs, desc=self.description, unit="epoch", file=sys.stderr,
                        disable=not self.enabled)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({key: f"{value:.3f}" for key, value in (logs or {}).items()}, refresh=False)
        self.bar.update()

    def on_train_end(self, logs=None):
        self.bar.close()


def _logmel_patches(items, folder, hop_seconds, verbose):
    """Streams every file once through the inference pipeline into log-mel patches, memory-mapped in `folder`.

    Returns:
        (patches memmap `[patches, 187, 96]`, file index of each patch `[patches]`,
        indices of the files that decoded, messages of those that did not).
    """
    path = Path(folder) / "patches.f32"
    owners, kept, skipped = [], [], []
    files = [audio for audio, _ in items]
    results = pipeline.run(lambda: np.asarray, openers(files), hop_seconds)  # the network: the patches themselves
    with open(path, "wb") as handle:
        for result in tqdm(results, total=len(files), desc="decoding", unit="file", file=sys.stderr,
                           disable=not verbose):
            if result.error is not None:
                message = str(file_error(files[result.index], result.error))
                tqdm.write(f"skipped: {message}", file=sys.stderr)
                skipped.append(message)
                continue
            (patches,) = result.outputs
            handle.write(np.ascontiguousarray(patches, np.float32).tobytes())
            owners.extend([result.index] * len(patches))
            kept.append(result.index)
    if not owners:
        raise ZooError("none of the dataset's files could be decoded")
    shape = (len(owners), PATCH_FRAMES, N_MELS)
    return np.memmap(path, np.float32, "r", shape=shape), np.asarray(owners), kept, skipped


def _targets(file_labels, labels):
    """Multi-hot (one-hot for single labels) targets `[files, classes]`."""
    column = {label: i for i, label in enumerate(labels)}
    targets = np.zeros((len(file_labels), len(labels)), dtype=np.float32)
    for row, names in enumerate(file_labels):
        targets[row, [column[name] for name in names]] = 1.0
    return targets


def _compile(network, learning_rate, multi_label):
    metrics = ([keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(multi_label=True, name="auc")]
               if multi_label else [keras.metrics.CategoricalAccuracy(name="accuracy")])
    network.compile(optimizer=keras.optimizers.Adam(learning_rate),
                    loss="binary_crossentropy" if multi_label else "categorical_crossentropy", metrics=metrics)


def _as_batches(data, batch_size, seed=None):
    """(x, y) arrays as a `RowBatches` over all their rows; a `RowBatches` or None as it is."""
    if not isinstance(data, tuple):
        return data
    x, y = data
    return RowBatches(x, np.arange(len(x)), batch_size, y, seed)


def _fit(network, train, validation, strategy, learning_rate, multi_label, epochs, patience, batch_size, seed,
         description, verbose):
    """Compiles and fits on `train` ((x, y) arrays or a `RowBatches`) with early stopping on the validation loss
    (best weights restored), with Keras' `fit`, or under a strategy with `strategies.fit`; returns the history dict."""
    if strategy is not None:
        return strategies.fit(network, _as_batches(train, batch_size, seed), _as_batches(validation, batch_size),
                              strategy, learning_rate=learning_rate, multi_label=multi_label, epochs=epochs,
                              patience=patience, description=description, verbose=verbose)
    _compile(network, learning_rate, multi_label)
    monitor = "val_loss" if validation is not None else "loss"
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
                 _EpochBar(epochs, description, verbose)]
    x, y = train if isinstance(train, tuple) else (train, None)
    history = network.fit(x, y, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=0)
    return {key: [round(float(v), 6) for v in values] for key, values in history.history.items()}


def _block_prefixes(family, n_blocks):
    """Layer-name prefixes of the top `n_blocks` blocks of a family's backbone (validates the count)."""
    blocks = BLOCKS[family]
    if not isinstance(n_blocks, int) or not 0 <= n_blocks <= len(blocks):
        raise ZooError(f"fine_tune_blocks must be between 0 and {len(blocks)} for the {family} family "
                       f"(blocks from the top: {', '.join('+'.join(block) for block in blocks)}), not {n_blocks!r}")
    return [prefix for block in blocks[:n_blocks] for prefix in block]


def _unfreeze(backbone, prefixes):
    """Makes exactly the layers of `backbone` named by `prefixes` (name == p or starts with p + "_") trainable."""
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = any(layer.name == p or layer.name.startswith(f"{p}_") for p in prefixes)


def _scores(probabilities, targets, owners, multi_label):
    """Patch- and clip-level (mean over a file's patches) accuracy of validation predictions."""
    files = np.unique(owners)
    clip = np.stack([probabilities[owners == f].mean(axis=0) for f in files])
    clip_targets = np.stack([targets[owners == f][0] for f in files])

    def accuracy(p, t):
        if multi_label:
            return float(np.mean((p >= 0.5) == (t >= 0.5)))
        return float(np.mean(p.argmax(axis=1) == t.argmax(axis=1)))

    return {"patch_accuracy": round(accuracy(probabilities, targets), 6),
            "clip_accuracy": round(accuracy(clip, clip_targets), 6),
            "files": int(len(files)), "patches": int(len(owners))}


def _write_json(path, value):
    path.write_text(json.dumps(value, indent=2) + "\n")


@dataclass
class Finetuned:
    """The outcome of `finetune`.

    Attributes:
        model: the trained keras.Model, waveform `[batch, 48000]` -> `[batch, classes]`.
        labels: class names in output order.
        multi_label: sigmoid (True) or softmax (False) outputs.
        report: what `history.json` holds (split, per-phase history, validation scores).
        out_dir: folder holding `model.keras`, `labels.json` and `history.json`.
    """

    model: keras.Model
    labels: list
    multi_label: bool
    report: dict
    out_dir: Path


def finetune(data, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, out_dir="finetuned", *, layout="auto",
             multi_label=None, pooling="avg", epochs=30, fine_tune_blocks=0, learning_rate=1e-3,
             fine_tune_learning_rate=1e-4, validation_split=0.2, patience=5, batch_size=16, hop_seconds=PATCH_SECONDS,
             seed=0, verbose=True, strategy="none", force=False):
    """Trains a new classifier on a pretrained backbone and writes it to `out_dir`.

    Args:
        data: dataset folder or CSV file (see `zoo.training.datasets`), or a `Dataset`.
        model: catalog name of the backbone.
        weights: its weights: tag, None (random initialisation) or weight file.
        out_dir: output folder; gets `model.keras`, `labels.json` and `history.json`.
        layout: dataset layout, or "auto".
        multi_label: sigmoid outputs and binary cross-entropy if True, softmax if False;
            None decides from the data (True when some file has several labels).
        pooling: "avg" or "max" over the backbone's output, the head's input.
        epochs: at most this many epochs per phase.
        fine_tune_blocks: after training the head, unfreeze this many top blocks of the
            backbone (`BLOCKS`; for musicnn 1 = cnn3, 3 = the whole mid-end) and train again.
        learning_rate: Adam learning rate of the head phase.
        fine_tune_learning_rate: Adam learning rate of the fine-tuning phase (lower).
        validation_split: share of files held out for validation (0 for none).
        patience: epochs without a better validation loss before a phase stops.
        batch_size: patches per training step.
        hop_seconds: seconds between the starts of a file's training patches.
        seed: fixes the split, the shuffling and the initialisation (sets Keras' global seed).
        verbose: progress bars on stderr.
        strategy: "none", "mirrored" (this machine's devices), "multiworker" (the cluster in TF_CONFIG;
            only the chief writes `out_dir`) or a `tf.distribute.Strategy` (see `zoo.training.strategies`).
        force: replace a model already in `out_dir` (its three files are replaced together at the end,
            the old ones intact until then); without it an existing model is refused before any work.

    Returns:
        Finetuned.

    Raises:
        ZooError: a bad dataset (no layout, fewer than two labels, a class without readable
            files), bad arguments, unknown model or weights, or a model in `out_dir` without `force`.
    """
    if (Path(out_dir) / MODEL_FILE).exists() and not force:
        raise ZooError(f"{Path(out_dir) / MODEL_FILE} already exists: pass force=True (--force) to replace the "
                       "model, or choose another folder")
    dataset = data if isinstance(data, datasets.Dataset) else datasets.read_dataset(data, layout)
    if len(dataset.labels) < 2:
        raise ZooError(f"the dataset has only the label {dataset.labels!r}: a classifier needs at least two classes")
    several = any(len(labels) > 1 for _, labels in dataset.items)
    multi_label = several if multi_label is None else bool(multi_label)
    if several and not multi_label:
        raise ZooError("some files have several labels: use multi_label=True (--multi-label)")
    checks.positive_integer(epochs, "epochs")
    checks.share(validation_split, "validation_split")
    patching.hop_frames(hop_seconds)
    prefixes = _block_prefixes(spec(model).family, fine_tune_blocks)
    distributed = strategies.make(strategy)  # before TensorFlow computes anything
    keras.utils.set_random_seed(seed)
    with strategies.scope(distributed):
        network = classifier_model(model, weights, len(dataset.labels), multi_label, pooling)
    backbone, head = network.get_layer("backbone"), network.get_layer("head")
    logmel = keras.Input(backbone.input.shape[1:], name="logmel")
    on_logmel = keras.Model(logmel, head(backbone(logmel, training=False)))  # shares the layers of `network`

    # only the chief writes into out_dir; other workers write into a temporary folder, removed at the end
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(strategies.output_folder(distributed, out_dir))
        scratch = stack.enter_context(temporary(folder, "patches", directory=True))  # a killed run's is cleaned
        patches, owners, kept, skipped = _logmel_patches(dataset.items, scratch, hop_seconds, verbose)
        file_labels = [dataset.items[i][1] for i in kept]
        empty = sorted(set(dataset.labels) - {label for labels in file_labels for label in labels})
        if empty:
            raise ZooError(f"no readable audio file is left for label(s) {', '.join(empty)}")
        train_files, val_files = datasets.split_files(file_labels, validation_split, seed)
        if validation_split > 0 and not len(val_files):
            raise ZooError("too few files per class to hold any out for validation: add files or use "
                           "validation_split=0")
        owners = np.searchsorted(kept, owners)  # patch -> position among the kept files
        targets = _targets(file_labels, dataset.labels)[owners]
        train = np.flatnonzero(np.isin(owners, train_files))
        val = np.flatnonzero(np.isin(owners, val_files))

        embeddings = strategies.predict(backbone, _progress(RowBatches(patches, np.arange(len(patches)), batch_size),
                                                            "embedding", verbose), distributed)
        validation = (embeddings[val], targets[val]) if len(val) else None
        phases = [{"phase": "head", "learning_rate": learning_rate,
                   "history": _fit(head, (embeddings[train], targets[train]), validation, distributed, learning_rate,
                                   multi_label, epochs, patience, batch_size, seed, "training head", verbose)}]
        if prefixes:
            _unfreeze(backbone, prefixes)
            validation = RowBatches(patches, val, batch_size, targets) if len(val) else None
            phases.append({"phase": "fine_tune", "blocks": prefixes, "learning_rate": fine_tune_learning_rate,
                           "history": _fit(on_logmel, RowBatches(patches, train, batch_size, targets, seed),
                                           validation, distributed, fine_tune_learning_rate, multi_label, epochs,
                                           patience, batch_size, seed, "fine-tuning", verbose)})
            probabilities = strategies.predict(on_logmel, RowBatches(patches, val, batch_size),
                                               distributed) if len(val) else None
        else:
            probabilities = strategies.predict(head, [embeddings[val]], distributed) if len(val) else None
        scores = _scores(probabilities, targets[val], owners[val], multi_label) if len(val) else None

        staged = stack.enter_context(temporary(folder, "model", directory=True))
        network.save(staged / MODEL_FILE)
        info = {"labels": list(dataset.labels), "multi_label": multi_label, "model": model,
                "weights": None if weights is None else str(weights), "pooling": pooling,
                "sample_rate": SAMPLE_RATE, "patch_seconds": PATCH_SECONDS,
                "input": f"float32 waveform [batch, {PATCH_SAMPLES}] at {SAMPLE_RATE} Hz",
                "reload": "import kapre, keras; keras.saving.load_model('model.keras')"}
        _write_json(staged / "labels.json", info)
        report = {"model": model, "weights": info["weights"], "layout": dataset.layout, "labels": info["labels"],
                  "multi_label": multi_label, "seed": seed,
                  "files": {"train": int(len(train_files)), "validation": int(len(val_files)), "skipped": skipped},
                  "patches": {"train": int(len(train)), "validation": int(len(val))},
                      "phases": phases, "validation": scores,
                  "strategy": strategy if isinstance(strategy, str) else type(distributed).__name__ if distributed
                  else "none",
                  "replicas": distributed.num_replicas_in_sync if distributed else 1}
        _write_json(staged / "history.json", report)
        for name in (MODEL_FILE, "labels.json", "history.json"):  # the old model stays whole until now
            os.replace(staged / name, folder / name)
    return Finetuned(network, list(dataset.labels), multi_label, report, Path(out_dir))
