"""One module per model family; `BUILDERS` maps each catalog name to its builder.

A builder takes (log-mel tensor `[batch, T, 96]`, classes, include_top,
pooling, **architecture options) and returns the output tensor.
"""

from zoo.models.architectures import crnn, multiscale, musicnn, vgg

BUILDERS = {
    "timbral": musicnn.timbral,
    "temporal": musicnn.temporal,
    "timbral_temporal": musicnn.timbral_temporal,
    "vgg": vgg.vgg,
    "crnn": crnn.crnn,
    "multiscale": multiscale.multiscale,
}
