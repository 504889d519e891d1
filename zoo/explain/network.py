"""The network to look inside: a catalog model or a fine-tuned folder, on log-mel patches, with its layers.

Every explain function starts here. `open_network` gives the Keras model on
log-mel patches `[batch, 187, 96]` whose layers keep their catalog names
(`timbral_7x38_conv`, `temporal`, `cnn3`, `conv1`, ...), together with the
names of its outputs, so that layer names are checked once, with a message
listing the layers that exist.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np

from musiczoo_runtime.choices import FILTER_KINDS
from musiczoo_runtime.contract import PATCH_SECONDS
from musiczoo_runtime.errors import ZooError
from zoo.inference.runtimes import patch_function
from zoo.models.catalog import card
from zoo.models.loading import load


@dataclass(frozen=True)
class Network:
    """A model opened for explanation.

    Attributes:
        name: catalog name, or the fine-tuned model's folder.
        weights: weight tag or file, None for random initialisation (a fine-tuned model: its backbone's weights).
        keras_model: functional model on log-mel `[batch, 187, 96]` -> probabilities `[batch, tags]`.
        tags: output names (tags, or a fine-tuned model's labels).
        feature_layers: the catalog's named feature layers this network has, in card order.
        catalog_name: the architecture's catalog name (a fine-tuned model's backbone).
    """

    name: str
    weights: object
    keras_model: object
    tags: tuple
    feature_layers: tuple
    catalog_name: str

    def explainable_layers(self):
        """Layer names the explain functions accept: the card's feature layers, then every convolution."""
        convolutions = [layer.name for layer in self.keras_model.layers
                        if isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D)]
        return list(self.feature_layers) + [name for name in convolutions if name not in self.feature_layers]

    def check_layers(self, layers):
        """Returns `layers` as a list of names after checking each exists.

        Raises:
            ZooError: an unknown name, listing the layers that exist.
        """
        if isinstance(layers, str):
            layers = [layers]
        layers = list(layers)
        known = self.explainable_layers()
        for name in layers:
            if name not in known:
                raise ZooError(f"{self.name} has no layer {name!r}; layers you can look at: {', '.join(known)}")
        if not layers:
            raise ZooError(f"name at least one layer of {self.name}: {', '.join(known)}")
        return layers

    def function(self, layers):
        """A tf.function `[batch, 187, 96]` -> [each layer's output..., probabilities], as float32 arrays."""
        model = self.keras_model
        outputs = [model.get_layer(name).output for name in layers] + [model.output]
        return patch_function(keras.Model(model.input, outputs))

    def first_layer_filters(self):
        """The convolutions applied to the spectrogram itself: layer name -> (kind, kernel `[time, mel, units]`).

        A first-layer convolution has one input channel (the log-mel patch). Its kind
        follows its kernel: one mel band tall is "temporal" (horizontal), a kernel
        taller than long is "timbral" (vertical), and otherwise it is "square".
        """
        found = {}
        for layer in self.keras_model.layers:
            if isinstance(layer, keras.layers.Conv2D) and layer.kernel.shape[2] == 1:
                kernel = np.asarray(layer.kernel.numpy())[:, :, 0, :]
                found[layer.name] = (filter_kind(kernel.shape[:2]), kernel)
        return found


def filter_kind(shape):
    """"temporal", "timbral" or "square" for a first-layer kernel of (time, mel) `shape`."""
    time, mel = shape
    if mel == 1 and time > 1:
        return "temporal"
    return "timbral" if mel > time else "square"


def _catalog_network(model, weights):
    info = card(model, weights)
    network = load(model, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    tags = info.tags or tuple(f"output {i}" for i in range(network.output.shape[-1]))
    return Network(model, weights, network, tuple(tags), tuple(info.feature_layers), model)


def _finetuned_network(folder):
    folder = Path(folder)
    if not (folder / "model.keras").is_file() or not (folder / "labels.json").is_file():
        raise ZooError(f"{folder}: not a fine-tuned model folder (model.keras and labels.json expected)")
    info = json.loads((folder / "labels.json").read_text())
    saved = keras.saving.load_model(folder / "model.keras")
    backbone, head = saved.get_layer("backbone"), saved.get_layer("head")
    network = keras.Model(backbone.input, head(backbone.output))  # one flat graph: backbone layers keep their names
    layers = {layer.name for layer in network.layers}
    features = tuple(name for name in card(info["model"], None).feature_layers if name in layers)
    return Network(str(folder), info.get("weights"), network, tuple(info["labels"]), features, info["model"])


@lru_cache(maxsize=4)
def _open(model, weights):
    if Path(str(model)).is_dir():
        return _finetuned_network(model)
    return _catalog_network(model, weights)


def open_network(model, weights):
    """Opens a catalog model (with `weights`: a tag, a `.weights.h5` file or None) or a fine-tuned folder.

    Args:
        model: catalog name, or a folder written by `musiczoo finetune` (its `weights` are its own).
        weights: weight tag, weight file or None (random initialisation); ignored for a folder.

    Returns:
        Network (cached: opening the same model twice builds it once).

    Raises:
        ZooError: unknown model, missing weights, or a folder that is not a fine-tuned model.
    """
    return _open(str(model) if isinstance(model, Path) else model, None if weights is None else str(weights))


def require_filters(network, kind=None, layers=None):
    """The first-layer filters of `network`, narrowed to a `kind` and/or named `layers`.

    Returns:
        dict layer name -> (kind, kernel `[time, mel, units]`), in the network's layer order.

    Raises:
        ZooError: an unknown kind, a model without that kind of filter, or a layer that is not a
            first-layer convolution (listing those that are).
    """
    found = network.first_layer_filters()
    if kind is not None:
        if kind not in FILTER_KINDS:
            raise ZooError(f"filter kind must be one of {', '.join(FILTER_KINDS)}, not {kind!r}")
        have = sorted({k for k, _ in found.values()})
        found = {name: value for name, value in found.items() if value[0] == kind}
        if not found:
            raise ZooError(f"{network.name} has no {kind} filters: its first-layer filters are "
                           f"{', '.join(have) or 'none'} ({', '.join(network.first_layer_filters())})")
    if layers:
        unknown = [name for name in layers if name not in found]
        if unknown:
            raise ZooError(f"{unknown[0]!r} is not a first-layer filter layer of {network.name}"
                           f"{f' of kind {kind}' if kind else ''}; choose from {', '.join(found)}")
        found = {name: found[name] for name in layers}
    return found
