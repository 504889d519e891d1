"""The catalog: typed model specs and weight cards read from the weight manifest.

Everything descriptive (tags, sources, licenses, metrics, feature layers)
lives in `weights/manifest.json`; the builders are registered in code
(`zoo.models.architectures.BUILDERS`). `ModelSpec` describes an
architecture, `WeightsCard` one set of its weights (or the architecture
alone, with `weights=None`).
"""

import copy
import dataclasses
import difflib
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.contract import DEFAULT_WEIGHTS, FRONTEND_CONFIG, PATCH_SECONDS, SAMPLE_RATE
from musiczoo_runtime.errors import ZooError
from zoo.models.weights import manifest, sha256_of, verify_file, weights_dir


@dataclass(frozen=True)
class ModelSpec:
    """One architecture of the catalog.

    Attributes:
        name: catalog name.
        description: one line on what it is.
        family: "musicnn", "vgg" or "crnn" (fine-tuning blocks and layer layout follow the family).
        citation: the paper it follows.
        params: parameter count of the model with its top (checked against the built model by a test).
        min_seconds: shortest input it takes.
        fixed_seconds: the one input length its top takes, or None for any length.
        feature_layers: layer name -> feature dimension.
        frame_layers: frame-level feature layers -> input frames per output step.
        cost: `trainable_params` and `gflop_per_patch` (multiply and add = 2 FLOPs, one 3 s patch,
            counted from layer shapes as benchmarks/efficiency.py counts them; checked by a test).
        weights: tags of its pretrained weights.
    """

    name: str
    description: str
    family: str
    citation: str
    params: int
    min_seconds: float
    fixed_seconds: float
    feature_layers: dict
    frame_layers: dict
    cost: dict
    weights: tuple


@dataclass(frozen=True)
class WeightsCard:
    """The model card of a catalog model with one set of weights (or none).

    Attributes:
        name, description, family, citation, params, feature_layers, frame_layers: as in `ModelSpec`.
        cost: the architecture's cost (`ModelSpec.cost`) with, for distilled weights, the measured
            `params` (all variables), `patches_per_second` and `relative_speed_vs_teacher`.
        weights: the weight tag, or None for the architecture alone.
        available_weights: every weight tag the model has.
        tags: label names in output order (None without weights).
        tag_space_description: what the tag space is.
        sample_rate, input_seconds, min_seconds, frontend: the input contract.
        file, sha256, size: the weight file.
        kind: "ported" or "distilled".
        source, license, training_data, metrics: provenance and published metrics with their protocol.
        extra: the rest of the manifest entry (teacher, corpus, training, architecture options).
    """

    name: str
    description: str
    family: str
    citation: str
    params: int
    sample_rate: int
    input_seconds: float
    min_seconds: float
    frontend: dict
    feature_layers: dict
    frame_layers: dict
    cost: dict
    weights: str = None
    available_weights: tuple = ()
    tags: tuple = None
    tag_space_description: str = None
    file: str = None
    sha256: str = None
    size: int = None
    kind: str = None
    source: dict = None
    license: dict = None
    training_data: str = None
    metrics: dict = None
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        """The card as plain JSON-ready data (the `extra` fields at the top level)."""
        data = dataclasses.asdict(self)
        data.update(data.pop("extra"))
        for key in ("tags", "available_weights"):
            data[key] = None if data[key] is None else list(data[key])
        return data

    def __getitem__(self, key):
        """`card["metrics"]`: dictionary-style access to any field, as earlier versions returned a dict."""
        try:
            return self.to_dict()[key]
        except KeyError:
            raise KeyError(f"the card of {self.name} has no field {key!r}") from None


def tag_spaces():
    """Tag space name -> its entry (dataset, description, tags)."""
    return manifest()["tag_spaces"]


