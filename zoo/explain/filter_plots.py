"""Pictures and files of a filter map: one PNG per first-layer branch, the null figure, `filters.json`."""

import json
import math
from pathlib import Path

import numpy as np

from musiczoo_runtime.atomic import atomic_path
from zoo.outputs.figures import plt, save_figure
from zoo.signal.axes import FRAMES_PER_SECOND, hz_ticks
from zoo.explain.filters import TEMPO_RANGE_BPM

FRAME_MS = 1000.0 / FRAMES_PER_SECOND  # 16 ms


def _grid(count, columns):
    """A figure of `count` small axes in rows of `columns` (not shared: sharing is quadratic in matplotlib)."""
    rows = math.ceil(count / columns)
    height = 1.25 * rows + 0.9
    figure, axes = plt.subplots(rows, columns, figsize=(1.15 * columns, height), squeeze=False,
                                gridspec_kw={"left": 0.02, "right": 0.995, "bottom": 0.35 / height,
                                             "top": 1 - 0.75 / height, "wspace": 0.12, "hspace": 0.35})
    for extra in axes.flat[count:]:
        extra.set_visible(False)
    return figure, axes


def _mosaic(filter_map, layer, columns, tile_inches, caption):
    """Draws a layer's kernels as one image of tiles (time across, mel up, each scaled to its largest |w|).

    Every tile is titled by `caption(filter)`; the first tile column carries the Hz (or mel band) axis,
    the first tile of the bottom row the ms axis, so every tile reads on the same physical axes.

    Returns:
        the figure.
    """
    _, kernels = filter_map.kernels[layer]
    rows_of = filter_map.filters[layer]
    frames, bands = kernels.shape[:2]
    rows = math.ceil(len(rows_of) / columns)
    gap_x, gap_y = max(1, frames // 3), max(1, bands // 4)
    image = np.full((rows * (bands + gap_y), columns * (frames + gap_x)), np.nan)
    width, height = tile_inches * columns * 1.05 + 0.6, tile_inches * 1.3 * rows + 1.2
    figure = plt.figure(figsize=(width, height))
    ax = figure.add_axes((0.5 / width, 0.45 / height, 1 - 0.6 / width, 1 - 1.2 / height))
    for index, f in enumerate(rows_of):
        row, column = divmod(index, columns)
        top, left = row * (bands + gap_y) + gap_y, column * (frames + gap_x)
        kernel = kernels[:, :, f.unit].T[::-1]  # highest band first: mel goes up within the tile
        image[top:top + bands, left:left + frames] = kernel / (float(np.abs(kernel).max()) or 1.0)
        ax.text(left + frames / 2 - 0.5, top - 0.6, caption(f), ha="center", va="bottom", fontsize=6)
    ax.imshow(image, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    positions, labels = hz_ticks(bands) if bands > 3 else (np.arange(bands), [str(b) for b in range(bands)])
    ticks = [(row * (bands + gap_y) + gap_y + bands - 1 - p, label)
             for row in range(rows) for p, label in zip(positions, labels)]
    ax.set_yticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=5)
    ax.set_ylabel("Hz (mel band centres)" if bands > 3 else "mel band", fontsize=7)
    ms = [0, frames * FRAME_MS / 2, frames * FRAME_MS] if frames > 3 else [0, frames * FRAME_MS]
    ax.set_xticks([m / FRAME_MS - 0.5 for m in ms], [f"{m:.0f}" for m in ms], fontsize=5)
    ax.set_xlabel("ms (each tile)", fontsize=7)
    ax.tick_params(length=1.5, pad=1)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return figure


def _title(figure, filter_map, layer, text):
    figure.suptitle(f"{filter_map.model} ({filter_map.weights}) {layer}: {text}", fontsize=10, y=0.995, va="top")


def plot_timbral(filter_map, layer, path):
    """Each timbral kernel as an image: time in ms across, Hz up (mel band centres), sorted by band centroid."""
    frames, bands = filter_map.kernels[layer][1].shape[:2]

    def caption(f):
        return f"{f.unit}: " + ("no + weight" if f.band_hz is None else f"{f.band_hz[0]:.0f}-{f.band_hz[1]:.0f}")

    figure = _mosaic(filter_map, layer, 17, 0.95, caption)
    _title(figure, filter_map, layer, f"{len(filter_map.filters[layer])} timbral filters ({frames} frames x {bands} "
                                      "mel bands), sorted by band centroid; each titled unit: band Hz (central 80% "
                                      "of + weight)\nHz axis: the kernel at its lowest position (the layer slides it "
                                      "up the mel axis); red +, blue -, each tile scaled to its largest |w|")
    save_figure(figure, path, dpi=80)


def plot_temporal(filter_map, layer, path):
    """Each temporal kernel as a curve over seconds, sorted by its dominant periodicity (BPM)."""
    _, kernels = filter_map.kernels[layer]
    rows = filter_map.filters[layer]
    length = kernels.shape[0]
    seconds = np.arange(length) / FRAMES_PER_SECOND
    one_cycle_bpm = 60.0 * FRAMES_PER_SECOND / length
    figure, axes = _grid(len(rows), 9)
    for ax, f in zip(axes.flat, rows):
        ax.plot(seconds, kernels[:, 0, f.unit], linewidth=0.8, color="tab:blue")
        ax.axhline(0, color="0.7", linewidth=0.5)
        musical = TEMPO_RANGE_BPM[0] <= f.bpm <= TEMPO_RANGE_BPM[1]
        ax.set_title(f"{f.unit}: {f.bpm:.0f} BPM", fontsize=7, pad=1.5,
                     color="black" if musical else ("0.55" if f.bpm < TEMPO_RANGE_BPM[0] else "tab:red"))
        ax.tick_params(labelsize=5, length=1.5, pad=1)
        ax.set_yticks([])
        ax.set_xticks([0, round(seconds[-1], 1)], [] if ax is not axes[-1, 0] else ["0", f"{seconds[-1]:.1f} s"])
    _title(figure, filter_map, layer, f"{len(rows)} temporal filters of {length} frames ({seconds[-1]:.2f} s), "
                                      "sorted by dominant periodicity\nblack: "
                                      f"{TEMPO_RANGE_BPM[0]:g}-{TEMPO_RANGE_BPM[1]:g} BPM, grey: slower (under "
                                      f"{one_cycle_bpm:.0f} BPM no whole cycle fits), red: faster")
    save_figure(figure, path, dpi=80)


def plot_square(filter_map, layer, path):
    """Square kernels as a grid of small images (time across, mel up), sorted by decreasing norm."""
    frames, bands = filter_map.kernels[layer][1].shape[:2]
    figure = _mosaic(filter_map, layer, 16, 0.6, lambda f: f"{f.unit}: {f.norm:.2f}")
    _title(figure, filter_map, layer, f"{len(filter_map.filters[layer])} square filters ({frames} frames x {bands} "
                                      "mel bands), sorted by norm (unit: |w|); red +, blue -")
    save_figure(figure, path, dpi=80)


def plot_null(filter_map, path):
    """Learned against randomly initialised filters: BPM of temporal layers, band centroid of timbral ones.

    Returns:
        True if a figure was written (the model has timbral or temporal filters and a null).
    """
    panels = [name for name in filter_map.null]
    if not panels:
        return False
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 2.3 * len(panels) + 0.5), squeeze=False)
    fractions = filter_map.tempo_fractions()
    for ax, name in zip(axes[:, 0], panels):
        kind, kernel = filter_map.kernels[name]
        null = filter_map.null[name].ravel()
        if kind == "temporal":
            learned = np.array([f.bpm for f in filter_map.filters[name]])
            bins = np.geomspace(5, 2000, 41)
            low, high = TEMPO_RANGE_BPM
            ax.axvspan(low, high, color="gold", alpha=0.25, label=f"{low:g}-{high:g} BPM")
            one_cycle = 60.0 * FRAMES_PER_SECOND / kernel.shape[0]
            ax.axvline(one_cycle, color="0.3", linestyle=":", linewidth=1,
                       label=f"one cycle per filter ({one_cycle:.0f} BPM)")
            share = fractions[name]
            caption = (f"in range: learned {share['learned']:.0%}, random {share['random']:.0%} "
                       f"(95% of draws {share['random_2.5%']:.0%}-{share['random_97.5%']:.0%})")
            ax.set_xlabel("dominant periodicity (BPM); the leftmost bar is the slowest searched: a quarter cycle per "
                          "filter, i.e. a trend", fontsize=8)
        else:
            learned = np.array([f.centroid_hz for f in filter_map.filters[name] if f.centroid_hz is not None])
            bins = np.geomspace(30, 8000, 41)
            caption = f"median centroid: learned {np.median(learned):.0f} Hz, random {np.median(null):.0f} Hz"
            ax.set_xlabel("band centroid (Hz, kernel at its lowest position)", fontsize=8)
        ax.hist(null, bins=bins, weights=np.full(len(null), 1 / len(null)), histtype="stepfilled", color="0.75",
                label=f"random init ({len(filter_map.null[name])} draws)")
        ax.hist(learned, bins=bins, weights=np.full(len(learned), 1 / len(learned)), histtype="step", linewidth=1.6,
                color="tab:blue", label=f"learned ({len(learned)} filters)")
        ax.set_xscale("log")
        ax.set_ylabel("share of filters", fontsize=8)
        ax.set_title(f"{name}: {caption}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle(f"{filter_map.model} ({filter_map.weights}): learned first-layer filters against the same "
                    "layers randomly initialised", fontsize=10)
    figure.tight_layout()
    save_figure(figure, path)
    return True


