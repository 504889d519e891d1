"""Training on several devices or machines with `tf.distribute`: the strategy, who writes, and the training loop.

`make("multiworker")` builds a `MultiWorkerMirroredStrategy` from the `TF_CONFIG`
environment variable (the cluster's `worker` addresses and this process's task);
`make("mirrored")` a `MirroredStrategy` over this machine's devices. Every worker
runs the same program on the same data; each global batch is split across the
replicas, their gradients are summed across workers (the Keras optimizer all-reduces
them) and every replica applies the same update, so the model is the one a single
process would train on the same global batches. Only the chief (task `chief`, or
`worker` 0 when the cluster has no chief) writes the outputs; the others write into
temporary folders that are removed (`output_folder`).

`fit` is a small synchronous training loop (Adam, early stopping on the validation
loss with the best weights restored), because Keras 3's `Model.fit` fails under
`MultiWorkerMirroredStrategy` (keras-team/keras#20585: it reduces (x, y) batches and
scalar logs with `strategy.reduce`, which accepts neither). Validation losses are
summed across replicas, so every worker takes the same early-stopping decision.
"""

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from musiczoo_runtime.atomic import owning
from musiczoo_runtime.choices import STRATEGIES
from musiczoo_runtime.errors import ZooError


def make(strategy):
    """The `tf.distribute.Strategy` for a name (None for "none"); a Strategy object is returned as is.

    Must run before TensorFlow computes anything in this process (TensorFlow's rule for
    collective ops); `musiczoo finetune --strategy ...` does.

    Raises:
        ZooError: an unknown name, a missing or malformed TF_CONFIG, or TensorFlow already running.
    """
    if isinstance(strategy, tf.distribute.Strategy) or strategy in (None, "none"):
        return None if strategy in (None, "none") else strategy
    if strategy not in STRATEGIES:
        raise ZooError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "null")
        workers, task = config["cluster"]["worker"], config["task"]
        if not isinstance(workers, list) or task["type"] not in ("chief", "worker") or int(task["index"]) < 0:
            raise ValueError
    except (ValueError, TypeError, KeyError):
        raise ZooError('--strategy multiworker needs TF_CONFIG, e.g. TF_CONFIG=\'{"cluster": {"worker": '
                       '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\' on host1 and '
                       'index 1 on host2 (see the README)') from None
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise ZooError(f"cannot start multi-worker training ({error}): create the strategy before TensorFlow "
                       "runs anything in the process, e.g. with `musiczoo finetune --strategy multiworker`") from None


def is_chief(strategy):
    """True for the process that writes the outputs (always, without multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    chiefless = "chief" not in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (chiefless and resolver.task_type == "worker" and resolver.task_id == 0)


@contextlib.contextmanager
def output_folder(strategy, out_dir):
    """Yields where this process writes: `out_dir` (created, owned by this run: `musiczoo_runtime.atomic.owning`) on the
    chief, else a temporary folder, removed at the end."""
    if is_chief(strategy):
        with owning(out_dir) as folder:
            yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix=f"musiczoo-worker{strategy.cluster_resolver.task_id}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scope(strategy):
    """The strategy's scope (variables created in it are mirrored), or a no-op without one."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def predict(model, batches, strategy):
    """Concatenated outputs of `model` over batches of inputs (plain forward passes under a strategy)."""
    if strategy is None:
        return np.concatenate([model.predict_on_batch(batch) for batch in batches])
    return np.concatenate([np.asarray(model(batch, training=False)) for batch in batches])


def _split(strategy, arrays):
    """One global batch (the same on every worker) split across the replicas, as distributed values."""
    rows = len(arrays[0])
    bounds = np.linspace(0, rows, strategy.num_replicas_in_sync + 1).astype(int)

    def replica_part(context):
        i = context.replica_id_in_sync_group
        return tuple(tf.constant(a[bounds[i]:bounds[i + 1]]) for a in arrays)

    return strategy.experimental_distribute_values_from_function(replica_part)


