"""Knowledge distillation: train a zoo model to reproduce a teacher's tags on unlabeled audio.

Run it as `musiczoo distill --corpus $CORPUS --student timbral --teacher-weights mtt`
(a corpus from `tools/build_corpus.py`, or any folder of audio files). Steps:
1. the corpus's log-mel patches and the teacher's outputs per patch (soft
   targets, and its branch outputs `timbral`, `temporal`) come from the
   `PatchCache`, computed once;
2. the student starts from the teacher's layers of the same name
   (`init_from_teacher`): equal shapes are copied, and layers that only differ
   by the dropped branch (mid-end input, back-end batch norm and dense) take
   the teacher's rows of the channels the student keeps;
3. when the student's branch is copied whole it stays frozen, so only the
   rest is trained, on the cached branch outputs (an exact shortcut: the
   branch computes the same values in the student); otherwise the whole
   student trains on the log-mel patches;
4. binary cross-entropy on the soft targets, Adam, early stopping on the
   validation loss (best weights restored), an optional time budget, with
   TensorFlow's deterministic ops so a run can be reproduced;
5. agreement with the teacher on the test split (`zoo.training.agreement`),
   then the weight file `<student>.<tag>.weights.h5` and its manifest entry
   (`zoo.training.distilled_card`).
"""

import contextlib
import time
from pathlib import Path

import keras
import numpy as np

from musiczoo_runtime.contract import DEFAULT_WEIGHTS
from musiczoo_runtime.errors import ZooError
from zoo.models.catalog import tag_spaces
from zoo.models.loading import build, load
from zoo.models.weights import load_weights, save_weights, sha256_of, weighted_layers
from zoo.training import agreement
from zoo.training.batches import RowBatches
from zoo.training.corpus import MAX_PATCHES_PER_FILE, SPLITS, TEACHER, corpus_summary
from zoo.training.distilled_card import distilled_entry, write_entry
from zoo.training.patch_cache import BRANCHES, PatchCache

BATCH_SIZE = 32


def _channel_maps(teacher, student):
    """Teacher channel index of every student channel, keyed by the teacher's width, for musicnn layouts.

    The front-end features are the concatenated branches; the mid-end appends three 64-filter
    convolutions; the back-end pools max then mean. A student keeping some branches keeps
    their channels and all mid-end channels.

    Returns:
        {teacher width: student->teacher index array}, empty when the two do not share the layout.
    """
    teacher_names = {layer.name for layer in teacher.layers}
    student_names = {layer.name for layer in student.layers}
    if "midend" not in teacher_names or "midend" not in student_names:
        return {}
    offset, front = 0, []
    for branch in BRANCHES:
        if branch not in teacher_names:
            continue
        width = teacher.get_layer(branch).output.shape[-1]
        if branch in student_names:
            front.append(np.arange(offset, offset + width))
        offset += width
    front = np.concatenate(front)
    midend_width = teacher.get_layer("midend").output.shape[-1]
    midend = np.concatenate([front, np.arange(offset, midend_width)])
    return {offset: front, 2 * midend_width: np.concatenate([midend, midend_width + midend])}


def init_from_teacher(teacher, student):
    """Initialises `student` from `teacher` layers of the same name.

    Equal shapes are copied; a variable differing on one axis whose teacher width is a known
    musicnn feature layout takes the rows of the channels the student keeps.

    Returns:
        {layer name: "copied" or "sliced"} of the layers set.
    """
    maps = _channel_maps(teacher, student)
    source = {layer.name: layer for layer in weighted_layers(teacher)}
    done = {}
    for layer in weighted_layers(student):
        if layer.name not in source or len(source[layer.name].weights) != len(layer.weights):
            continue
        values, how = [], "copied"
        for mine, theirs in zip(layer.weights, source[layer.name].weights):
            value = np.asarray(theirs.numpy())
            if tuple(mine.shape) != value.shape:
                differ = [a for a, (m, t) in enumerate(zip(mine.shape, value.shape)) if m != t]
                index = maps.get(value.shape[differ[0]]) if len(mine.shape) == value.ndim and len(differ) == 1 else None
                if index is None or len(index) != mine.shape[differ[0]]:
                    break
                value, how = np.take(value, index, axis=differ[0]), "sliced"
            values.append(value)
        else:
            layer.set_weights(values)
            done[layer.name] = how
    return done


def _frozen_cut(student, transferred, cached):
    """The cached branch layer below which every weighted student layer was copied whole, or None."""
    names = {layer.name for layer in student.layers}
    for branch in BRANCHES:
        if branch in names and branch in cached:
            below = weighted_layers(keras.Model(student.inputs, student.get_layer(branch).output))
            if all(transferred.get(layer.name) == "copied" for layer in below):
                return branch
    return None


class _TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch during which `minutes` ran out.

    Whole epochs only, so a budgeted run equals an `epochs=N` run with the same N.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.started = time.perf_counter()
        self.hit = False

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds is not None and time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = self.hit = True