PLOTTERS = {"timbral": plot_timbral, "temporal": plot_temporal, "square": plot_square}


def write_filter_map(filter_map, out_dir):
    """Writes `<layer>.png` per first-layer branch, `null.png` and `filters.json` into `out_dir`.

    Returns:
        dict with "images" (layer -> path), "null" (path or None) and "json" (path).
    """
    out_dir = Path(out_dir)
    images = {}
    for name, (kind, _) in filter_map.kernels.items():
        images[name] = out_dir / f"{name}.png"
        PLOTTERS[kind](filter_map, name, images[name])
    null_path = out_dir / "null.png"
    wrote_null = plot_null(filter_map, null_path)
    document = {"model": filter_map.model, "weights": filter_map.weights,
                "layers": {name: {"kind": kind, "shape": list(kernel.shape), "image": images[name].name}
                           for name, (kind, kernel) in filter_map.kernels.items()},
                "tempo_range_bpm": list(TEMPO_RANGE_BPM), "tempo_fractions": filter_map.tempo_fractions(),
                "filters": filter_map.records()}
    with atomic_path(out_dir / "filters.json") as tmp:
        tmp.write_text(json.dumps(document, indent=1))
    return {"images": images, "null": null_path if wrote_null else None, "json": out_dir / "filters.json"}
