"""Timbral against temporal: each branch's share of every tag's logit, in models whose branches are concatenated.

musicnn concatenates its timbral and temporal branch outputs (layer `branches`,
`[187, 408 + 153]`) before the mid-end; everything after depends on the
branches only through that tensor, so a tag's logit can be split between them:

- **Integrated gradients at the concatenation**: from a baseline b0 to the
  recording's branch features b, branch k's share is the integral over the
  straight path of the logit's derivative along (b - b0) restricted to branch
  k's channels: a Jacobian-vector product, so one forward-mode pass gives the
  share of every tag at once. The shares sum to logit(b) - logit(b0) (the
  adaptive grid of `zoo.explain.path_integral` is refined until that holds
  within `tolerance` for every tag and patch; the remaining gap is reported).
- **Ablation**: logit(b) minus the logit with branch k's output replaced by its
  mean over a reference set, at every frame.

Baseline and reference are the same: each branch channel's mean. By default
it is the mean over the weights' own training data, which the model ships:
the back-end batch norm (`backend_bn`) normalises the time-pooled mid-end
output, whose mean-pooled half starts with the branch features, so its moving
mean there is each branch channel's mean over the training frames. Pass
reference recordings to use their mean instead.
"""

from dataclasses import dataclass, field
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from musiczoo_runtime.choices import EXACT_MAX_POINTS
from musiczoo_runtime.contract import DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH, DEFAULT_MODEL, DEFAULT_WEIGHTS
from musiczoo_runtime.errors import ZooError
from zoo.explain.attribution import tag_index
from zoo.explain.network import open_network
from zoo.explain.path_integral import integrate_path
from zoo.explain.recording import read_patches_many

CONCATENATION = "branches"
CHUNK = 16  # path points per forward-mode pass


@dataclass
class BranchAttribution:
    """Each branch's share of each tag's logit over one recording (or a collection, see `aggregate`).

    Attributes:
        label: the file (or "N recordings").
        model, weights: the network.
        tags: tag names `[tags]`; branches: branch names `[branches]`.
        times: start of each patch in seconds `[patches]`.
        logits: the tags' logits `[patches, tags]`; baseline_logits: at the baseline `[tags]`.
        integrated: integrated-gradients shares `[patches, branches, tags]`.
        ablation: logit drop with each branch at its reference mean `[patches, branches, tags]`.
        gaps: completeness gap, shares' sum minus (logit - baseline logit) `[patches, tags]`.
        reference: what the baseline / ablation mean is ("training data" or the reference files).
        details: path evaluations used per patch and tolerance.
    """

    label: str
    model: str
    weights: object
    tags: tuple
    branches: tuple
    times: np.ndarray
    logits: np.ndarray
    baseline_logits: np.ndarray
    integrated: np.ndarray
    ablation: np.ndarray
    gaps: np.ndarray
    reference: str
    details: dict = field(default_factory=dict)

    def summary(self):
        """Per-tag means over patches: {tag: {"logit", "probability", "integrated": {branch: share},
        "ablation": {branch: drop}, "gap"}}."""
        out = {}
        for j, tag in enumerate(self.tags):
            logit = float(self.logits[:, j].mean())
            out[tag] = {"logit": logit,
                        "probability": float((1 / (1 + np.exp(-self.logits[:, j]))).mean()),
                        "baseline_logit": float(self.baseline_logits[j]),
                        "integrated": {b: float(self.integrated[:, k, j].mean()) for k, b in enumerate(self.branches)},
                        "ablation": {b: float(self.ablation[:, k, j].mean()) for k, b in enumerate(self.branches)},
                        "gap": float(np.abs(self.gaps[:, j]).max())}
        return out


def aggregate(results):
    """One BranchAttribution over a collection: every recording's patches together."""
    results = list(results)
    if not results:
        raise ZooError("no recording to aggregate")
    first = results[0]
    stack = {name: np.concatenate([getattr(r, name) for r in results])
             for name in ("times", "logits", "integrated", "ablation", "gaps")}
    return BranchAttribution(f"{len(results)} recordings", first.model, first.weights, first.tags, first.branches,
                             baseline_logits=first.baseline_logits, reference=first.reference,
                             details=dict(first.details), **stack)


