"""Transfer learning: a new classifier on a pretrained backbone, trained on your labeled audio.

`finetune` reads a labeled collection (`zoo.datasets`), decodes each file once
to 16 kHz and cuts it into 3 s waveform patches (`zoo.patching`), kept in a
memory-mapped temporary file. Files, not patches, are split into training and
validation, stratified by label and fixed by the seed. The backbone is
`zoo.load(..., include_top=False, pooling=...)`; a new head (dropout, dense
softmax or sigmoid) is trained on its frozen pooled output, then the top
`fine_tune_blocks` blocks can be unfrozen and trained at a lower learning rate.
Both phases stop early on the validation loss and keep their best weights.

The saved `model.keras` reloads with Keras and Kapre alone (no `zoo` import):
`import kapre, keras; keras.saving.load_model("OUT/model.keras")`. To make that
possible the model is rebuilt as plain `keras.Model`s, and the front end's four
small zoo layers are replaced by compositions of built-in Keras and Kapre
layers computing the same numbers (`portable_frontend`).
"""

import json
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import kapre
import keras
import numpy as np
from tqdm import tqdm

from zoo import audio as audio_io
from zoo import datasets, frontend, patching
from zoo.atomic import atomic_path
from zoo.batches import RowBatches
from zoo.errors import ZooError
from zoo.features import Taggram, _source
from zoo.pipeline import PATCH_SECONDS
from zoo.registry import card, load

SAMPLES = frontend.samples_in(PATCH_SECONDS)
HEAD_DROPOUT = 0.25
# Blocks of each family from the top down, as layer-name prefixes (a layer belongs to a block
# when its name is a prefix or starts with prefix + "_"); fine_tune_blocks=N unfreezes the first N.
BLOCKS = {
    "musicnn": (("cnn3",), ("cnn2",), ("cnn1",), ("timbral", "temporal"), ("input_bn",)),
    "vgg": tuple((f"conv{i}", f"bn{i}") for i in range(5, 0, -1)) + (("input_bn",),),
    "crnn": tuple((f"conv{i}", f"bn{i}") for i in range(4, 0, -1)) + (("input_bn",),),
}
DECIBEL_RANGE = 1000.0  # wider than any log10(1 + 1e4 * mel) output (< 9 bels), so Kapre never clips


def _center_pad(x, layer):
    """CenterPad as Keras layers: `[batch, L]` -> `[batch, L + 2 p]` (L must be known)."""
    length, pad = x.shape[1], layer.padding
    if length is None or length <= pad:
        raise ZooError(f"a portable front end needs a fixed input of more than {pad} samples, not {length}")
    column = keras.layers.Reshape((length, 1), name=f"{layer.name}_column")(x)
    if layer.mode == "constant":
        padded = keras.layers.ZeroPadding1D(pad, name=f"{layer.name}_zeros")(column)
        return keras.layers.Reshape((length + 2 * pad,), name=layer.name)(padded)
    # reflect: x[p..1] before the signal and x[L-2..L-1-p] after it, reversed by a fixed permutation matrix
    flip = keras.layers.Dense(pad, use_bias=False, trainable=False, name=f"{layer.name}_flip")
    ends = []
    for name, crop in (("start", (1, length - 1 - pad)), ("end", (length - 1 - pad, 1))):
        piece = keras.layers.Cropping1D(crop, name=f"{layer.name}_{name}")(column)
        ends.append(flip(keras.layers.Reshape((pad,), name=f"{layer.name}_{name}_flat")(piece)))
    flip.set_weights([np.eye(pad, dtype="float32")[::-1]])
    return keras.layers.Concatenate(axis=1, name=layer.name)([ends[0], x, ends[1]])


def _log_compression(x, layer):
    """LogCompression as Keras and Kapre layers: saturate, round to float16, 1 + scale x, log10."""
    if layer.float16_rounding:
        x = keras.layers.ReLU(max_value=frontend.FLOAT16_MAX, name=f"{layer.name}_saturate")(x)
        x = keras.layers.Identity(dtype="float16", name=f"{layer.name}_float16")(x)
    x = keras.layers.Rescaling(layer.scale, offset=1.0, dtype="float32", name=f"{layer.name}_affine")(x)
    x = kapre.MagnitudeToDecibel(ref_value=1.0, amin=1e-5, dynamic_range=DECIBEL_RANGE,
                                 name=f"{layer.name}_decibel")(x)
    return keras.layers.Rescaling(0.1, name=layer.name)(x)


