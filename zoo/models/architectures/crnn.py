"""CNN-RNN: convolutional blocks summarised by a recurrent back-end over time.

After Choi, Fazekas, Sandler and Cho, "Convolutional recurrent neural networks
for music classification", ICASSP 2017: four 3x3 convolutions (64, 128, 128,
128) with max pooling, then two GRU layers of 32 units. Pooling here halves
time at each block (16x in all, about 0.26 s a step) and reduces the 96 mel
bands to 1, so any input of 3 s or more gives a usable sequence.
"""

from keras import layers

from zoo.models import blocks

BLOCKS = ((64, (2, 2)), (128, (2, 3)), (128, (2, 4)), (128, (2, 4)))
GRU_UNITS = 32


def crnn(logmel, classes, include_top, pooling):
    """Builds the CNN-RNN.

    Args:
        logmel: `[batch, T, 96]` tensor, T >= 16.
        classes: sigmoid outputs of the top.
        include_top: add the two GRU layers and the classifier.
        pooling: for a headless model, "avg", "max" or None.

    Returns:
        `[batch, classes]` with the top; else `frame_features` `[batch, T/16, 128]` or pooled `[batch, 128]`.
    """
    x = blocks.normalized_input(logmel)
    for index, (filters, pool_size) in enumerate(BLOCKS, start=1):
        x = blocks.conv_pool_block(x, index, filters, pool_size)
    frames = layers.Reshape((-1, BLOCKS[-1][0]), name="frame_features")(x)
    if not include_top:
        return blocks.temporal_pooling(frames, pooling)
    x = layers.GRU(GRU_UNITS, return_sequences=True, name="gru1")(frames)
    x = layers.GRU(GRU_UNITS, name="gru2")(x)
    return blocks.classifier(x, classes, dropout=0.3)
