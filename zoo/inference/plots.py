"""Pictures of results: the taggram of a recording, under its log-mel spectrogram on one time axis."""

from pathlib import Path

import numpy as np

from musiczoo_runtime.contract import HOP_LENGTH, SAMPLE_RATE
from zoo.outputs.figures import plt, save_figure
from zoo.signal.axes import hz_ticks

DEFAULT_PLOT_TAGS = 10
MAX_COLUMNS = 2000  # spectrogram columns drawn at most (longer recordings are max-pooled over time)


def recording_logmel(audio, sample_rate=None):
    """The log-mel spectrogram of a whole recording `[frames, 96]`, from the front end the models use.

    Args:
        audio: path, or array with `sample_rate` (as `zoo.tag` takes).
        sample_rate: the array's rate (arrays only).
    """
    from musiczoo_runtime.audio import open_audio
    from zoo.signal.streaming import LogmelStream

    stream = LogmelStream()
    head = stream.push(open_audio(audio, sample_rate).read())
    return np.concatenate([head, stream.finish()])


def tag_order(taggram, n_tags=DEFAULT_PLOT_TAGS):
    """Indices of the `n_tags` most probable clip-level tags, most probable first (None or "all": every tag)."""
    order = np.argsort(-np.asarray(taggram.clip_probabilities), kind="stable")
    return order if n_tags in (None, "all") else order[:n_tags]


def _pooled(logmel, columns=MAX_COLUMNS):
    """`[frames, bands]` max-pooled over time to at most `columns` columns."""
    step = max(1, -(-len(logmel) // columns))
    if step == 1:
        return logmel
    padded = np.pad(logmel, ((0, -len(logmel) % step), (0, 0)), mode="edge")
    return padded.reshape(-1, step, logmel.shape[1]).max(axis=1)


def _patch_edges(taggram):
    """Column edges in seconds `[patches + 1]`: each patch drawn from its start to the next (the last to the end)."""
    times = np.asarray(taggram.times, float)
    end = max(float(taggram.duration), times[-1] + (np.diff(times).mean() if len(times) > 1 else 0.0))
    return np.append(times, end)


def draw_taggram(figure, spectrogram_axes, taggram_axes, taggram, logmel, n_tags=DEFAULT_PLOT_TAGS):
    """Draws the log-mel spectrogram and the taggram of its `n_tags` top tags on two axes sharing time.

    The taggram's colours span the clip's own probability range (stated on the colour bar), so a
    taggram whose tags all stay below 0.3 is not drawn almost uniformly dark.

    Args:
        figure: the matplotlib figure (for the colour bars).
        spectrogram_axes, taggram_axes: the two axes, spectrogram above.
        taggram: a `musiczoo_runtime.results.Taggram`.
        logmel: the recording's log-mel `[frames, 96]`.
        n_tags: rows to draw (an int, or "all").

    Returns:
        the tags drawn, top row first.
    """
    duration = float(taggram.duration)
    pooled = _pooled(np.asarray(logmel))
    image = spectrogram_axes.imshow(pooled.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                                    extent=(0.0, len(logmel) * HOP_LENGTH / SAMPLE_RATE, -0.5, pooled.shape[1] - 0.5))
    spectrogram_axes.set_yticks(*hz_ticks(pooled.shape[1]))
    spectrogram_axes.set_ylabel("frequency (Hz)")
    spectrogram_axes.set_title("what the model hears: log-mel spectrogram", fontsize=9, loc="left")
    figure.colorbar(image, ax=spectrogram_axes, pad=0.01, fraction=0.03, label="loudness (log)")
    order = tag_order(taggram, n_tags)
    rows = np.asarray(taggram.probabilities)[:, order].T
    low, high = float(rows.min()), float(rows.max())
    if high - low < 1e-3:
        low, high = max(0.0, low - 0.05), min(1.0, high + 0.05)
    edges = _patch_edges(taggram)
    image = taggram_axes.pcolormesh(edges, np.arange(len(order) + 1) - 0.5, rows, cmap="viridis", vmin=low,
                                    vmax=high, shading="flat")
    taggram_axes.set_ylim(len(order) - 0.5, -0.5)
    names = [taggram.tags[i] for i in order]
    clip = np.asarray(taggram.clip_probabilities)[order]
    taggram_axes.set_yticks(range(len(order)), [f"{name} {p:.2f}" for name, p in zip(names, clip)],
                            fontsize=8 if len(order) <= 20 else 6)
    taggram_axes.set_title(f"tags over time: the {len(order)} most probable for the whole clip (clip probability "
                           "beside each), most probable on top", fontsize=9, loc="left")
    taggram_axes.set_xlabel("time (s)")
    taggram_axes.set_xlim(0.0, duration)
    spectrogram_axes.set_xlim(0.0, duration)
    figure.colorbar(image, ax=taggram_axes, pad=0.01, fraction=0.03,
                    label=f"probability (this clip: {low:.2f} to {high:.2f})")
    return names


def plot_taggram(taggram, path, logmel, title=None, n_tags=DEFAULT_PLOT_TAGS):
    """Writes a taggram image: the log-mel spectrogram above, the top tags over time below, one time axis.

    Args:
        taggram: a `musiczoo_runtime.results.Taggram`.
        path: PNG file to write (atomically).
        logmel: the recording's log-mel `[frames, 96]` (`recording_logmel`).
        title: shown as the title; only a path's file name is kept.
        n_tags: tag rows (default 10; "all" for every tag).

    Returns:
        the tags drawn, top row first (the order of clip-level probability).
    """
    rows = len(tag_order(taggram, n_tags))
    heights = [2.2, max(1.6, 0.22 * rows)]
    figure, axes = plt.subplots(2, 1, figsize=(11, sum(heights) + 1.1), sharex=True,
                                gridspec_kw={"height_ratios": heights, "hspace": 0.3})
    names = draw_taggram(figure, axes[0], axes[1], taggram, logmel, n_tags)
    name = Path(str(title)).name if title else ""
    figure.suptitle(f"{name}   ({taggram.model}, {taggram.weights} tags, {taggram.duration:.1f} s)", fontsize=10)
    save_figure(figure, path, dpi=100, bbox_inches="tight")
    return names