def _portable(layer, x):
    """Applies `layer`, or built-in Keras/Kapre layers computing the same, to tensor `x`."""
    if isinstance(layer, frontend.CenterPad):
        return _center_pad(x, layer)
    if isinstance(layer, frontend.Power):
        if layer.exponent != 2.0:
            raise ZooError(f"no portable form of Power({layer.exponent}); only squaring is supported")
        return keras.layers.Multiply(name=layer.name)([x, x])
    if isinstance(layer, frontend.LogCompression):
        return _log_compression(x, layer)
    if isinstance(layer, frontend.CropFrames):
        return keras.layers.Cropping1D((0, x.shape[1] - layer.n_frames), name=layer.name)(x)
    if not type(layer).__module__.startswith(("keras.", "kapre.")):
        raise ZooError(f"front-end layer {layer.name} ({type(layer).__name__}) has no portable form")
    return type(layer).from_config(layer.get_config())(x)


def portable_frontend(seconds=PATCH_SECONDS):
    """The log-mel front end built from Keras and Kapre layers only, for zoo-free reloading.

    Numerically the same as `zoo.frontend.build_frontend` (within float32 rounding of the
    logarithm); a `.keras` file holding it loads after `import kapre` without `zoo`.

    Args:
        seconds: fixed patch length.

    Returns:
        keras.Model "frontend": waveform `[batch, samples_in(seconds)]` -> log-mel `[batch, frames_in(seconds), 96]`.
    """
    reference = frontend.build_frontend(frontend.samples_in(seconds), frontend.frames_in(seconds))
    waveform = keras.Input(reference.input.shape[1:], dtype="float32", name="waveform")
    x = waveform
    for layer in reference.layers[1:]:
        x = _portable(layer, x)
    return keras.Model(waveform, x, name="frontend")


def build(model, weights, classes, multi_label, pooling="avg"):
    """Backbone plus a new head, as nested plain Keras models (no zoo classes or layers).

    Args:
        model: catalog name.
        weights: weight tag, None or a weight file, as in `zoo.load`.
        classes: outputs of the head.
        multi_label: sigmoid outputs if True, else softmax.
        pooling: "avg" or "max" over the backbone's output.

    Returns:
        keras.Model waveform `[batch, 48000]` -> `probabilities [batch, classes]`, whose
        sub-models are "frontend" (frozen), "backbone" (frozen, always in inference mode) and "head".
    """
    if pooling not in ("avg", "max"):
        raise ZooError(f"pooling must be 'avg' or 'max' for a new head, not {pooling!r}")
    zoo_backbone = load(model, weights=weights, include_top=False, include_frontend=False, pooling=pooling,
                        input_seconds=PATCH_SECONDS)
    backbone = keras.Model(zoo_backbone.input, zoo_backbone.output, name="backbone")
    backbone.trainable = False
    front = portable_frontend()
    front.trainable = False
    head = keras.Sequential([
        keras.Input(backbone.output.shape[1:], name="embedding"),
        keras.layers.Dropout(HEAD_DROPOUT, name="head_dropout"),
        keras.layers.Dense(classes, activation="sigmoid" if multi_label else "softmax", name="probabilities"),
    ], name="head")
    waveform = keras.Input((SAMPLES,), dtype="float32", name="waveform")
    embedding = backbone(front(waveform), training=False)
    return keras.Model(waveform, head(embedding), name=f"{model}_transfer")


