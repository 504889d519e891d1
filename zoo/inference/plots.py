"""Pictures of results: taggrams as images."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from musiczoo_runtime.atomic import atomic_path  # noqa: E402


def plot_taggram(taggram, path, title=None):
    """Writes a taggram image: time on x, tags on y, colour = probability.

    Args:
        taggram: a `musiczoo_runtime.results.Taggram`.
        path: PNG file to write (atomically).
        title: file name shown in the title (with the model and weights).
    """
    probabilities = np.asarray(taggram.probabilities)
    hop = float(np.diff(taggram.times).mean()) if len(taggram.times) > 1 else 3.0
    extent = (taggram.times[0], taggram.times[-1] + hop, len(taggram.tags) - 0.5, -0.5)
    figure, axes = plt.subplots(figsize=(max(6.0, min(20.0, 0.25 * len(taggram.times) + 4)), 9))
    image = axes.imshow(probabilities.T, aspect="auto", interpolation="nearest", cmap="viridis",
                        vmin=0.0, vmax=1.0, extent=extent)
    axes.set_yticks(range(len(taggram.tags)))
    axes.set_yticklabels(taggram.tags, fontsize=7)
    axes.set_xlabel("time (s)")
    axes.set_title(f"{title or ''}\n{taggram.model} ({taggram.weights})", fontsize=9)
    figure.colorbar(image, ax=axes, label="probability")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)
