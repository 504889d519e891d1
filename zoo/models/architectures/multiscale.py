"""The multiscale network: one small convolutional stack at every level of a pyramid over time.

After Dieleman and Schrauwen, "Multiscale approaches to music audio feature
learning", ISMIR 2013, who learned features at several time scales from
Gaussian and Laplacian pyramids built over the time axis of the spectrogram
and found the combination tags MagnaTagATune better than any single scale.
Here, on the graph and from built-in Keras layers only (so a fine-tuned model
reloads without the zoo and exports with core TensorFlow ops):

- the pyramid: level 0 is the batch-normalised log-mel patch `[batch, T, 96]`;
  each next level low-passes the previous one along time with the fixed
  binomial kernel [1, 4, 6, 4, 1] / 16 (zero padding of 2 frames, then four
  2-frame box averages, whose composition is that kernel) and keeps every
  other frame, so level l has ceil(T / 2^l) frames of 16 ms * 2^l, frame j
  centred on input frame 2^l * j. `pyramid="laplacian"` replaces levels 0-2
  by their band-pass detail, the level minus its own binomial low-pass (the
  difference-of-Gaussians form of Burt and Adelson's Laplacian, which needs
  no up-sampling and so works at any length); the coarsest level stays
  low-pass, as in the Laplacian pyramid;
- at every level the same stack: two 1-D convolutions over time whose
  filters span all 96 mel bands (ReLU, batch norm), so a filter of the same
  shape covers 2x the time span one level up: about 0.1 s (onsets), 0.2 s,
  0.4 s (beats) and 0.9 s (bar fragments) for the 7-frame kernels below, and
  the receptive field of the stack twice that. The levels share the shape,
  not the weights: each time scale learns its own detectors (Dieleman and
  Schrauwen learn separate features per level too), each level's batch
  norms see their own statistics (Laplacian levels differ from low-pass
  ones), and per-level layers are what lets one ablate or fine-tune a scale;
- max and mean over time per level, the levels concatenated (`max_pool`,
  `mean_pool`, `pooled`), then the dense back-end of musicnn and the
  sigmoid tags.

Layers are named by level: `scale{l}_smooth*` and `scale{l}_down` build the
pyramid, `scale{l}_conv1`, `scale{l}_bn1`, `scale{l}_conv2` and `scale{l}`
(the level's frame features) its stack, `scale{l}_max_pool` and
`scale{l}_mean_pool` its pooling. The pyramid variant and the number of
levels are architecture options:
`zoo.models.loading.build("multiscale", 50, pyramid="laplacian")` gives a
randomly initialised Laplacian model, `levels=1` the same network without
the pyramid (the pretrained weights are Gaussian, 4 levels).
"""

from keras import layers

from musiczoo_runtime import checks
from musiczoo_runtime.errors import ZooError
from zoo.models import blocks

LEVELS = 4
FILTERS = (96, 96)  # two convolutions per level
KERNEL = 7  # frames, at each level's own frame rate
PYRAMIDS = ("gaussian", "laplacian")
BINOMIAL_ORDER = 4  # four 2-frame box averages = the binomial kernel [1, 4, 6, 4, 1] / 16