def _entry(name):
    models = manifest()["models"]
    if name not in models:
        close = difflib.get_close_matches(str(name), list(models), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ZooError(f"unknown model {name!r}.{hint} Available models: {', '.join(models)}")
    return models[name]


def spec(name):
    """The `ModelSpec` of a catalog model.

    Raises:
        ZooError: unknown name (with a close-match suggestion).
    """
    entry = _entry(name)
    fields = {f.name for f in dataclasses.fields(ModelSpec)} - {"name", "weights"}
    return ModelSpec(name=name, weights=tuple(entry["weights"]), **{key: copy.deepcopy(entry[key]) for key in fields})


def list_models(pattern="*", pretrained=None):
    """Names of the catalog's models, in catalog order.

    Args:
        pattern: shell-style name pattern, e.g. "timbral*".
        pretrained: None for every model, True for those with any pretrained
            weights, or a weight tag ("mtt", "msd") for those with that one.
    """
    names = [name for name in manifest()["models"] if fnmatch.fnmatchcase(name, pattern)]
    if pretrained is None:
        return names
    if pretrained is True:
        return [name for name in names if manifest()["models"][name]["weights"]]
    if not isinstance(pretrained, str) or pretrained not in tag_spaces():
        raise ZooError(f"pretrained must be None, True or a weight tag ({', '.join(tag_spaces())}), "
                       f"not {pretrained!r}")
    return [name for name in names if pretrained in manifest()["models"][name]["weights"]]


def weights_entry(name, weights):
    """The manifest entry of pretrained `weights` for model `name`.

    Raises:
        ZooError: the tag is unknown, or known but has no weight file yet.
    """
    available = _entry(name)["weights"]
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


def shipped_tag(name, weights):
    """The weight tag that `weights` stands for: a tag or None as given, a weight file by its content.

    A `.h5` file is accepted when it is (byte for byte: same size and sha256) one of the weight files
    shipped for model `name`, whose tag then gives its tag list. Any other weight file has no tag list,
    so taggers cannot name its outputs: `zoo.load(name, weights=FILE)` loads it.

    Raises:
        ZooError: a missing file, or one that is not a shipped weight file of `name`.
    """
    if not checks.is_weight_file(weights):
        return weights
    path = Path(weights)
    if not path.is_file():
        raise ZooError(f"weight file {path} does not exist (or is not a file)")
    size, digest = path.stat().st_size, None
    for tag, entry in _entry(name)["weights"].items():
        if entry.get("size") in (None, size):
            digest = digest or sha256_of(path)
            if digest == entry["sha256"]:
                return tag
    shipped = ", ".join(f"{entry['file']} ({tag})" for tag, entry in _entry(name)["weights"].items()) or "none"
    raise ZooError(f"weight file {path} is not one of the weight files shipped for {name!r} ({shipped}): a weight "
                   "file of your own carries no tag list, so outputs could not be named. Give a shipped file or "
                   f"its tag, or load your weights with zoo.load({name!r}, weights={str(path)!r})")


def weights_file(name, weights):
    """Resolves `weights` (tag or `.h5` path) to (verified path, tag list or None, architecture options)."""
    if checks.is_weight_file(weights):
        path = Path(weights)
        if not path.exists():
            raise ZooError(f"weight file {path} does not exist")
        return path, None, {}
    entry = weights_entry(name, weights)
    path = weights_dir() / entry["file"]
    verify_file(path, entry["sha256"], entry.get("size"))
    return path, tag_spaces()[entry["tag_space"]]["tags"], entry.get("architecture", {})


def card(name, weights=DEFAULT_WEIGHTS):
    """The model card of `name` with `weights` (a tag, or None for the architecture alone).

    Returns:
        WeightsCard (`.to_dict()` for JSON; `card["tags"]` also works).
    """
    model = spec(name)
    common = {
        "name": name, "description": model.description, "family": model.family, "citation": model.citation,
        "params": model.params, "sample_rate": SAMPLE_RATE, "input_seconds": model.fixed_seconds or PATCH_SECONDS,
        "min_seconds": model.min_seconds, "frontend": dict(FRONTEND_CONFIG),
        "feature_layers": dict(model.feature_layers), "frame_layers": dict(model.frame_layers),
        "cost": dict(model.cost), "weights": weights, "available_weights": model.weights,
    }
    if weights is None:
        return WeightsCard(**common)
    info = copy.deepcopy(weights_entry(name, weights))
    common["cost"].update(info.pop("cost", {}))
    space = tag_spaces()[info["tag_space"]]
    own = {key: info.pop(key, None) for key in ("file", "sha256", "size", "kind", "source", "license",
                                                "training_data", "metrics")}
    info.pop("frontend", None)
    info.pop("description", None)
    return WeightsCard(**common, **own, tags=tuple(space["tags"]), tag_space_description=space["description"],
                       extra=info)


def decode_predictions(probabilities, weights=DEFAULT_WEIGHTS, top=5):
    """Names the most probable tags of raw model outputs, like keras.applications' function of that name.

    Args:
        probabilities: `[tags]` or `[batch, tags]` outputs of a model with the top.
        weights: the weight tag whose tag space the outputs follow ("mtt" or "msd").
        top: tags per row.

    Returns:
        list (one per row) of lists of (tag, probability), most probable first.
    """
    if weights not in tag_spaces():
        raise ZooError(f"weights must be a tag space ({', '.join(tag_spaces())}), not {weights!r}")
    tags = tag_spaces()[weights]["tags"]
    rows = np.asarray(probabilities, dtype=np.float64)
    rows = rows[None] if rows.ndim == 1 else rows
    if rows.ndim != 2 or rows.shape[1] != len(tags):
        raise ZooError(f"decode_predictions takes [{len(tags)}] or [batch, {len(tags)}] outputs for {weights!r} "
                       f"weights, got shape {np.shape(probabilities)}")
    checks.positive_integer(top, "top")
    order = np.argsort(-rows, axis=1, kind="stable")[:, :top]
    return [[(tags[j], float(row[j])) for j in columns] for row, columns in zip(rows, order)]