def waveform_patches(waveform, hop_seconds=PATCH_SECONDS, last_patch="repeat"):
    """Cuts a 16 kHz waveform into the model's 3 s patches, where `zoo.tag` puts its patches.

    Args:
        waveform: float32 `[samples]` at 16 kHz.
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" or "drop", as in `zoo.patching.patch_starts`.

    Returns:
        (patches `[patches, 48000]` float32, start frames `[patches]`); short patches are
        filled by repeating their samples.
    """
    n_frames = 1 + len(waveform) // frontend.HOP_LENGTH
    starts = patching.patch_starts(n_frames, frontend.frames_in(PATCH_SECONDS), patching.hop_frames(hop_seconds),
                                   last_patch)
    patches = np.empty((len(starts), SAMPLES), dtype=np.float32)
    for i, start in enumerate(starts):
        piece = waveform[start * frontend.HOP_LENGTH:start * frontend.HOP_LENGTH + SAMPLES]
        patches[i] = np.tile(piece, -(-SAMPLES // len(piece)))[:SAMPLES]
    return patches, np.asarray(starts)


def split_files(file_labels, validation_split=0.2, seed=0):
    """Splits files (not patches) into training and validation, stratified by label.

    Each file is stratified by its rarest label; within a stratum the validation share is
    rounded, at least one file when the stratum has two or more and never all of them.

    Args:
        file_labels: list of label lists, one per file.
        validation_split: share of files for validation, in [0, 1).
        seed: the split depends only on it and on `file_labels`.

    Returns:
        (training file indices, validation file indices), sorted int arrays.
    """
    if not 0 <= validation_split < 1:
        raise ZooError(f"validation_split must be in [0, 1), not {validation_split!r}")
    counts = {}
    for labels in file_labels:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    strata = {}
    for index, labels in enumerate(file_labels):
        strata.setdefault(min(labels, key=lambda label: (counts[label], label)), []).append(index)
    rng = np.random.default_rng(seed)
    validation = []
    for key in sorted(strata):
        files = rng.permutation(strata[key])
        share = int(round(len(files) * validation_split))
        if validation_split > 0 and len(files) > 1:
            share = min(max(share, 1), len(files) - 1)
        if len(files) > 1:
            validation.extend(files[:share])
    validation = np.sort(np.asarray(validation, dtype=int))
    return np.setdiff1d(np.arange(len(file_labels)), validation), validation


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


def _decode(items, folder, hop_seconds, verbose):
    """Decodes every file once into 3 s patches in a memory-mapped file in `folder`.

    Returns:
        (patches memmap `[patches, 48000]`, file index of each patch `[patches]`,
        indices of the files that decoded, messages of those that did not).
    """
    path = Path(folder) / "patches.f32"
    owners, kept, skipped = [], [], []
    with open(path, "wb") as handle:
        for index, (audio, _) in enumerate(tqdm(items, desc="decoding", unit="file", file=sys.stderr,
                                                 disable=not verbose)):
            try:
                patches, _ = waveform_patches(audio_io.open_file(audio).read(), hop_seconds)
            except ZooError as error:
                message = str(error) if str(audio) in str(error) else f"{audio}: {error}"
                tqdm.write(f"skipped: {message}", file=sys.stderr)
                skipped.append(message)
                continue
            handle.write(patches.tobytes())
            owners.extend([index] * len(patches))
            kept.append(index)
    if not owners:
        raise ZooError("none of the dataset's files could be decoded")
    return np.memmap(path, np.float32, "r", shape=(len(owners), SAMPLES)), np.asarray(owners), kept, skipped


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


def _fit(network, train, validation, epochs, patience, description, verbose):
    """Fits on `train` ((x, y) arrays or a `RowBatches`) with early stopping on the validation loss
    (best weights restored); returns the history dict."""
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
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2) + "\n")


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


