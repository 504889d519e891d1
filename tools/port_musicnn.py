"""Port the musicnn 0.1.0 checkpoints to zoo weight files and manifest entries.

Usage (from the repository root, inside the project's virtualenv):

    python tools/port_musicnn.py            # all four checkpoints
    python tools/port_musicnn.py MTT_vgg    # one of them

Fetches the wheel with `pip download --no-deps musicnn==0.1.0`, reads each
checkpoint without importing musicnn's code, maps every trained variable onto
the zoo model's layers by name and shape, and refuses to write anything if a
variable is left unused or a layer unset. It then validates the port against
the original graph, printing the model difference (same log-mel input) and the
front-end difference (zoo on-graph log-mel against librosa) separately, and
writes `weights/<model>.<tag>.weights.h5` plus the manifest entry (into
`$MUSICZOO_WEIGHTS_DIR` instead when that is set).
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiczoo_runtime.atomic import atomic_path  # noqa: E402
from musiczoo_runtime.contract import FRONTEND_CONFIG  # noqa: E402
from musiczoo_runtime.errors import ZooError  # noqa: E402
from zoo.models.loading import build  # noqa: E402
from zoo.models.weights import (  # noqa: E402
    WEIGHTS_ENV,
    file_fields,
    manifest,
    save_weights,
    weighted_layers,
    weights_dir,
)
from zoo.reference import musicnn as original  # noqa: E402
from zoo.signal.logmel import logmel_frontend  # noqa: E402

TARGETS = {
    "MTT_musicnn": ("timbral_temporal", "mtt"),
    "MSD_musicnn": ("timbral_temporal", "msd"),
    "MTT_vgg": ("vgg", "mtt"),
    "MSD_vgg": ("vgg", "msd"),
}

MUSICNN_LAYERS = {
    "batch_normalization": "input_bn",
    "conv2d": "timbral_7x38_conv",
    "batch_normalization_1": "timbral_7x38_bn",
    "conv2d_1": "timbral_7x67_conv",
    "batch_normalization_2": "timbral_7x67_bn",
    "conv2d_2": "temporal_128_conv",
    "batch_normalization_3": "temporal_128_bn",
    "conv2d_3": "temporal_64_conv",
    "batch_normalization_4": "temporal_64_bn",
    "conv2d_4": "temporal_32_conv",
    "batch_normalization_5": "temporal_32_bn",
    "conv2d_5": "cnn1_conv",
    "batch_normalization_6": "cnn1",
    "conv2d_6": "cnn2_conv",
    "batch_normalization_7": "cnn2_bn",
    "conv2d_7": "cnn3_conv",
    "batch_normalization_8": "cnn3_bn",
    "batch_normalization_9": "backend_bn",
    "dense": "backend_dense",
    "batch_normalization_10": "penultimate",
    "dense_1": "logits",
}

VGG_LAYERS = {"batch_normalization": "input_bn", "dense": "logits"}
for _i in range(1, 6):
    VGG_LAYERS[f"{_i}CNN"] = f"conv{_i}"
    VGG_LAYERS[f"batch_normalization_{_i}"] = f"bn{_i}"

# Pooling geometry read off each vgg checkpoint's .meta graph: (pool size, strides), time x mel.
# musicnn 0.1.0's own models.py builds the MTT geometry for both, so its MSD_vgg output
# differs from the trained graph; the zoo follows the graphs.
VGG_POOLS = {
    "MTT_vgg": [[[4, 1], [2, 2]], [[2, 2], [2, 2]], [[2, 2], [2, 2]], [[2, 2], [2, 2]], [[4, 4], [4, 4]]],
    "MSD_vgg": [[[4, 1], [4, 1]], [[1, 4], [1, 4]], [[2, 2], [2, 2]], [[2, 2], [2, 2]], [[4, 4], [4, 4]]],
}

METRICS = {
    "MTT_musicnn": (0.9066769123674747, 0.38310571748763617),
    "MSD_musicnn": (0.8801927178090048, 0.28906431196994925),
    "MTT_vgg": (0.9030268990308291, 0.382267685217377),
    "MSD_vgg": (0.8767615259520635, 0.28192480359001065),
}

TRAINING_DATA = {
    "mtt": "MagnaTagATune: about 26k clips of about 29 s, the 50 most frequent tags; "
           "train / validation / test split of the musicnn-training index files (Pons and Serra).",
    "msd": "Million Song Dataset: about 200k 30 s previews with their 50 most frequent Last.fm tags; "
           "train / validation / test split of the musicnn-training index files (Pons and Serra).",
}

PROTOCOL = ("macro-averaged ROC-AUC and PR-AUC over the 50 tags on the {dataset} test set, each clip "
            "scored by the mean of its 3 s patch predictions; values as shipped in experiment.result "
            "of musicnn 0.1.0 (reported, not re-measured here: the test audio is not available offline)")


def _pooled_order(values, features):
    """Original back-end flattens [features, (max, mean)] interleaved; zoo concatenates [max..., mean...]."""
    return values.reshape(features, 2, *values.shape[1:]).swapaxes(0, 1).reshape(values.shape)


def architecture(checkpoint):
    """Builder options a checkpoint needs beyond the catalog defaults."""
    return {"pools": VGG_POOLS[checkpoint]} if checkpoint in VGG_POOLS else {}


def transform(checkpoint_layer, variable, value):
    """Converts one checkpoint variable to the zoo layer's layout."""
    if checkpoint_layer in ("conv2d_5", "conv2d_6", "conv2d_7") and variable == "kernel":
        return value[:, :, 0, :]  # a (7 x all features) 2-D conv is a 1-D conv over time
    if checkpoint_layer == "batch_normalization_9" or (checkpoint_layer == "dense" and variable == "kernel"
                                                       and value.shape[0] == 1506):
        return _pooled_order(value, value.shape[0] // 2)
    return value


def port(checkpoint):
    """Builds the zoo model of `checkpoint` and fills it; returns (model, tag)."""
    name, tag = TARGETS[checkpoint]
    table = MUSICNN_LAYERS if name == "timbral_temporal" else VGG_LAYERS
    values = original.read_checkpoint(checkpoint)
    model = build(name, classes=50, include_frontend=False, **architecture(checkpoint))
    unused = set(values)
    for layer in weighted_layers(model):
        sources = [k for k, v in table.items() if v == layer.name]
        if len(sources) != 1:
            raise ZooError(f"{checkpoint}: no checkpoint layer maps onto zoo layer {layer.name!r}")
        new = []
        for variable in layer.weights:
            key = f"{sources[0]}/{variable.name}"
            if key not in values:
                raise ZooError(f"{checkpoint}: zoo variable {layer.name}/{variable.name} has no source {key}")
            value = transform(sources[0], variable.name, values[key])
            if tuple(value.shape) != tuple(variable.shape):
                raise ZooError(f"{checkpoint}: {key} has shape {value.shape}, {layer.name} needs {variable.shape}")
            new.append(value)
            unused.discard(key)
        layer.set_weights(new)
    if unused:
        raise ZooError(f"{checkpoint}: checkpoint variables left unused: {sorted(unused)}")
    return model, tag


def validation_audio():
    """Real and synthesized 16 kHz audio for the port's self-check: {name: waveform}."""
    import librosa

    rng = np.random.default_rng(7)
    t = np.arange(16000 * 12) / 16000
    audio = {
        "noise": (0.1 * rng.standard_normal(t.size)).astype(np.float32),
        "sweep": (0.5 * np.sin(2 * np.pi * (60 * t + 300 * t ** 2))).astype(np.float32),
        "chords": (0.2 * sum(np.sin(2 * np.pi * f * t) for f in (220, 277, 330, 440))).astype(np.float32),
    }
    example = ROOT / "examples" / "traveling_minstrels.ogg"
    if example.exists():
        audio["example"] = librosa.load(example, sr=16000)[0]
    return audio


def validate(checkpoint, model):
    """Prints the model and front-end differences against the original; returns the model difference."""
    reference = original.OriginalGraph(checkpoint)
    fe = logmel_frontend()
    model_diff = frontend_diff = 0.0
    for name, audio in validation_audio().items():
        patches = original.original_patches(original.librosa_logmel(audio))
        ours = fe.predict(audio[None], verbose=0)[0][: len(patches) * 187]
        frontend_diff = max(frontend_diff, float(np.abs(ours - np.concatenate(patches)).max()))
        diff = float(np.abs(model.predict(patches, verbose=0) - reference(patches)).max())
        model_diff = max(model_diff, diff)
        print(f"  {name:8s} {len(patches)} patches: model max |diff| {diff:.2e}")
    print(f"  model difference (same log-mel input): {model_diff:.2e}")
    print(f"  front-end difference (zoo log-mel vs librosa): {frontend_diff:.2e}")
    return model_diff


def manifest_entry(checkpoint, tag, path):
    """The manifest entry describing a ported weight file."""
    name, _ = TARGETS[checkpoint]
    roc, pr = METRICS[checkpoint]
    dataset = "MagnaTagATune" if tag == "mtt" else "Million Song Dataset"
    return {
        **file_fields(path),
        "tag_space": tag,
        "kind": "ported",
        "source": {
            "package": original.PACKAGE,
            "version": original.VERSION,
            "checkpoint": checkpoint,
            "url": f"https://pypi.org/project/{original.PACKAGE}/{original.VERSION}/",
            "wheel_sha256": original.WHEEL_SHA256,
            "converted_by": "tools/port_musicnn.py",
        },
        "license": {
            "name": "ISC",
            "file": "LICENSES/musicnn-ISC.txt",
            "attribution": "Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. "
                           "Code developed by Jordi Pons (www.jordipons.me). Weights from the musicnn "
                           "0.1.0 package, converted to Keras by musiczoo.",
        },
        "training_data": TRAINING_DATA[tag],
        "metrics": {
            "roc_auc": round(roc, 4),
            "pr_auc": round(pr, 4),
            "roc_auc_reported": roc,
            "pr_auc_reported": pr,
            "protocol": PROTOCOL.format(dataset=dataset),
        },
        "frontend": dict(FRONTEND_CONFIG),
        **({"architecture": architecture(checkpoint)} if architecture(checkpoint) else {}),
        "description": f"{checkpoint} of musicnn {original.VERSION}, ported to the zoo's {name}.",
    }


def write_manifest(entries):
    """Adds `{(model, tag): entry}` to the manifest, atomically."""
    path = weights_dir() / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for (name, tag), entry in entries.items():
        data["models"][name]["weights"][tag] = entry
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    manifest.cache_clear()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="*", metavar="CHECKPOINT",
                        help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="largest model difference accepted")
    args = parser.parse_args(argv)
    if not os.environ.get(WEIGHTS_ENV):  # this checkout's weights/, never an installed copy of musiczoo
        os.environ[WEIGHTS_ENV] = str(ROOT / "weights")
        manifest.cache_clear()
    unknown = sorted(set(args.checkpoints) - set(TARGETS))
    if unknown:
        parser.error(f"unknown checkpoint(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if original.tag_lists() != {k: v["tags"] for k, v in manifest()["tag_spaces"].items()}:
        raise ZooError("the manifest's tag lists differ from musicnn's configuration.py")
    ported = {}
    for checkpoint in args.checkpoints or TARGETS:
        print(f"{checkpoint}:")
        model, tag = port(checkpoint)
        difference = validate(checkpoint, model)
        if difference > args.tolerance:
            raise ZooError(f"{checkpoint}: port differs from the original by {difference:.2e}; nothing written")
        ported[checkpoint] = (model, tag)
    entries = {}
    for checkpoint, (model, tag) in ported.items():
        name = TARGETS[checkpoint][0]
        path = weights_dir() / f"{name}.{tag}.weights.h5"
        save_weights(model, path)
        entries[(name, tag)] = manifest_entry(checkpoint, tag, path)
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    write_manifest(entries)


if __name__ == "__main__":
    main()
