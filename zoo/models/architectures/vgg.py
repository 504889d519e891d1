"""Square 3x3 filters, as in computer vision: the baseline musicnn was compared with.

Five 3x3 convolutions of 128 filters with batch norm and max pooling, then a
dense layer on the flattened 2x1x128 map (so the top needs 187-frame patches).
"""

from keras import layers

from zoo.models import blocks

FILTERS = 128
# (pool size, strides) of the five max poolings, time x mel. MTT_vgg's graph uses
# these; MSD_vgg's graph pools 4x1 then 1x4 first (its weight card says so).
POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))


def vgg(logmel, classes, include_top, pooling, pools=POOLS):
    """Builds the VGG-like baseline.

    Args:
        logmel: `[batch, T, 96]` tensor (T = 187 with the top).
        classes: sigmoid outputs of the top.
        include_top: add the flatten + dense classifier.
        pooling: for a headless model, "avg", "max" or None.
        pools: five (pool size, strides) pairs, time x mel.

    Returns:
        `[batch, classes]` with the top; else `pool5` `[batch, T', M', 128]` or pooled `[batch, 128]`.
    """
    x = blocks.normalized_input(logmel)
    for index, (pool_size, strides) in enumerate(pools, start=1):
        if index > 1:
            x = layers.Dropout(0.25, name=f"dropout{index - 1}")(x)
        x = blocks.conv_pool_block(x, index, FILTERS, tuple(pool_size), tuple(strides))
    if not include_top:
        return blocks.spatial_pooling(x, pooling)
    x = layers.Flatten(name="flatten")(x)
    return blocks.classifier(x, classes, dropout=0.5)
