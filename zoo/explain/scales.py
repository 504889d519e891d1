"""Which time scale carries each tag: the multiscale model's pyramid levels ablated one at a time.

For every 3 s patch of a recording the per-level pooled features (`scale{l}_max_pool`
and `scale{l}_mean_pool`, the back-end's whole input) are computed once; then,
for each level in turn, that level's pooled features are replaced by their mean
over the distillation corpus's training patches and the back-end is run again.
That mean is the back-end batch norm's moving mean (`backend_bn`), which training
accumulated over those patches and which ships with the weights, so no reference
audio is needed and the answer does not depend on what else is analysed. (Zero
is not used: after ReLU and batch norm a zero vector is no typical input, so its
drop would mix "this level is missing" with "this level is strange".)

The drop of a tag at a level is the clip-level probability (mean over patches)
minus the same mean with that level ablated: positive when the level supports
the tag, negative when it argues against it, near zero when the tag does not
depend on it.
"""

from dataclasses import dataclass

import numpy as np

from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.contract import DEFAULT_HOP_SECONDS, DEFAULT_LAST_PATCH, HOP_LENGTH, SAMPLE_RATE
from musiczoo_runtime.errors import ZooError
from zoo.inference.api import extract_many, only
from zoo.models.catalog import card
from zoo.models.loading import load

POOLS = ("max", "mean")  # the order of `pooled` = [max_pool, mean_pool]


@dataclass(frozen=True)
class ScaleContributions:
    """Per-level contributions to a recording's tags.

    Attributes:
        model, weights: what produced them.
        tags: tag names `[tags]`.
        levels: level names ("scale0" ... "scale3"), finest first.
        frame_seconds: seconds per frame of each level `[levels]` (16 ms * 2^l).
        span_seconds: time span of each level's convolution stack (its receptive field) `[levels]`.
        probabilities: clip-level probabilities `[tags]` (mean over patches, as `zoo.tag` gives).
        ablated: clip-level probabilities with one level replaced by its corpus mean `[levels, tags]`.
        patches: number of 3 s patches averaged.
    """

    model: str
    weights: object
    tags: tuple
    levels: tuple
    frame_seconds: np.ndarray
    span_seconds: np.ndarray
    probabilities: np.ndarray
    ablated: np.ndarray
    patches: int

    @property
    def drops(self):
        """Probability drop of each tag when each level is ablated `[levels, tags]`."""
        return self.probabilities[None, :] - self.ablated

    def carriers(self):
        """The level whose ablation lowers each tag most, or None where no ablation lowers it `[tags]`."""
        drops = self.drops
        return [self.levels[int(np.argmax(drops[:, j]))] if drops[:, j].max() > 0 else None
                for j in range(len(self.tags))]

    def top(self, n=10):
        """The `n` most probable tags as (tag, probability, {level: drop}, carrying level or None)."""
        order = np.argsort(-self.probabilities, kind="stable")[:n]
        drops, carriers = self.drops, self.carriers()
        return [(self.tags[j], float(self.probabilities[j]),
                 {level: float(drops[i, j]) for i, level in enumerate(self.levels)}, carriers[j]) for j in order]


def _levels(network):
    """Names of the pyramid levels of a built model, finest first (ZooError if it has none)."""
    names = {layer.name for layer in network.layers}
    levels = []
    while f"scale{len(levels)}_max_pool" in names:
        levels.append(f"scale{len(levels)}")
    if not levels or "pooled" not in names:
        raise ZooError(f"{network.name} has no pyramid levels to ablate (layers scale0_max_pool, ...): "
                       "per-level contributions need the multiscale model")
    return levels


def _span_seconds(network, level, index):
    """Receptive field in seconds of one level's convolution stack (its kernels, at 2^index input frames a step)."""
    kernels = [layer.kernel_size[0] for layer in network.layers
               if layer.name.startswith(f"{level}_conv") and hasattr(layer, "kernel_size")]
    return (1 + sum(k - 1 for k in kernels)) * 2 ** index * HOP_LENGTH / SAMPLE_RATE


def _back_end(network):
    """The back-end of a multiscale model as its own model: `pooled` `[batch, F]` -> probabilities."""
    import keras

    return keras.Model(network.get_layer("backend_bn").input, network.output)


def _ablated_probabilities(network, levels, pooled):
    """Patch probabilities `[1 + levels, patches, tags]`: as computed, then with each level at its corpus mean."""
    back_end = _back_end(network)
    reference = np.asarray(network.get_layer("backend_bn").moving_mean)
    widths = [network.get_layer(f"{level}_max_pool").output.shape[-1] for level in levels]
    starts = np.cumsum([0] + widths)
    half = starts[-1]
    inputs = [pooled]
    for i in range(len(levels)):
        ablated = pooled.copy()
        for offset in (0, half):  # the level's max-pooled, then its mean-pooled features
            columns = slice(offset + starts[i], offset + starts[i + 1])
            ablated[:, columns] = reference[columns]
        inputs.append(ablated)
    stacked = np.concatenate(inputs)
    return np.asarray(back_end.predict_on_batch(stacked)).reshape(len(inputs), len(pooled), -1)


