"""Building blocks of the musically motivated models, applied to Keras tensors.

Every layer gets a stable name that says its musical role, because feature
extraction and the weight converters address layers by name. Shapes use
T for frames (time) and M for mel bands.
"""

from keras import layers

TIMBRAL_FILTERS = 204
TEMPORAL_FILTERS = 51
MIDEND_FILTERS = 64
BACKEND_UNITS = 200


def normalized_input(logmel):
    """Batch-normalises the log-mel patch and adds a channel axis.

    Args:
        logmel: `[batch, T, M]`.

    Returns:
        `[batch, T, M, 1]`.
    """
    n_mels = logmel.shape[-1]
    x = layers.Reshape((-1, n_mels, 1), name="input_channel")(logmel)
    return layers.BatchNormalization(name="input_bn")(x)


def _pool_over_mel(x, name):
    """Max over the whole remaining mel axis: `[batch, T, m, C]` -> `[batch, T, C]`."""
    x = layers.MaxPooling2D(pool_size=(1, x.shape[2]), name=f"{name}_pool")(x)
    return layers.Reshape((-1, x.shape[-1]), name=f"{name}_squeeze")(x)


def timbral_branch(x, kernels=((7, 38), (7, 67)), filters=TIMBRAL_FILTERS):
    """Tall filters spanning many mel bands: timbre, independent of pitch position.

    Each kernel is a (time x mel) convolution with time padded to keep the
    length, ReLU, batch norm, then max over the remaining mel axis.

    Args:
        x: normalised input `[batch, T, M, 1]`.
        kernels: (time, mel) kernel sizes, one convolution each.
        filters: filters per convolution.

    Returns:
        `timbral` features `[batch, T, filters * len(kernels)]`.
    """
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), name="timbral_pad")(x)
    outputs = []
    for time_size, mel_size in kernels:
        name = f"timbral_{time_size}x{mel_size}"
        y = layers.Conv2D(
            filters, (time_size, mel_size), padding="valid", activation="relu", name=f"{name}_conv"
        )(padded)
        y = layers.BatchNormalization(name=f"{name}_bn")(y)
        outputs.append(_pool_over_mel(y, name))
    return layers.Concatenate(name="timbral")(outputs)


def temporal_branch(x, lengths=(128, 64, 32), filters=TEMPORAL_FILTERS):
    """Long filters along time in every mel band: rhythm and tempo patterns.

    Each length is a (length x 1) convolution ('same' padding), ReLU, batch
    norm, then max over the mel axis (the original graph's shapes).

    Args:
        x: normalised input `[batch, T, M, 1]`.
        lengths: filter lengths in frames.
        filters: filters per convolution.

    Returns:
        `temporal` features `[batch, T, filters * len(lengths)]`.
    """
    outputs = []
    for length in lengths:
        name = f"temporal_{length}"
        y = layers.Conv2D(filters, (length, 1), padding="same", activation="relu", name=f"{name}_conv")(x)
        y = layers.BatchNormalization(name=f"{name}_bn")(y)
        outputs.append(_pool_over_mel(y, name))
    return layers.Concatenate(name="temporal")(outputs)


def midend(branch_features, filters=MIDEND_FILTERS):
    """Three 1-D convolutions over time with dense connections.

    The 2nd and 3rd are residual; the branch features and all three
    outputs are concatenated.

    Args:
        branch_features: `[batch, T, F]`, the concatenated branches.
        filters: filters per convolution.

    Returns:
        `midend` features `[batch, T, F + 3 * filters]`.
    """
    outputs = [branch_features]
    x = branch_features
    for i in (1, 2, 3):
        y = layers.Conv1D(filters, 7, padding="same", activation="relu", name=f"cnn{i}_conv")(x)
        if i == 1:
            x = layers.BatchNormalization(name="cnn1")(y)
        else:
            y = layers.BatchNormalization(name=f"cnn{i}_bn")(y)
            x = layers.Add(name=f"cnn{i}")([y, x])
        outputs.append(x)
    return layers.Concatenate(name="midend")(outputs)


def temporal_pooling(frames, pooling):
    """Global pooling over time for a headless model.

    Args:
        frames: `[batch, T, F]`.
        pooling: "avg" (layer `mean_pool`), "max" (layer `max_pool`) or None.

    Returns:
        `[batch, F]`, or `frames` unchanged when pooling is None.
    """
    if pooling == "avg":
        return layers.GlobalAveragePooling1D(name="mean_pool")(frames)
    if pooling == "max":
        return layers.GlobalMaxPooling1D(name="max_pool")(frames)
    return frames


def pooled_dense_backend(frames, classes, units=BACKEND_UNITS):
    """Max and mean over time, then a dense classifier.

    Args:
        frames: mid-end features `[batch, T, F]`.
        classes: number of sigmoid outputs.
        units: width of the penultimate dense layer.

    Returns:
        `probabilities` `[batch, classes]`.
    """
    max_pool = layers.GlobalMaxPooling1D(name="max_pool")(frames)
    mean_pool = layers.GlobalAveragePooling1D(name="mean_pool")(frames)
    return dense_backend(layers.Concatenate(name="pooled")([max_pool, mean_pool]), classes, units)


def dense_backend(pooled, classes, units=BACKEND_UNITS):
    """The back-end after pooling: batch norm, dropout, dense ReLU, batch norm, classifier.

    Args:
        pooled: pooled features `[batch, F]`.
        classes: number of sigmoid outputs.
        units: width of the penultimate dense layer.

    Returns:
        `probabilities` `[batch, classes]`.
    """
    x = layers.BatchNormalization(name="backend_bn")(pooled)
    x = layers.Dropout(0.5, name="backend_dropout")(x)
    x = layers.Dense(units, activation="relu", name="backend_dense")(x)
    x = layers.BatchNormalization(name="penultimate")(x)
    return classifier(x, classes, dropout=0.5)


def classifier(features, classes, dropout):
    """Dropout, dense logits and sigmoid: `[batch, F]` -> `probabilities` `[batch, classes]`."""
    x = layers.Dropout(dropout, name="logits_dropout")(features)
    x = layers.Dense(classes, name="logits")(x)
    return layers.Activation("sigmoid", name="probabilities")(x)


def conv_pool_block(x, index, filters, pool_size, strides=None):
    """3x3 convolution, ReLU, batch norm and max pooling, named `conv{i}`, `bn{i}`, `pool{i}`.

    Args:
        x: `[batch, T, M, C]`.
        index: block number used in the layer names.
        filters: convolution filters.
        pool_size: (time, mel) pooling window.
        strides: pooling strides (default: the window).

    Returns:
        `[batch, T', M', filters]`.
    """
    x = layers.Conv2D(filters, (3, 3), padding="same", activation="relu", name=f"conv{index}")(x)
    x = layers.BatchNormalization(name=f"bn{index}")(x)
    return layers.MaxPooling2D(pool_size, strides=strides, name=f"pool{index}")(x)


def spatial_pooling(maps, pooling):
    """Global pooling over time and mel for a headless 2-D model.

    Args:
        maps: `[batch, T, M, C]`.
        pooling: "avg", "max" or None.

    Returns:
        `[batch, C]`, or `maps` unchanged when pooling is None.
    """
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="mean_pool")(maps)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(maps)
    return maps