def branch_layout(network):
    """(branch names, channel widths) of the network's branch concatenation; ZooError if it has none."""
    model = network.keras_model
    names = [layer.name for layer in model.layers]
    if CONCATENATION not in names:
        raise ZooError(f"{network.name} has no concatenated branches to attribute (layer {CONCATENATION!r}): "
                       "branch attribution needs a model with both a timbral and a temporal branch, "
                       "such as timbral_temporal")
    inputs = model.get_layer(CONCATENATION).input
    producers = {id(layer.output): layer.name for layer in model.layers}
    return tuple(producers.get(id(t), f"branch {i}") for i, t in enumerate(inputs)), tuple(t.shape[-1] for t in inputs)


def training_mean(network):
    """Each branch channel's mean over the weights' training frames `[channels]`, from `backend_bn`.

    Raises:
        ZooError: a network without the musicnn back-end (pass reference recordings instead).
    """
    model = network.keras_model
    names = [layer.name for layer in model.layers]
    if not {"midend", "backend_bn", "pooled"} <= set(names):
        raise ZooError(f"{network.name} has no musicnn back-end batch norm to read the training mean from; "
                       "pass reference recordings")
    width = sum(branch_layout(network)[1])
    start = model.get_layer("midend").output.shape[-1]  # pooled = [max over time, mean over time]
    return np.asarray(model.get_layer("backend_bn").moving_mean)[start:start + width].astype(np.float32)


