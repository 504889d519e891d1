"""Pictures of activations: the feature-map figure of a recording, log-mel thumbnails of excerpts."""

import numpy as np

from zoo.outputs.figures import plt, save_figure, save_image
from zoo.signal.axes import hz_ticks

TOP_TAGS = 10


def readable(values):
    """A map `[columns, units]` made readable: each unit scaled from its own minimum (0) to maximum (1),
    units ordered by the time of their peak, units that never change last.

    Returns:
        (`[columns, units]` scaled and reordered, number of units that never change).
    """
    low, high = values.min(axis=0), values.max(axis=0)
    spread = high - low
    flat = spread <= 1e-6 * max(float(np.abs(values).max()), 1e-12)
    peaks = np.where(flat, np.inf, values.argmax(axis=0))
    order = np.argsort(peaks, kind="stable")
    scaled = (values - low) / np.where(flat, 1.0, spread)
    scaled[:, flat] = 0.0
    return scaled[:, order], int(flat.sum())


def plot_activations(acts, path, title=""):
    """One figure, one time axis: log-mel (Hz), each layer's units over time (peak order), the taggram.

    Args:
        acts: `zoo.explain.activations.Activations`.
        path: PNG to write (atomically).
        title: shown above (e.g. the file name).
    """
    end = acts.times[-1] + acts.column_seconds
    heights = [2.2] + [2.4] * len(acts.layers) + [1.8]
    figure, axes = plt.subplots(len(heights), 1, figsize=(14, sum(heights) + 1.0), sharex=True,
                                gridspec_kw={"height_ratios": heights, "hspace": 0.25, "left": 0.09, "right": 0.9,
                                             "top": 1 - 0.75 / (sum(heights) + 1.0),
                                             "bottom": 0.45 / (sum(heights) + 1.0)})
    extent = (0.0, end)
    image = axes[0].imshow(acts.logmel.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                           extent=(*extent, -0.5, acts.logmel.shape[1] - 0.5))
    positions, labels = hz_ticks(acts.logmel.shape[1])
    axes[0].set_yticks(positions, labels)
    axes[0].set_ylabel("Hz")
    axes[0].set_title("log-mel spectrogram (log10(1 + 10000 mel))", fontsize=9, loc="left")
    figure.colorbar(image, ax=axes[0], pad=0.01, fraction=0.02)
    for ax, (name, values) in zip(axes[1:], acts.layers.items()):
        scaled, flat = readable(values)
        image = ax.imshow(scaled.T, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                          interpolation="nearest", extent=(*extent, -0.5, values.shape[1] - 0.5))
        ax.set_ylabel("unit")
        ax.set_title(f"{name}: {values.shape[1]} units ordered by time of peak, each scaled from its minimum to its "
                     "maximum" + (f"; {flat} stay silent on this recording (top rows)" if flat else ""),
                     fontsize=9, loc="left")
        figure.colorbar(image, ax=ax, pad=0.01, fraction=0.02)
    taggram = acts.taggram
    top = np.argsort(-taggram.clip_probabilities, kind="stable")[:TOP_TAGS]
    rows = taggram.probabilities[:, top].T
    low, high = float(rows.min()), max(float(rows.max()), float(rows.min()) + 1e-3)
    image = axes[-1].imshow(rows, aspect="auto", cmap="viridis", vmin=low, vmax=high,
                            interpolation="nearest", extent=(*extent, len(top) - 0.5, -0.5))
    axes[-1].set_yticks(range(len(top)), [f"{taggram.tags[i]} {taggram.clip_probabilities[i]:.2f}" for i in top],
                        fontsize=7)
    axes[-1].set_title(f"taggram: the {len(top)} most probable tags (clip mean), per patch", fontsize=9, loc="left")
    axes[-1].set_xlabel("time (s)")
    figure.colorbar(image, ax=axes[-1], pad=0.01, fraction=0.02, label=f"probability ({low:.2f} to {high:.2f})")
    figure.suptitle(f"{title}\n{acts.model} ({acts.weights}), columns of {acts.column_seconds * 1000:.0f} ms",
                    fontsize=10, y=1 - 0.1 / (sum(heights) + 1.0), va="top")
    save_figure(figure, path, dpi=90)


def save_thumbnail(logmel, path):
    """Writes a log-mel `[frames, 96]` as a small PNG (low bands at the bottom, time across), atomically."""
    save_image(np.asarray(logmel).T[::-1], path, cmap="magma", vmin=0, vmax=max(float(np.max(logmel)), 1e-6))