class _Steps:
    """The replicated train and evaluation steps; each returns (sum of losses, sum of accuracies) over the batch."""

    def __init__(self, model, strategy, learning_rate, multi_label):
        self.model, self.strategy = model, strategy
        self.loss = keras.losses.binary_crossentropy if multi_label else keras.losses.categorical_crossentropy
        self.multi_label = multi_label
        with strategy.scope():
            self.optimizer = keras.optimizers.Adam(learning_rate)
            self.optimizer.build(model.trainable_variables)
        self.train = tf.function(lambda x, y, rows: self._run(self._train_replica, x, y, rows), reduce_retracing=True)
        self.evaluate = tf.function(lambda x, y, rows: self._run(self._evaluate_replica, x, y), reduce_retracing=True)

    def _sums(self, y, p):
        losses = self.loss(y, p)
        if self.multi_label:
            hits = tf.reduce_mean(tf.cast((p >= 0.5) == (y >= 0.5), tf.float32), axis=-1)
        else:
            hits = tf.cast(tf.argmax(p, axis=-1) == tf.argmax(y, axis=-1), tf.float32)
        return losses, tf.reduce_sum(losses), tf.reduce_sum(hits)

    def _train_replica(self, x, y, rows):
        with tf.GradientTape() as tape:
            losses, loss_sum, hits = self._sums(y, self.model(x, training=True))
            loss = loss_sum / rows  # the mean over the global batch once the replicas' gradients are summed
        self.optimizer.apply(tape.gradient(loss, self.model.trainable_variables), self.model.trainable_variables)
        return loss_sum, hits

    def _evaluate_replica(self, x, y):
        _, loss_sum, hits = self._sums(y, self.model(x, training=False))
        return loss_sum, hits

    def _run(self, replica_fn, *args):
        sums = self.strategy.run(replica_fn, args=args)
        return [self.strategy.reduce("SUM", value, axis=None) for value in sums]


def _epoch(batches, step, strategy):
    """Mean loss and accuracy of one pass of `step` (`_Steps.train` or `.evaluate`) over (x, y) batches."""
    loss = hits = rows = 0.0
    for x, y in batches:
        sums = step(*_split(strategy, (x, y)), tf.constant(len(x), tf.float32))
        loss, hits, rows = loss + float(sums[0]), hits + float(sums[1]), rows + len(x)
    return loss / rows, hits / rows


def fit(model, train, validation, strategy, *, learning_rate, multi_label, epochs, patience, description, verbose):
    """Trains `model` synchronously on every replica of `strategy`, stopping early on the validation loss.

    Args:
        model: a keras.Model whose variables were created in `strategy.scope()`.
        train: a `zoo.training.batches.RowBatches` of (x, y) global batches (reshuffled each epoch);
            every worker must see the same batches (same data, same seed).
        validation: a sequence of (x, y) batches, or None (then the training loss is monitored).
        strategy: a `tf.distribute.Strategy`.
        learning_rate: Adam's learning rate.
        multi_label: binary cross-entropy and per-tag accuracy if True, else categorical.
        epochs: at most this many epochs.
        patience: epochs without a better monitored loss before stopping.
        description, verbose: the progress bar's text, and whether to show it (stderr).

    Returns:
        history dict as Keras' `fit` gives it: "loss", "accuracy" (and "val_loss", "val_accuracy").
    """
    steps = _Steps(model, strategy, learning_rate, multi_label)
    history, best, best_weights, waited = {}, np.inf, None, 0
    with tqdm(total=epochs, desc=description, unit="epoch", file=sys.stderr, disable=not verbose) as bar:
        for _ in range(epochs):
            logs = dict(zip(("loss", "accuracy"), _epoch(train, steps.train, strategy)))
            if validation is not None:
                logs.update(zip(("val_loss", "val_accuracy"), _epoch(validation, steps.evaluate, strategy)))
            train.on_epoch_end()
            for key, value in logs.items():
                history.setdefault(key, []).append(round(value, 6))
            bar.set_postfix({key: f"{value:.3f}" for key, value in logs.items()}, refresh=False)
            bar.update()
            monitored = logs["val_loss" if validation is not None else "loss"]
            if monitored < best:
                best, best_weights, waited = monitored, model.get_weights(), 0
            else:
                waited += 1
                if waited >= patience:
                    break
    model.set_weights(best_weights)
    return history
