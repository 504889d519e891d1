"""Scikit-learn on musiczoo embeddings: one vector per file, logistic regression, cross-validation.

Each file of a labeled collection (any layout `zoo.training.datasets` reads: GTZAN, Ballroom,
IRMAS, one folder per class, or a CSV of path,label) becomes the mean over its 3 s
patches of a pretrained feature layer (`penultimate` [200] or `max_pool` / `mean_pool`
[753] for timbral_temporal), exactly what `musiczoo features` writes. A standardised
logistic regression is then scored with stratified k-fold cross-validation.

    python examples/sklearn_embeddings.py path/to/genres --layer penultimate --folds 5

Needs scikit-learn (a musiczoo dependency). Files that cannot be decoded are reported and left out.
"""

import argparse
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import zoo
from zoo.training.datasets import read_dataset


def embeddings(paths, model="timbral_temporal", weights="mtt", layer="penultimate"):
    """Mean over patches of one feature layer per file.

    Args:
        paths: audio files.
        model, weights: the pretrained network.
        layer: a patch-level feature layer of the model's card.

    Returns:
        (`[files, dim]` array, indices of the files that decoded).
    """
    vectors, kept = [], []
    for index, (path, result) in enumerate(zoo.extract_many(paths, model=model, weights=weights, layers=[layer])):
        if isinstance(result, zoo.ZooError):
            print(f"skipped: {result}", file=sys.stderr)
            continue
        vectors.append(result[layer].mean(axis=0))
        kept.append(index)
    return np.stack(vectors), kept


def evaluate(data, model="timbral_temporal", weights="mtt", layer="penultimate", folds=5, seed=0):
    """Cross-validated accuracy of a logistic regression on the embeddings of a single-label collection.

    Returns:
        accuracy per fold `[folds]`.
    """
    dataset = read_dataset(data)
    if any(len(labels) != 1 for _, labels in dataset.items):
        raise zoo.ZooError("this example classifies single-label collections; some files have several labels")
    features, kept = embeddings([path for path, _ in dataset.items], model, weights, layer)
    labels = np.array([dataset.items[i][1][0] for i in kept])
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_score(classifier, features, labels, cv=splits, scoring="accuracy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="dataset folder or CSV file")
    parser.add_argument("--model", default="timbral_temporal")
    parser.add_argument("--weights", default="mtt")
    parser.add_argument("--layer", default="penultimate", help="penultimate, max_pool or mean_pool")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    scores = evaluate(args.data, args.model, args.weights, args.layer, args.folds)
    print(f"{args.layer} + logistic regression: accuracy {scores.mean():.3f} ± {scores.std():.3f} "
          f"({args.folds}-fold cross-validation)")
    return scores


if __name__ == "__main__":
    main()