def finetune(data, model="timbral_temporal", weights="mtt", out_dir="finetuned", *, layout="auto",
             multi_label=None, pooling="avg", epochs=30, fine_tune_blocks=0, learning_rate=1e-3,
             fine_tune_learning_rate=1e-4, validation_split=0.2, patience=5, batch_size=16, hop_seconds=PATCH_SECONDS,
             seed=0, verbose=True):
    """Trains a new classifier on a pretrained backbone and writes it to `out_dir`.

    Args:
        data: dataset folder or CSV file (see `zoo.datasets`), or a `zoo.datasets.Dataset`.
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

    Returns:
        Finetuned.

    Raises:
        ZooError: a bad dataset (no layout, fewer than two labels, a class without readable
            files), bad arguments, or unknown model or weights.
    """
    dataset = data if isinstance(data, datasets.Dataset) else datasets.load(data, layout)
    if len(dataset.labels) < 2:
        raise ZooError(f"the dataset has only the label {dataset.labels!r}: a classifier needs at least two classes")
    several = any(len(labels) > 1 for _, labels in dataset.items)
    multi_label = several if multi_label is None else bool(multi_label)
    if several and not multi_label:
        raise ZooError("some files have several labels: use multi_label=True (--multi-label)")
    if not isinstance(epochs, int) or epochs < 1:
        raise ZooError(f"epochs must be a positive integer, not {epochs!r}")
    if not 0 <= validation_split < 1:
        raise ZooError(f"validation_split must be in [0, 1), not {validation_split!r}")
    patching.hop_frames(hop_seconds)
    prefixes = _block_prefixes(card(model, weights=None)["family"], fine_tune_blocks)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    network = build(model, weights, len(dataset.labels), multi_label, pooling)
    front, backbone, head = (network.get_layer(name) for name in ("frontend", "backbone", "head"))

    with tempfile.TemporaryDirectory(prefix=".patches-", dir=out_dir) as scratch:
        patches, owners, kept, skipped = _decode(dataset.items, scratch, hop_seconds, verbose)
        file_labels = [dataset.items[i][1] for i in kept]
        empty = sorted(set(dataset.labels) - {label for labels in file_labels for label in labels})
        if empty:
            raise ZooError(f"no readable audio file is left for label(s) {', '.join(empty)}")
        train_files, val_files = split_files(file_labels, validation_split, seed)
        if validation_split > 0 and not len(val_files):
            raise ZooError("too few files per class to hold any out for validation: add files or use "
                           "validation_split=0")
        owners = np.searchsorted(kept, owners)  # patch -> position among the kept files
        targets = _targets(file_labels, dataset.labels)[owners]
        train = np.flatnonzero(np.isin(owners, train_files))
        val = np.flatnonzero(np.isin(owners, val_files))

        embedder = keras.Model(network.input, backbone(front(network.input), training=False))
        embeddings = np.concatenate([embedder.predict_on_batch(batch) for batch in _progress(
            RowBatches(patches, np.arange(len(patches)), batch_size), "embedding", verbose)])
        _compile(head, learning_rate, multi_label)
        validation = (embeddings[val], targets[val]) if len(val) else None
        phases = [{"phase": "head", "learning_rate": learning_rate,
                   "history": _fit(head, (embeddings[train], targets[train]), validation, epochs, patience,
                                   "training head", verbose)}]
        if prefixes:
            _unfreeze(backbone, prefixes)
            _compile(network, fine_tune_learning_rate, multi_label)
            validation = RowBatches(patches, val, batch_size, targets) if len(val) else None
            phases.append({"phase": "fine_tune", "blocks": prefixes, "learning_rate": fine_tune_learning_rate,
                           "history": _fit(network, RowBatches(patches, train, batch_size, targets, seed), validation,
                                           epochs, patience, "fine-tuning", verbose)})
            probabilities = np.concatenate([network.predict_on_batch(batch) for batch in
                                            RowBatches(patches, val, batch_size)]) if len(val) else None
        else:
            probabilities = head.predict(embeddings[val], verbose=0) if len(val) else None
        scores = _scores(probabilities, targets[val], owners[val], multi_label) if len(val) else None

    with atomic_path(out_dir / "model.keras") as tmp:
        network.save(tmp)
    info = {"labels": list(dataset.labels), "multi_label": multi_label, "model": model,
            "weights": None if weights is None else str(weights), "pooling": pooling,
            "sample_rate": frontend.SAMPLE_RATE, "patch_seconds": PATCH_SECONDS,
            "input": f"float32 waveform [batch, {SAMPLES}] at {frontend.SAMPLE_RATE} Hz",
            "reload": "import kapre, keras; keras.saving.load_model('model.keras')"}
    _write_json(out_dir / "labels.json", info)
    report = {"model": model, "weights": info["weights"], "layout": dataset.layout, "labels": info["labels"],
              "multi_label": multi_label, "seed": seed,
              "files": {"train": int(len(train_files)), "validation": int(len(val_files)), "skipped": skipped},
              "patches": {"train": int(len(train)), "validation": int(len(val))},
              "phases": phases, "validation": scores}
    _write_json(out_dir / "history.json", report)
    return Finetuned(network, list(dataset.labels), multi_label, report, out_dir)


@lru_cache(maxsize=4)
def _saved(model_dir, modified):
    """(keras.Model, labels.json contents) of a finetuned model folder (cached per modification time)."""
    folder = Path(model_dir)
    info = json.loads((folder / "labels.json").read_text())
    return keras.saving.load_model(folder / "model.keras"), info


def predict(model_dir, audio, *, sample_rate=None, hop_seconds=PATCH_SECONDS, last_patch="repeat", batch_size=16):
    """Classifies a recording with a model written by `finetune`, patch by patch.

    Args:
        model_dir: the folder `finetune` wrote.
        audio: path of an audio file, or an array `[samples]` / `[samples, channels]`.
        sample_rate: the array's rate (required for arrays).
        hop_seconds: seconds between patch starts.
        last_patch: "repeat" or "drop".
        batch_size: patches per forward pass.

    Returns:
        Taggram whose `tags` are the labels, `probabilities [patches, classes]`,
        `clip_probabilities` their mean, `model` the folder and `weights` the backbone's weights.

    Raises:
        ZooError: unreadable audio, or a folder without `model.keras` and `labels.json`.
    """
    folder = Path(model_dir)
    if not (folder / "model.keras").is_file() or not (folder / "labels.json").is_file():
        raise ZooError(f"{folder}: not a finetuned model folder (model.keras and labels.json expected)")
    network, info = _saved(str(folder.resolve()), (folder / "model.keras").stat().st_mtime_ns)
    source = _source(audio, sample_rate)
    patches, starts = waveform_patches(source.read(), hop_seconds, last_patch)
    probabilities = np.concatenate([network.predict_on_batch(patches[i:i + batch_size])
                                    for i in range(0, len(patches), batch_size)])
    return Taggram(tags=info["labels"], times=patching.frame_seconds(starts), probabilities=probabilities,
                   clip_probabilities=probabilities.mean(axis=0), duration=float(source.duration),
                   model=str(folder), weights=info["weights"])
