"""Probes on frozen clip embeddings: labelled clips (with optional groups), cross-validation folds, scores.

The protocol (`PROBES`, `folds`, `cross_validate`): features standardised on each training fold; a logistic
regression and a one-hidden-layer MLP; stratified k-fold cross-validation (StratifiedGroupKFold when groups,
e.g. artists, are given, so that no group is on both sides of a fold), shuffled with a fixed seed.
"""

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from musiczoo_runtime.errors import ZooError
from zoo.training.datasets import read_dataset

GROUP_COLUMNS = ("group", "artist")
PROBES = {
    "logistic": {"kind": "LogisticRegression", "C": 1.0, "max_iter": 2000},
    "mlp": {"kind": "MLPClassifier", "hidden_layer_sizes": [256], "alpha": 1e-2, "max_iter": 300},
}


class Clips(NamedTuple):
    """Single-label clips to probe.

    Attributes:
        paths: list of Path.
        labels: list of str, one per clip.
        groups: list of str (one per clip) or None.
        layout: the layout they were read as.
    """

    paths: list
    labels: list
    groups: list
    layout: str


def _grouped_csv(path):
    """(Clips or None): a CSV whose header names `path`, `label` and a group column, else None."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        group = next((name for name in GROUP_COLUMNS if name in header), None)
        if group is None or "label" not in header or not ({"path", "file"} & set(header)):
            return None
        column = {name.strip().lower(): name for name in reader.fieldnames}
        where = column["path"] if "path" in column else column["file"]
        paths, labels, groups, missing = [], [], [], []
        for number, row in enumerate(reader, start=2):
            cell = (row[where] or "").strip()
            if not cell or cell.startswith("#"):
                continue
            label, owner = (row[column["label"]] or "").strip(), (row[column[group]] or "").strip()
            if not label:
                raise ZooError(f"{path} line {number}: {cell!r} has no label")
            audio = Path(cell) if Path(cell).is_absolute() else path.parent / cell
            if not audio.is_file():
                missing.append(f"line {number}: {cell}")
                continue
            paths.append(audio)
            labels.append(label)
            groups.append(owner or f"{audio} (no {group})")
    if missing:
        raise ZooError(f"{path}: {len(missing)} listed file(s) do not exist ({'; '.join(missing[:5])}); "
                       f"relative paths are resolved against {path.parent}")
    if not paths:
        raise ZooError(f"{path}: no rows of path,label,{group}")
    return Clips(paths, labels, groups, "csv")


def read_clips(data, layout="auto"):
    """Labelled clips from any layout `musiczoo finetune` reads, or a CSV with a header `path,label,group`.

    A CSV whose header has a `group` (or `artist`) column keeps each clip's group: folds then never split a
    group. Every clip must have exactly one label.

    Raises:
        ZooError: unreadable data, or a clip with several labels.
    """
    if Path(data).suffix.lower() == ".csv" and layout in ("auto", "csv") and Path(data).is_file():
        grouped = _grouped_csv(Path(data))
        if grouped is not None:
            return grouped
    dataset = read_dataset(data, layout)
    several = [str(path) for path, labels in dataset.items if len(labels) != 1]
    if several:
        raise ZooError(f"{data}: probes take one label per clip, but {len(several)} clip(s) have several "
                       f"(first: {several[0]})")
    return Clips([path for path, _ in dataset.items], [labels[0] for _, labels in dataset.items], None,
                 dataset.layout)


def folds(labels, groups, n_folds, seed):
    """Stratified (and grouped when `groups` is given) folds, shuffled by `seed`.

    Returns:
        list of (training indices, test indices).

    Raises:
        ZooError: a class with fewer clips (or groups) than folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ZooError(f"probes need at least two classes, found {len(classes)} ({', '.join(classes)})")
    if groups is None:
        small = [f"{c} ({n})" for c, n in zip(classes, counts) if n < n_folds]
        if small:
            raise ZooError(f"{n_folds} folds need at least {n_folds} clips per class; too few in "
                           f"{', '.join(small)}: add clips, drop the class, or lower --folds")
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels))
    groups = np.asarray(groups)
    if len(np.unique(groups)) < n_folds:
        raise ZooError(f"{n_folds} folds need at least {n_folds} groups, found {len(np.unique(groups))}")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels, groups))


def probe(name, seed):
    """An unfitted scikit-learn pipeline: standardisation then the probe `name` of `PROBES`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    options = {key: value for key, value in PROBES[name].items() if key != "kind"}
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(**options))
    options["hidden_layer_sizes"] = tuple(options["hidden_layer_sizes"])
    return make_pipeline(StandardScaler(), MLPClassifier(random_state=seed, **options))


def mean_and_half_width(values):
    """Mean and half-width of the 95% Student t interval of per-fold values (any sign)."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def interval(values):
    """Mean and 95% interval (Student t over the folds, clipped to [0, 1]) of per-fold scores in [0, 1].

    Returns:
        {mean, low, high, folds}.
    """
    mean, half = mean_and_half_width(values)
    return {"mean": mean, "low": max(0.0, mean - half), "high": min(1.0, mean + half),
            "folds": [float(v) for v in values]}


def cross_validate(features, labels, splits, seed):
    """Every probe of `PROBES` over the same folds.

    Args:
        features: `[clips, dim]`.
        labels: `[clips]` class names.
        splits: list of (training indices, test indices).
        seed: the MLP's initialisation and early-stopping split.

    Returns:
        probe name -> {accuracy, macro_f1: intervals; per_class_f1: class -> mean over folds;
        confusion: `[true, predicted]` counts of the out-of-fold predictions, rows in sorted class order}.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = np.asarray(labels)
    classes = sorted(set(labels))
    results = {}
    for name in PROBES:
        accuracy, macro, per_class = [], [], []
        confusion = np.zeros((len(classes), len(classes)), dtype=int)
        for train, test in splits:
            predicted = probe(name, seed).fit(features[train], labels[train]).predict(features[test])
            accuracy.append(accuracy_score(labels[test], predicted))
            macro.append(f1_score(labels[test], predicted, labels=classes, average="macro", zero_division=0))
            per_class.append(f1_score(labels[test], predicted, labels=classes, average=None, zero_division=0))
            confusion += confusion_matrix(labels[test], predicted, labels=classes)
        results[name] = {
            "accuracy": interval(accuracy), "macro_f1": interval(macro),
            "per_class_f1": dict(zip(classes, map(float, np.mean(per_class, axis=0)))),
            "confusion": confusion.tolist(),
        }
    return results
