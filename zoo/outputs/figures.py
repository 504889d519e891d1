"""The one figure writer: matplotlib on its file backend (Agg), every figure written atomically as PNG, then closed.

Every picture of the zoo (taggrams, feature maps, filter maps, attribution maps, confusion
matrices, benchmark plots) is drawn with `plt` from here and written by `save_figure` (a
figure) or `save_image` (an array as pixels), so the backend is chosen in one place and no
half-written PNG is ever seen. Import this module only where a picture is drawn: it loads
matplotlib.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from musiczoo_runtime.atomic import atomic_path  # noqa: E402

__all__ = ["plt", "save_figure", "save_image"]


def save_figure(figure, path, dpi=100, **options):
    """Writes a matplotlib figure to `path` as PNG, atomically, and closes it (also when writing fails).

    Args:
        figure: a matplotlib `Figure`.
        path: the PNG file (its folder is created if missing).
        dpi: resolution in dots per inch.
        **options: further `Figure.savefig` options (e.g. `bbox_inches="tight"`).

    Returns:
        Path of the PNG.
    """
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=dpi, format="png", **options)
    finally:
        plt.close(figure)
    return path


def save_image(pixels, path, **options):
    """Writes an array `[rows, columns]` as a PNG of one pixel per value (`pyplot.imsave`), atomically.

    Args:
        pixels: the values, first row at the top.
        path: the PNG file.
        **options: further `pyplot.imsave` options (`cmap`, `vmin`, `vmax`).

    Returns:
        Path of the PNG.
    """
    with atomic_path(path) as tmp:
        plt.imsave(tmp, pixels, format="png", **options)
    return path