def scale_contributions_many(audios, model="multiscale", weights="mtt", tags=None,
                             hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None):
    """Per-level contributions for many recordings, batched as `zoo.extract_many` batches them.

    Args:
        audios: paths (or arrays, with `sample_rate=`).
        model: a catalog model with pyramid levels ("multiscale").
        weights: weight tag ("mtt", "msd").
        tags: tag names to keep (default: every tag), in the order given.
        hop_seconds, last_patch, sample_rate: as in `zoo.tag`.

    Yields:
        (audio, ScaleContributions or ZooError) in input order.

    Raises:
        ZooError: a model without pyramid levels, or unknown tags (before any audio is read).
    """
    if weights is None:
        raise ZooError("per-level contributions need pretrained weights (mtt or msd): a randomly initialised "
                       "model has no corpus mean to ablate a level with")
    network = load(model, weights=weights, include_frontend=False)
    levels = _levels(network)
    names = list(card(model, weights).tags)
    wanted = list(names if tags is None else [tags] if isinstance(tags, str) else tags)
    unknown = [tag for tag in wanted if tag not in names]
    if unknown:
        raise ZooError(f"{model} {weights} has no tag {unknown[0]!r}; its tags are: {', '.join(names)}")
    columns = [names.index(tag) for tag in wanted]
    frame_seconds = np.array([2 ** i * HOP_LENGTH / SAMPLE_RATE for i in range(len(levels))])
    spans = np.array([_span_seconds(network, level, i) for i, level in enumerate(levels)])
    layers = [f"{pool}_pool" for pool in POOLS]
    for audio, features in extract_many(audios, model, weights, layers, hop_seconds, last_patch,
                                        sample_rate=sample_rate):
        if isinstance(features, ZooError):
            yield audio, features
            continue
        pooled = np.concatenate([features.layers[name] for name in layers], axis=1).astype(np.float32)
        clip = _ablated_probabilities(network, levels, pooled).mean(axis=1)[:, columns]
        yield audio, ScaleContributions(model=model, weights=weights, tags=tuple(wanted), levels=tuple(levels),
                                        frame_seconds=frame_seconds, span_seconds=spans, probabilities=clip[0],
                                        ablated=clip[1:], patches=len(pooled))


def scale_contributions(audio, model="multiscale", weights="mtt", tags=None, hop_seconds=DEFAULT_HOP_SECONDS,
                        last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None):
    """Which pyramid level carries each tag of a recording (see the module docstring).

    Args:
        audio: path of an audio file, or an array (with `sample_rate=`).
        model, weights, tags, hop_seconds, last_patch, sample_rate: as in `scale_contributions_many`.

    Returns:
        ScaleContributions (`.drops` `[levels, tags]`, `.top(n)`).

    Raises:
        ZooError: unreadable audio, a model without pyramid levels, unknown tags.
    """
    return only(scale_contributions_many([audio], model, weights, tags, hop_seconds, last_patch,
                                         sample_rate=sample_rate))


def write_table(result, path):
    """Writes a tab-separated table: tag, probability, the drop at each level, the carrying level ("-": none)."""
    header = ["tag", "probability", *[f"drop_{level}" for level in result.levels], "carried_by"]
    rows = ["\t".join(header)]
    for tag, probability, drops, carrier in result.top(len(result.tags)):
        rows.append("\t".join([tag, f"{probability:.4f}", *[f"{drops[level]:+.4f}" for level in result.levels],
                               carrier or "-"]))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")


def plot_contributions(result, path, title=None, n_tags=10):
    """Writes a picture: the `n_tags` most probable tags, their probability, and the drop at each level.

    Args:
        result: ScaleContributions.
        path: PNG file (written atomically).
        title: shown above (e.g. the file name).
        n_tags: tags shown, most probable first.
    """
    from zoo.outputs.figures import plt, save_figure

    rows = result.top(n_tags)
    drops = np.array([[drops[level] for level in result.levels] for _, _, drops, _ in rows])
    limit = max(float(np.abs(drops).max()), 1e-3)
    figure, (bars, grid) = plt.subplots(1, 2, figsize=(9.5, 1.2 + 0.42 * len(rows)), sharey=True,
                                        gridspec_kw={"width_ratios": [1, 2.2]})
    labels = [tag for tag, *_ in rows]
    bars.barh(range(len(rows)), [p for _, p, *_ in rows], color="tab:gray")
    bars.set_xlim(0, 1)
    bars.set_yticks(range(len(rows)), labels)
    bars.set_xlabel("clip probability")
    image = grid.imshow(drops, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(drops):
        grid.text(j, i, f"{value:+.3f}", ha="center", va="center", fontsize=8,
                  color="white" if abs(value) > 0.6 * limit else "black")
    grid.set_xticks(range(len(result.levels)),
                    [f"{level}\n{frame * 1000:.0f} ms frames\n{span:.1f} s span" for level, frame, span
                     in zip(result.levels, result.frame_seconds, result.span_seconds)], fontsize=8)
    grid.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    figure.colorbar(image, ax=grid, label="probability drop when the level is ablated")
    figure.suptitle(f"{title + ': ' if title else ''}{result.model} ({result.weights}), {result.patches} patches; "
                    "level replaced by its corpus mean", fontsize=9)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
