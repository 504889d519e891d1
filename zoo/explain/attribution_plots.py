"""Pictures of attributions: a tag's map over the log-mel, and each branch's share of each tag as bars."""

from pathlib import Path

import numpy as np

from zoo.outputs.figures import plt, save_figure
from zoo.signal.axes import FRAMES_PER_SECOND, hz_ticks
from zoo.explain.recording import frame_values


def plot_attribution(attribution, path, title=None):
    """Writes the recording's log-mel and the tag's attribution over it, one shared time axis, as a PNG.

    Args:
        attribution: a `zoo.explain.attribution.Attribution`.
        path: PNG file (written atomically).
        title: shown above (e.g. the file name).
    """
    logmel = frame_values(attribution.logmel, attribution.starts, attribution.n_frames)
    maps = frame_values(attribution.maps, attribution.starts, attribution.n_frames)
    seconds = attribution.n_frames / FRAMES_PER_SECOND
    extent = (0.0, seconds, -0.5, logmel.shape[1] - 0.5)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(max(10.0, min(18.0, 4 + 0.4 * seconds)), 6.5), sharex=True)
    signed = attribution.method == "integrated_gradients"
    limit = float(np.percentile(np.abs(maps), 99.5)) or 1.0
    image = top.imshow(maps.T, origin="lower", aspect="auto", extent=extent, interpolation="nearest",
                       cmap="RdBu_r" if signed else "viridis", vmin=-limit if signed else 0.0, vmax=limit)
    detail = (f" at {attribution.details['layer']}" if "layer" in attribution.details else
              f" from {attribution.details['baseline']}" if "baseline" in attribution.details else "")
    top.set_title(f"where the model heard '{attribution.tag}' "
                  f"({'red: for the tag, blue: against' if signed else 'bright: for the tag'}; line: its probability)"
                  f"\n{attribution.method}{detail}", fontsize=9, loc="left")
    figure.colorbar(image, ax=top, pad=0.1, fraction=0.03, label="attribution")
    probability = attribution.probabilities
    twin = top.twinx()
    twin.step(np.append(attribution.times, min(seconds, attribution.times[-1] + 3.0)),
              np.append(probability, probability[-1]), where="post", color="black" if signed else "white",
              linewidth=1.5)
    twin.set_ylim(0, 1)
    twin.set_ylabel(f"p({attribution.tag})", fontsize=8)
    sound = bottom.imshow(logmel.T, origin="lower", aspect="auto", cmap="magma", extent=extent)
    bottom.set_title("the music under it: log-mel spectrogram", fontsize=9, loc="left")
    figure.colorbar(sound, ax=bottom, pad=0.1, fraction=0.03, label="loudness (log)")
    for axes in (top, bottom):
        positions, labels = hz_ticks()
        axes.set_yticks(positions)
        axes.set_yticklabels(labels, fontsize=7)
        axes.set_ylabel("Hz")
    bottom.set_xlabel("time (s)")
    figure.suptitle(f"{Path(str(title)).name if title else ''}  {attribution.model} ({attribution.weights})",
                    fontsize=9)
    save_figure(figure, path, dpi=90)


def plot_branches(result, path, n_tags=12):
    """Writes grouped bars: each branch's share of each tag's logit (integrated gradients and ablation).

    Args:
        result: a `zoo.explain.branches.BranchAttribution` (one file or aggregated).
        path: PNG file (written atomically).
        n_tags: the most probable tags shown.
    """
    summary = result.summary()
    tags = sorted(summary, key=lambda t: -summary[t]["probability"])[:n_tags]
    figure, axes = plt.subplots(1, 2, figsize=(max(8.0, 0.9 * len(tags) + 4), 4.8), sharey=True)
    width = 0.8 / len(result.branches)
    positions = np.arange(len(tags))
    for panel, key, name in ((axes[0], "integrated", "integrated gradients"), (axes[1], "ablation", "ablation")):
        for k, branch in enumerate(result.branches):
            panel.bar(positions + (k - (len(result.branches) - 1) / 2) * width,
                      [summary[t][key][branch] for t in tags], width, label=branch)
        panel.axhline(0, color="black", linewidth=0.6)
        panel.set_xticks(positions)
        panel.set_xticklabels([f"{t}\n{summary[t]['probability']:.2f}" for t in tags], rotation=60, fontsize=7)
        panel.set_title(name, fontsize=9)
    axes[0].set_ylabel("share of the logit (logit units)")
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{Path(str(result.label)).name}: {result.model} ({result.weights}); "
                    f"reference: {result.reference}", fontsize=8)
    figure.tight_layout()
    save_figure(figure, path, dpi=90)
