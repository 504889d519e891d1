"""The catalog: model names -> builders, weight presets and model cards.

Everything descriptive (tags, sources, licenses, metrics, feature layers)
lives in `weights/manifest.json`; this module only interprets it.
"""

import copy
import difflib
import importlib
from pathlib import Path

import keras
import numpy as np

from zoo import frontend
from zoo.errors import ZooError
from zoo.weights import WEIGHTS_DIR, load_weights, manifest, verify_file

DEFAULT_WEIGHTS = "mtt"
POOLINGS = (None, "avg", "max")


def list_models():
    """Names of every model in the catalog, in catalog order."""
    return list(manifest()["models"])


def _entry(name):
    models = manifest()["models"]
    if name not in models:
        close = difflib.get_close_matches(str(name), list(models), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ZooError(f"unknown model {name!r}.{hint} Available models: {', '.join(models)}")
    return models[name]


def tag_spaces():
    """Tag space name -> its entry (dataset, description, tags)."""
    return manifest()["tag_spaces"]


def weights_entry(name, weights):
    """The manifest entry of pretrained `weights` for model `name`.

    Raises:
        ZooError: the tag is unknown, or known but has no weight file yet.
    """
    entry = _entry(name)
    available = entry["weights"]
    if weights in available:
        return available[weights]
    have = ", ".join(available) if available else "none yet"
    if weights in tag_spaces():
        raise ZooError(
            f"model {name!r} has no pretrained {weights!r} weights (available: {have}). "
            "Use weights=None for random initialisation."
        )
    raise ZooError(
        f"weights={weights!r} is neither a weight tag ({', '.join(tag_spaces())}), "
        f"None, nor an existing .h5 file. Pretrained weights of {name!r}: {have}"
    )


def _weights_file(name, weights):
    """Resolves `weights` (tag or path) to (verified path, tag list or None, architecture options)."""
    if isinstance(weights, (str, Path)) and str(weights).endswith(".h5"):
        path = Path(weights)
        if not path.exists():
            raise ZooError(f"weight file {path} does not exist")
        return path, None, {}
    entry = weights_entry(name, weights)
    path = WEIGHTS_DIR / entry["file"]
    verify_file(path, entry["sha256"], entry.get("size"))
    return path, tag_spaces()[entry["tag_space"]]["tags"], entry.get("architecture", {})


def card(name, weights=DEFAULT_WEIGHTS):
    """The model card of `name` with `weights` (a tag, or None for the architecture alone).

    Returns:
        dict with at least tags, sample_rate, input_seconds, frontend, params,
        source, license, citation, training_data, metrics, feature_layers, sha256.
    """
    entry = _entry(name)
    result = {
        "name": name,
        "description": entry["description"],
        "family": entry["family"],
        "citation": entry["citation"],
        "params": entry["params"],
        "sample_rate": frontend.SAMPLE_RATE,
        "input_seconds": entry["fixed_seconds"] or 3.0,
        "min_seconds": entry["min_seconds"],
        "frontend": dict(frontend.FRONTEND_CONFIG),
        "feature_layers": dict(entry["feature_layers"]),
        "frame_layers": dict(entry["frame_layers"]),
        "weights": weights,
        "available_weights": list(entry["weights"]),
    }
    empty = {"tags": None, "source": None, "license": None, "training_data": None, "metrics": None, "sha256": None}
    if weights is None:
        return {**result, **empty}
    info = copy.deepcopy(weights_entry(name, weights))
    space = tag_spaces()[info["tag_space"]]
    return {**result, **info, "tags": list(space["tags"]), "tag_space_description": space["description"]}


@keras.saving.register_keras_serializable(package="musiczoo")
class ZooModel(keras.Model):
    """A functional Keras model that checks its input before TensorFlow sees it.

    Wrong rank, integer or other non-float dtypes, and lengths the model
    cannot take raise `ZooError` naming the problem.
    """

    def _check(self, x):
        if isinstance(x, (list, tuple)):
            x = np.asarray(x)
        shape = getattr(x, "shape", None)
        dtype = getattr(x, "dtype", None)
        if shape is None or dtype is None:
            return
        expected = self.inputs[0].shape
        kind = "waveform [batch, samples] at 16 kHz" if len(expected) == 2 else "log-mel [batch, frames, 96]"
        if len(shape) != len(expected):
            raise ZooError(
                f"{self.name} takes a {len(expected)}-D {kind}; got an array of shape {tuple(shape)}"
                + (" (add a batch axis: x[None])" if len(shape) == len(expected) - 1 else "")
            )
        if not np.issubdtype(np.dtype(getattr(dtype, "as_numpy_dtype", dtype)), np.floating):
            raise ZooError(
                f"{self.name} takes float32 audio in [-1, 1]; got dtype {dtype}. "
                "Convert integer PCM with x.astype('float32') / 32768."
            )
        for axis, (got, want) in enumerate(zip(shape[1:], expected[1:]), start=1):
            if want is not None and got is not None and got != want:
                raise ZooError(
                    f"{self.name} takes {kind} with {want} values on axis {axis}; got {got}. "
                    "Load the model with another input_seconds (or None) or use zoo.tag for long audio."
                )

    def __call__(self, inputs, *args, **kwargs):
        self._check(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._check(x)
        return super().predict(x, *args, **kwargs)


def _builder(entry):
    module, function = entry["builder"].split(":")
    return getattr(importlib.import_module(module), function)


def _check_arguments(name, entry, include_top, pooling, classes, input_seconds, sample_rate):
    if sample_rate != frontend.SAMPLE_RATE:
        raise ZooError(
            f"zoo models take {frontend.SAMPLE_RATE} Hz audio, not {sample_rate} Hz: resample first "
            "(zoo.tag and the musiczoo command do it for you)"
        )
    if pooling not in POOLINGS:
        raise ZooError(f"pooling must be 'avg', 'max' or None, not {pooling!r}")
    if include_top and pooling is not None:
        raise ZooError("pooling applies to headless models: pass include_top=False with pooling")
    if not include_top and classes is not None:
        raise ZooError("classes sets the size of the top: it cannot be used with include_top=False")
    if classes is not None and (not isinstance(classes, (int, np.integer)) or classes < 1):
        raise ZooError(f"classes must be a positive integer, not {classes!r}")
    if input_seconds is not None:
        if not isinstance(input_seconds, (int, float)) or input_seconds < entry["min_seconds"]:
            raise ZooError(
                f"{name} needs input_seconds of at least {entry['min_seconds']} (or None for any length), "
                f"not {input_seconds!r}"
            )
    fixed = entry["fixed_seconds"]
    if include_top and fixed is not None and input_seconds != fixed:
        raise ZooError(
            f"{name} with its top takes exactly {fixed} s patches (input_seconds={fixed}); "
            f"use include_top=False for other lengths, or zoo.tag for long audio"
        )


def load(
    name,
    weights=DEFAULT_WEIGHTS,
    include_top=True,
    include_frontend=True,
    pooling=None,
    classes=None,
    input_seconds=3.0,
    *,
    sample_rate=frontend.SAMPLE_RATE,
):
    """Builds a catalog model, optionally with pretrained weights.

    Args:
        name: catalog name (see `list_models()`).
        weights: weight tag ("mtt", "msd"), None for random initialisation, or
            a path to a `.weights.h5` file written by `zoo.weights.save_weights`.
        include_top: keep the classifier; False gives a backbone.
        include_frontend: True takes waveform `[batch, samples]` at 16 kHz;
            False takes log-mel `[batch, frames, 96]`.
        pooling: with include_top=False, "avg" or "max" global pooling, or None.
        classes: outputs of the top (only with weights=None or a matching count).
        input_seconds: patch length in seconds, or None for any length.
        sample_rate: must be 16000; other rates are refused with advice.

    Returns:
        ZooModel (a functional keras.Model). With the top its output is
        `probabilities` `[batch, classes]`.

    Raises:
        ZooError: for any impossible combination, unknown name, or bad weights.
    """
    entry = _entry(name)
    _check_arguments(name, entry, include_top, pooling, classes, input_seconds, sample_rate)
    path, tags, options = (None, None, {}) if weights is None else _weights_file(name, weights)
    n_outputs = len(tags) if tags else len(tag_spaces()[DEFAULT_WEIGHTS]["tags"])
    if classes is not None and weights is not None and classes != n_outputs:
        raise ZooError(
            f"weights {weights!r} have {n_outputs} outputs, not classes={classes}: "
            "use include_top=False and add your own head, or weights=None"
        )
    classes = classes or n_outputs

    model = build(name, classes, include_top, include_frontend, pooling, input_seconds, **options)
    if path is not None:
        load_weights(model, path, allow_unused=not include_top)
    return model


def build(name, classes, include_top=True, include_frontend=True, pooling=None, input_seconds=3.0, **options):
    """Builds a randomly initialised catalog model without checking arguments (see `load`).

    Args:
        name: catalog name.
        classes: outputs of the top.
        include_top, include_frontend, pooling, input_seconds: as in `load`.
        **options: architecture options of the builder (e.g. vgg's `pools`).

    Returns:
        ZooModel.
    """
    n_frames = None if input_seconds is None else frontend.frames_in(input_seconds)
    if include_frontend:
        samples = None if input_seconds is None else frontend.samples_in(input_seconds)
        inputs = keras.Input((samples,), dtype="float32", name="waveform")
        logmel = frontend.logmel(inputs, n_frames)
    else:
        inputs = keras.Input((n_frames, frontend.N_MELS), dtype="float32", name="logmel")
        logmel = inputs
    outputs = _builder(_entry(name))(logmel, classes, include_top, pooling, **options)
    return ZooModel(inputs, outputs, name=name)