@contextlib.contextmanager
def _op_determinism():
    """Enables TensorFlow's deterministic ops for a block, then restores the process's previous setting."""
    from tensorflow.python.framework import config  # the public API can only enable it

    was_enabled = config.is_op_determinism_enabled()
    config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_enabled:
            config.disable_op_determinism()


def distill(corpus, student, teacher_weights=DEFAULT_WEIGHTS, out="weights", *, teacher=TEACHER, cache=None,
            epochs=40, batch_size=BATCH_SIZE, learning_rate=1e-3, patience=4, max_minutes=None, seed=0,
            max_patches_per_file=MAX_PATCHES_PER_FILE, init=None, command=None, log=print):
    """Distils `teacher` (with `teacher_weights`) into the catalog model `student` on a corpus.

    Args:
        corpus: corpus folder (see `corpus_rows`).
        student: catalog name of the student.
        teacher_weights: teacher weight tag ("mtt", "msd"); also the student's tag.
        out: folder of the weight file (and of `manifest.json` if it has one).
        teacher: catalog name of the teacher.
        cache: cache root folder (outside the repository); None for `patch_cache.default_cache()`.
        epochs: most epochs; early stopping usually ends sooner.
        batch_size: patches per step.
        learning_rate: Adam learning rate.
        patience: epochs without a better validation loss before stopping.
        max_minutes: training time budget, checked at epoch ends (None: no limit).
        seed: seed of initialisation, dropout and shuffling.
        max_patches_per_file: see `PatchCache.build`.
        init: a weight file of the student to continue from (after the teacher's layers are copied).
        command: the command line recorded in the manifest entry.
        log: progress printer.

    Returns:
        the manifest entry written (dict).
    """
    if teacher_weights not in tag_spaces():
        raise ZooError(f"--teacher-weights must be a tag space ({', '.join(tag_spaces())}), not {teacher_weights!r}")
    keras.utils.set_random_seed(seed)
    with _op_determinism():
        patches = PatchCache.for_corpus(corpus, cache, max_patches_per_file=max_patches_per_file, log=log)
        train, validation, test = (patches.indices(name) for name, _ in SPLITS)
        if len(train) == 0 or len(validation) == 0:
            raise ZooError(f"the corpus needs train and validation patches; it has {len(train)} and {len(validation)}")
        targets = patches.teacher_outputs(teacher, teacher_weights, log=log)
        teacher_model = load(teacher, weights=teacher_weights, include_frontend=False)
        model = build(student, classes=targets["probabilities"].shape[1], include_top=True, include_frontend=False)
        transferred = init_from_teacher(teacher_model, model)
        continued = None
        if init is not None:
            load_weights(model, init)
            continued = {"file": Path(init).name, "sha256": sha256_of(init)}
        cut = _frozen_cut(model, transferred, targets)
        if cut:
            trained = keras.Model(model.get_layer(cut).output, model.output)
            inputs = targets[cut]
        else:
            trained, inputs = model, patches.logmel
        log(f"{student}: {len(transferred)} layers from the teacher "
            f"({sum(v == 'sliced' for v in transferred.values())} sliced); training "
            f"{'above the frozen ' + cut + ' branch' if cut else 'every layer'} on {len(train)} patches")
        trained.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.BinaryCrossentropy())
        budget = _TimeBudget(max_minutes)
        stopper = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
        history = trained.fit(
            RowBatches(inputs, train, batch_size, targets["probabilities"], seed=seed),
            validation_data=RowBatches(inputs, validation, batch_size, targets["probabilities"]),
            epochs=epochs, callbacks=[stopper, budget], verbose=2,
        )
        minutes = (time.perf_counter() - budget.started) / 60
        evaluated = test if len(test) else validation
        metrics = agreement.compare({student: model}, teacher_model, patches.logmel[evaluated],
                                    targets["probabilities"][evaluated])[student]
        metrics["split"] = "test" if len(test) else "validation"
        log(f"{student} vs {teacher} {teacher_weights}: {metrics}")
        path = Path(out) / f"{student}.{teacher_weights}.weights.h5"
        save_weights(model, path, {"teacher": teacher, "teacher_weights": teacher_weights, "kind": "distilled"})
        check = load(student, weights=str(path), include_frontend=False)
        if not all(np.array_equal(a, b) for a, b in zip(check.get_weights(), model.get_weights())):
            raise ZooError(f"{path} does not load back into {student} identically")
        losses = history.history.get("val_loss", [])
        training = {
            "epochs_run": len(history.history.get("loss", [])),
            "best_epoch": int(np.argmin(losses)) + 1 if losses else None,
            "best_val_loss": round(float(np.min(losses)), 5) if losses else None,
            "minutes": round(minutes, 1),
            "stopped_by_time_budget": budget.hit,
            "trained_layers": f"above the frozen {cut} branch" if cut else "all",
            "initialised_from_teacher": transferred,
            "continued_from": continued,
            "batch_size": batch_size, "learning_rate": learning_rate, "patience": patience, "seed": seed,
        }
        entry = distilled_entry(student, teacher, teacher_weights, path, metrics, corpus_summary(patches), training,
                                command)
        write_entry(Path(out), student, teacher_weights, entry)
        return entry