@lru_cache(maxsize=2)
def _parts(model, weights):
    """(lower: patches -> branch features, upper: branch features -> logits, slope: tf.function
    (points, tangents) -> (logits, derivative of every logit along the tangents), by forward-mode
    differentiation)."""
    net = open_network(model, weights).keras_model
    branches = net.get_layer(CONCATENATION).output
    upper = keras.Model(branches, net.get_layer("logits").output)
    spec = tf.TensorSpec([None, *branches.shape[1:]], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def slope(points, tangents):
        with tf.autodiff.ForwardAccumulator(points, tangents) as accumulator:
            logits = upper(points, training=False)
        return logits, accumulator.jvp(logits)

    return keras.Model(net.input, branches), upper, slope


def _features(lower, patches):
    return np.concatenate([np.asarray(lower(patches[i:i + CHUNK], training=False))
                           for i in range(0, len(patches), CHUNK)])


def _integrated(slope, features, baseline, masks, columns, start, end, tolerance, max_points):
    """Branch shares of one patch for the logits `columns`: ([branches, tags], gap [tags], evaluations)."""
    delta = features - baseline
    tangents = np.stack([mask * delta for mask in masks]).astype(np.float32)

    def evaluate(alphas):
        points = (baseline[None] + alphas[:, None, None] * delta[None]).astype(np.float32)
        logits, parts = None, []
        for tangent in tangents:
            pairs = [slope(points[i:i + CHUNK], np.broadcast_to(tangent, points[i:i + CHUNK].shape))
                     for i in range(0, len(points), CHUNK)]
            logits = np.concatenate([p[0].numpy() for p in pairs])[:, columns]
            parts.append(np.concatenate([p[1].numpy() for p in pairs])[:, columns])
        return logits, np.stack(parts, axis=1)

    return integrate_path(evaluate, start, end, tolerance, max_points=max_points, batch=4 * CHUNK)


def reference_mean(audios, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, *, sample_rate=None):
    """Each branch channel's mean over every frame of reference recordings `[channels]` (bad files skipped)."""
    lower = _parts(model, None if weights is None else str(weights))[0]
    total, count = 0.0, 0
    for _, recording in read_patches_many(audios, sample_rate):
        if isinstance(recording, ZooError):
            continue
        features = _features(lower, recording.patches)
        total, count = total + features.sum(axis=(0, 1)), count + features.shape[0] * features.shape[1]
    if not count:
        raise ZooError("none of the reference recordings could be decoded")
    return (total / count).astype(np.float32)


def branch_attribution_many(audios, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, tags=None, *, reference=None,
                            sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH,
                            tolerance=1e-3, max_points=EXACT_MAX_POINTS, progress=None):
    """Branch attribution for many recordings (see `branch_attribution`; `progress(n)` is told as patches are done).

    Yields:
        (audio, BranchAttribution or ZooError) in input order.
    """
    network = open_network(model, weights)
    names, widths = branch_layout(network)
    columns = [tag_index(network, tag) for tag in (tags or network.tags)]
    tags = tuple(network.tags[j] for j in columns)
    if reference is None:
        mean, described = training_mean(network), "training data (backend_bn moving mean)"
    else:
        reference = list(reference)
        mean, described = reference_mean(reference, model, weights, sample_rate=sample_rate), \
            f"mean of {len(reference)} reference recording(s)"
    lower, upper, slope = _parts(model, None if weights is None else str(weights))
    edges = np.cumsum((0,) + widths)
    masks = [np.zeros(edges[-1], np.float32) for _ in names]
    for k, mask in enumerate(masks):
        mask[edges[k]:edges[k + 1]] = 1.0
    for audio, recording in read_patches_many(audios, sample_rate, hop_seconds, last_patch):
        if isinstance(recording, ZooError):
            yield audio, recording
            continue
        features = _features(lower, recording.patches)
        baseline = np.broadcast_to(mean, features.shape[1:]).astype(np.float32)
        logits = np.asarray(upper(np.concatenate([features, baseline[None]]), training=False))[:, columns]
        logits, baseline_logits = logits[:-1], logits[-1]
        ablated = np.concatenate([features * (1 - mask) + baseline * mask for mask in masks])
        dropped = np.asarray(upper(ablated, training=False))[:, columns].reshape(len(masks), len(features), -1)
        integrated, gaps, used = [], [], []
        for i, patch in enumerate(features):
            shares, gap, n = _integrated(slope, patch, baseline, masks, columns, baseline_logits, logits[i],
                                         tolerance, max_points)
            integrated.append(shares)
            gaps.append(gap)
            used.append(n)
            if progress is not None:
                progress(1)
        ablation = (logits[None] - dropped).transpose(1, 0, 2)  # [patches, branches, tags]
        yield audio, BranchAttribution(str(audio), network.name, weights, tags, names, recording.times, logits,
                                       baseline_logits, np.stack(integrated), ablation,
                                       np.stack(gaps), described, {"evaluations": used, "tolerance": tolerance})


def branch_attribution(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, tags=None, *, reference=None,
                       sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH,
                       tolerance=1e-3, max_points=EXACT_MAX_POINTS, progress=None):
    """Each branch's share of each tag's logit, patch by patch, by integrated gradients and by ablation.

    Args:
        audio: path, array with `sample_rate`, or a `zoo.explain.recording.Recording` already read.
        model, weights: a model with concatenated branches (`timbral_temporal`) and its weights.
        tags: tag names (default: every tag).
        reference: reference recordings for the baseline / ablation mean (default: the training data's mean).
        sample_rate, hop_seconds, last_patch: as in `zoo.tag`.
        tolerance, max_points: integrated gradients' completeness tolerance and most path points per patch
            (the adaptive grid of `zoo.explain.path_integral`).
        progress: optional callable `progress(n)`, told as patches are done.

    Returns:
        BranchAttribution.

    Raises:
        ZooError: unreadable audio, unknown tag (listing the tags), a model without concatenated branches.
    """
    ((_, result),) = branch_attribution_many([audio], model, weights, tags, reference=reference,
                                             sample_rate=sample_rate, hop_seconds=hop_seconds,
                                             last_patch=last_patch, tolerance=tolerance, max_points=max_points,
                                             progress=progress)
    if isinstance(result, ZooError):
        raise result
    return result
