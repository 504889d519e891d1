"""Applying a fine-tuned model (a folder written by `finetune`) to recordings, through the inference pipeline."""

import json
from functools import lru_cache
from pathlib import Path

import keras

from musiczoo_runtime.contract import BATCH_SIZE, DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH
from musiczoo_runtime.errors import ZooError
from zoo.inference import pipeline
from zoo.inference.api import only, openers, patch_function
from musiczoo_runtime.results import Taggram
from musiczoo_runtime.audio import BLOCK_SECONDS


@lru_cache(maxsize=4)
def _finetuned(model_dir, modified):
    """(log-mel patch function, labels.json contents) of a fine-tuned folder (cached per modification time)."""
    folder = Path(model_dir)
    info = json.loads((folder / "labels.json").read_text())
    network = keras.saving.load_model(folder / "model.keras")
    backbone, head = network.get_layer("backbone"), network.get_layer("head")
    logmel = keras.Input(backbone.input.shape[1:], name="logmel")
    return patch_function(keras.Model(logmel, head(backbone(logmel)))), info


def load_finetuned(model_dir):
    """The network on log-mel patches and the `labels.json` of a folder written by `finetune`.

    Raises:
        ZooError: the folder lacks `model.keras` or `labels.json`.
    """
    folder = Path(model_dir)
    if not (folder / "model.keras").is_file() or not (folder / "labels.json").is_file():
        raise ZooError(f"{folder}: not a fine-tuned model folder (model.keras and labels.json expected)")
    return _finetuned(str(folder.resolve()), (folder / "model.keras").stat().st_mtime_ns)


def predict_many(model_dir, audios, *, sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS,
                 last_patch=DEFAULT_LAST_PATCH, batch_size=BATCH_SIZE, chunk_seconds=BLOCK_SECONDS):
    """Classifies many recordings with a fine-tuned model, batched across them like `zoo.tag_many`.

    Args:
        model_dir: the folder `finetune` wrote.
        audios: sequence of paths (or of arrays, with `sample_rate=`).
        sample_rate, hop_seconds, last_patch, batch_size, chunk_seconds: as in `zoo.tag`.

    Yields:
        (audio, Taggram or ZooError) in input order: the Taggram's `tags` are the labels,
        `model` the folder and `weights` the backbone's weights.
    """
    function, info = load_finetuned(model_dir)
    audios = list(audios)
    for result in pipeline.run(lambda: function, openers(audios, sample_rate), hop_seconds, last_patch, batch_size,
                               chunk_seconds):
        yield audios[result.index], result.error or Taggram.from_result(result, info["labels"], str(model_dir),
                                                                        info["weights"])


def predict(model_dir, audio, **options):
    """Classifies one recording with a fine-tuned model, patch by patch (see `predict_many`).

    Returns:
        Taggram over the labels.

    Raises:
        ZooError: unreadable audio, or a folder without `model.keras` and `labels.json`.
    """
    return only(predict_many(model_dir, [audio], **options))
