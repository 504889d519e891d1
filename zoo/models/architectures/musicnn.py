"""The musicnn family: timbral and/or temporal branches, dense mid-end, pooled back-end.

Pons and Serra, "musicnn: pre-trained convolutional neural networks for music
audio tagging", ISMIR 2019 late-breaking demo. `timbral_temporal` is the
published design; `timbral` and `temporal` keep a single branch.
"""

from keras import layers

from zoo.models import blocks


def _musicnn(logmel, branches, classes, include_top, pooling):
    """Builds a musicnn-style network.

    Args:
        logmel: `[batch, T, 96]` tensor.
        branches: subset of ("timbral", "temporal"), in this order.
        classes: sigmoid outputs of the top.
        include_top: add the pooled dense back-end.
        pooling: for a headless model, "avg", "max" or None.

    Returns:
        `[batch, classes]` with the top; else `[batch, T, F]` or `[batch, F]` pooled.
    """
    x = blocks.normalized_input(logmel)
    features = []
    if "timbral" in branches:
        features.append(blocks.timbral_branch(x))
    if "temporal" in branches:
        features.append(blocks.temporal_branch(x))
    branch_features = layers.Concatenate(name="branches")(features) if len(features) > 1 else features[0]
    frames = blocks.midend(branch_features)
    if not include_top:
        return blocks.temporal_pooling(frames, pooling)
    return blocks.pooled_dense_backend(frames, classes)


def timbral_temporal(logmel, classes, include_top, pooling):
    """musicnn: timbral (7x38, 7x67) and temporal (128, 64, 32) branches."""
    return _musicnn(logmel, ("timbral", "temporal"), classes, include_top, pooling)


def timbral(logmel, classes, include_top, pooling):
    """musicnn with only the timbral (vertical-filter) branch."""
    return _musicnn(logmel, ("timbral",), classes, include_top, pooling)


def temporal(logmel, classes, include_top, pooling):
    """musicnn with only the temporal (horizontal-filter) branch."""
    return _musicnn(logmel, ("temporal",), classes, include_top, pooling)
