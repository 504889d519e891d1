"""`load`: a catalog model as a plain functional `keras.Model`, with pretrained weights.

Arguments follow keras.applications (`include_top`, `weights`, `pooling`,
`classes`, `classifier_activation`), plus `include_frontend` and
`input_seconds`; impossible combinations fail at once with a `ZooError`.
"""

import keras
import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import DEFAULT_WEIGHTS, N_MELS, PATCH_SECONDS, SAMPLE_RATE, frames_in, samples_in
from musiczoo_runtime.errors import ZooError
from zoo.models.architectures import BUILDERS
from zoo.models.catalog import spec, tag_spaces, weights_file
from zoo.models.weights import load_weights
from zoo.signal.logmel import logmel

POOLINGS = (None, "avg", "max")


def _check_arguments(model, include_top, pooling, classes, input_seconds, sample_rate):
    if sample_rate != SAMPLE_RATE:
        raise ZooError(
            f"zoo models take {SAMPLE_RATE} Hz audio, not {sample_rate} Hz: resample first "
            "(zoo.tag and the musiczoo command do it for you)"
        )
    if pooling not in POOLINGS:
        raise ZooError(f"pooling must be 'avg', 'max' or None, not {pooling!r}")
    if include_top and pooling is not None:
        raise ZooError("pooling applies to headless models: pass include_top=False with pooling")
    if not include_top and classes is not None:
        raise ZooError("classes sets the size of the top: it cannot be used with include_top=False")
    if classes is not None:
        checks.positive_integer(classes, "classes")
    if input_seconds is not None:
        if not isinstance(input_seconds, (int, float)) or input_seconds < model.min_seconds:
            raise ZooError(
                f"{model.name} needs input_seconds of at least {model.min_seconds} (or None for any length), "
                f"not {input_seconds!r}"
            )
    fixed = model.fixed_seconds
    if include_top and fixed is not None and input_seconds != fixed:
        raise ZooError(
            f"{model.name} with its top takes exactly {fixed} s patches (input_seconds={fixed}); "
            f"use include_top=False for other lengths, or zoo.tag for long audio"
        )


def load(name, weights=DEFAULT_WEIGHTS, include_top=True, include_frontend=True, pooling=None, classes=None,
         input_seconds=PATCH_SECONDS, *, classifier_activation="sigmoid", sample_rate=SAMPLE_RATE):
    """Builds a catalog model, optionally with pretrained weights.

    Args:
        name: catalog name (see `list_models()`).
        weights: weight tag ("mtt", "msd"), None for random initialisation, or
            a path to a `.weights.h5` file written by `zoo.models.weights.save_weights`.
        include_top: keep the classifier; False gives a backbone.
        include_frontend: True takes waveform `[batch, samples]` at 16 kHz;
            False takes log-mel `[batch, frames, 96]`.
        pooling: with include_top=False, "avg" or "max" global pooling, or None.
        classes: outputs of the top (only with weights=None or a matching count).
        input_seconds: patch length in seconds, or None for any length.
        classifier_activation: activation of the top's output ("sigmoid"), or
            None for the logits (e.g. to train with a from-logits loss).
        sample_rate: must be 16000; other rates are refused with advice.

    Returns:
        keras.Model (functional). With the top its output is `[batch, classes]`
        (layer `probabilities`, or `logits` with classifier_activation=None).

    Raises:
        ZooError: for any impossible combination, unknown name, or bad weights.
    """
    model = spec(name)
    _check_arguments(model, include_top, pooling, classes, input_seconds, sample_rate)
    path, tags, options = (None, None, {}) if weights is None else weights_file(name, weights)
    n_outputs = len(tags) if tags else len(tag_spaces()[DEFAULT_WEIGHTS]["tags"])
    if classes is not None and weights is not None and classes != n_outputs:
        raise ZooError(
            f"weights {weights!r} have {n_outputs} outputs, not classes={classes}: "
            "use include_top=False and add your own head, or weights=None"
        )
    network = build(name, classes or n_outputs, include_top, include_frontend, pooling, input_seconds,
                    classifier_activation, **options)
    if path is not None:
        load_weights(network, path, allow_unused=not include_top)
    return network


def build(name, classes, include_top=True, include_frontend=True, pooling=None, input_seconds=PATCH_SECONDS,
          classifier_activation="sigmoid", **options):
    """Builds a randomly initialised catalog model without checking arguments (see `load`).

    Args:
        name: catalog name.
        classes: outputs of the top.
        include_top, include_frontend, pooling, input_seconds, classifier_activation: as in `load`.
        **options: architecture options of the builder (e.g. vgg's `pools`).

    Returns:
        keras.Model named `name`.
    """
    n_frames = None if input_seconds is None else frames_in(input_seconds)
    if include_frontend:
        samples = None if input_seconds is None else samples_in(input_seconds)
        inputs = keras.Input((samples,), dtype="float32", name="waveform")
        features = logmel(inputs, n_frames)
    else:
        inputs = keras.Input((n_frames, N_MELS), dtype="float32", name="logmel")
        features = inputs
    outputs = BUILDERS[spec(name).name](features, classes, include_top, pooling, **options)
    network = keras.Model(inputs, outputs, name=name)
    if include_top and classifier_activation != "sigmoid":
        logits = network.get_layer("logits").output
        if classifier_activation is not None:
            logits = keras.layers.Activation(classifier_activation, name="probabilities")(logits)
        network = keras.Model(inputs, logits, name=name)
    return network


def check_input(network, x):
    """Raises a `ZooError` naming the problem when `x` cannot be fed to `network`.

    Keras casts and reports shape errors in its own words; call this first for
    a message that says what to do (wrong rank, integer PCM, wrong length).

    Args:
        network: a model from `load`.
        x: the array about to be passed to it.
    """
    shape, dtype = np.shape(x), np.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype
    expected = network.inputs[0].shape
    kind = "waveform [batch, samples] at 16 kHz" if len(expected) == 2 else "log-mel [batch, frames, 96]"
    if len(shape) != len(expected):
        raise ZooError(
            f"{network.name} takes a {len(expected)}-D {kind}; got an array of shape {tuple(shape)}"
            + (" (add a batch axis: x[None])" if len(shape) == len(expected) - 1 else "")
        )
    if not np.issubdtype(np.dtype(getattr(dtype, "as_numpy_dtype", dtype)), np.floating):
        raise ZooError(
            f"{network.name} takes float32 audio in [-1, 1]; got dtype {dtype}. "
            "Convert integer PCM with x.astype('float32') / 32768."
        )
    for axis, (got, want) in enumerate(zip(shape[1:], expected[1:]), start=1):
        if want is not None and got is not None and got != want:
            raise ZooError(
                f"{network.name} takes {kind} with {want} values on axis {axis}; got {got}. "
                "Load the model with another input_seconds (or None) or use zoo.tag for long audio."
            )