def _low_pass(x, level):
    """The binomial low-pass along time with zero padding: `[batch, T, C]` -> `[batch, T, C]`."""
    x = layers.ZeroPadding1D(BINOMIAL_ORDER // 2, name=f"scale{level}_smooth_pad")(x)
    for i in range(1, BINOMIAL_ORDER + 1):
        x = layers.AveragePooling1D(2, strides=1, padding="valid", name=f"scale{level}_smooth{i}")(x)
    return x


def time_pyramid(x, pyramid="gaussian", levels=LEVELS):
    """The pyramid over time of a `[batch, T, C]` tensor.

    Args:
        x: `[batch, T, C]`, level 0.
        pyramid: "gaussian" (low-pass levels) or "laplacian" (band-pass levels, the coarsest low-pass).
        levels: number of levels.

    Returns:
        list of `levels` tensors `[batch, ceil(T / 2^l), C]`.
    """
    gaussian, details = [x], []
    for level in range(levels - 1):
        smooth = _low_pass(gaussian[-1], level)
        if pyramid == "laplacian":
            details.append(layers.Subtract(name=f"scale{level}_detail")([gaussian[-1], smooth]))
        gaussian.append(layers.AveragePooling1D(1, strides=2, name=f"scale{level + 1}_down")(smooth))
    return details + gaussian[-1:] if pyramid == "laplacian" else gaussian


def level_stack(x, level, filters=FILTERS, kernel=KERNEL):
    """The stack every level runs: 1-D convolutions over time spanning all mel bands, ReLU, batch norm.

    Args:
        x: one pyramid level `[batch, T_l, 96]`.
        level: its index, used in the layer names.
        filters: filters of each convolution.
        kernel: convolution length in frames of this level.

    Returns:
        the level's frame features `scale{level}` `[batch, T_l, filters[-1]]`.
    """
    for i, width in enumerate(filters, start=1):
        x = layers.Conv1D(width, kernel, padding="same", activation="relu", name=f"scale{level}_conv{i}")(x)
        last = i == len(filters)
        x = layers.BatchNormalization(name=f"scale{level}" if last else f"scale{level}_bn{i}")(x)
    return x


def _frames_at_coarsest(features):
    """Every level's frames max-pooled to the coarsest level's rate and concatenated: `scales` `[batch, T_L, F*L]`."""
    coarsest = len(features) - 1
    aligned = [
        layers.MaxPooling1D(2 ** (coarsest - level), padding="same", name=f"scale{level}_to_coarsest")(frames)
        for level, frames in enumerate(features[:-1])
    ]
    return layers.Concatenate(name="scales")(aligned + features[-1:])


def multiscale(logmel, classes, include_top, pooling, pyramid="gaussian", levels=LEVELS):
    """Builds the multiscale (time-pyramid) network.

    Args:
        logmel: `[batch, T, 96]` tensor, any T >= 1.
        classes: sigmoid outputs of the top.
        include_top: add the pooled dense back-end.
        pooling: for a headless model, "avg" (`mean_pool`: each level's mean over time, concatenated),
            "max" (`max_pool`) or None (`scales`: every level max-pooled to the coarsest level's
            frame rate, 8 input frames a step, and concatenated).
        pyramid: "gaussian" or "laplacian" (see the module docstring).
        levels: pyramid levels (1 = level 0 alone: the same network without the pyramid).

    Returns:
        `[batch, classes]` with the top; else `[batch, levels * F]` pooled or
        `[batch, ceil(T / 2^(levels - 1)), levels * F]`.

    Raises:
        ZooError: unknown pyramid variant or a level count below 1.
    """
    if pyramid not in PYRAMIDS:
        raise ZooError(f"the multiscale pyramid must be one of {', '.join(PYRAMIDS)}, not {pyramid!r}")
    checks.at_least(levels, "levels", 1)
    x = blocks.normalized_input(logmel)
    x = layers.Reshape((-1, logmel.shape[-1]), name="input_frames")(x)
    features = [level_stack(level_input, level) for level, level_input in enumerate(time_pyramid(x, pyramid, levels))]
    if not include_top and pooling is None:
        return _frames_at_coarsest(features)
    pooled = {}
    for kind, pool in (("max", layers.GlobalMaxPooling1D), ("mean", layers.GlobalAveragePooling1D)):
        if include_top or pooling == {"max": "max", "mean": "avg"}[kind]:
            pooled[kind] = layers.Concatenate(name=f"{kind}_pool")(
                [pool(name=f"scale{level}_{kind}_pool")(frames) for level, frames in enumerate(features)])
    if not include_top:
        return next(iter(pooled.values()))
    return blocks.dense_backend(layers.Concatenate(name="pooled")([pooled["max"], pooled["mean"]]), classes)
