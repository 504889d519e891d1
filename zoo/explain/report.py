"""The HTML report: one self-contained page (local files only, no network) with audio players.

For a recording: its feature maps (`activations.png`), the model's filter maps
and their null figure, the clip's top tags, and a player for the recording as
the model hears it (16 kHz mono). For a folder written by `musiczoo explain
units`: every unit's excerpts with thumbnails, players and tags, and the
model's filter maps. Every asset is a file next to `index.html` (or in the
units folder, by relative path); the page loads no script, font or style
from anywhere else.
"""

import html
import json
import os
from pathlib import Path

import soundfile

from zoo.atomic import atomic_path
from zoo.contract import DEFAULT_MODEL, DEFAULT_WEIGHTS, SAMPLE_RATE
from zoo.errors import ZooError
from zoo.explain.activations import MAX_COLUMNS, activations
from zoo.explain.filter_plots import write_filter_map
from zoo.explain.filters import TEMPO_RANGE_BPM, filters
from zoo.explain.pictures import plot_activations
from zoo.signal.audio import open_audio

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1500px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
img.figure { max-width: 100%; border: 1px solid #ddd; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure.card { margin: 0; width: 260px; font-size: 0.8em; }
figure.card img { width: 260px; height: 96px; image-rendering: pixelated; display: block; }
figure.card audio { width: 260px; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
.note { color: #555; font-size: 0.9em; }
"""


def _page(title, body):
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def _write_page(out_dir, title, body):
    path = Path(out_dir) / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(_page(title, body), encoding="utf-8")
    return path


def _url(path, out_dir):
    """A relative URL from `out_dir` to `path`, quoted for an attribute."""
    return html.escape(Path(os.path.relpath(path, out_dir)).as_posix(), quote=True)


def _image(path, out_dir, alt):
    return f'<img class="figure" src="{_url(path, out_dir)}" alt="{html.escape(alt, quote=True)}">'


def _audio(path, out_dir):
    return f'<audio controls preload="metadata" src="{_url(path, out_dir)}"></audio>'


def write_listening_copy(audio, path):
    """Writes a recording as 16 kHz mono Ogg Vorbis (what the model hears), block by block, atomically."""
    source = open_audio(audio)
    with atomic_path(path) as tmp, soundfile.SoundFile(tmp, "w", SAMPLE_RATE, 1, format="OGG",
                                                       subtype="VORBIS") as handle:
        for block in source.blocks():
            handle.write(block)


def _filter_section(model, weights, out_dir):
    """Writes the filter maps into `out_dir/filters` and returns their HTML."""
    filter_map = filters(model, weights)
    written = write_filter_map(filter_map, Path(out_dir) / "filters")
    parts = ["<h2>First-layer filters</h2>",
             f'<p class="note">One picture per branch, sorted into a musical map (timbral by band, temporal by '
             f'periodicity); every number is in <a href="{_url(written["json"], out_dir)}">filters.json</a>.</p>']
    fractions = filter_map.tempo_fractions()
    if fractions:
        low, high = TEMPO_RANGE_BPM
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{share['learned']:.0%}</td>"
                       + (f"<td>{share['random']:.0%} ({share['random_2.5%']:.0%}-{share['random_97.5%']:.0%})</td>"
                          if share["random"] is not None else "<td>-</td>") + "</tr>"
                       for name, share in fractions.items())
        parts.append(f"<table><tr><th>temporal layer</th><th>learned in {low:g}-{high:g} BPM</th>"
                     f"<th>random init (95% of draws)</th></tr>{rows}</table>")
    if written["null"]:
        parts.append(_image(written["null"], out_dir, "learned against randomly initialised filters"))
    for name, image in written["images"].items():
        parts.append(f"<h3>{html.escape(name)}</h3>{_image(image, out_dir, f'filters of {name}')}")
    return "\n".join(parts)


def recording_report(audio, out_dir, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None,
                     max_columns=MAX_COLUMNS, with_filters=True):
    """Writes `out_dir/index.html` for one recording: player, feature maps, top tags, filter maps.

    Returns:
        Path of `index.html`.

    Raises:
        ZooError: unreadable audio, unknown model or layer.
    """
    out_dir = Path(out_dir)
    acts = activations(audio, model, weights, layers, max_columns=max_columns)
    name = Path(str(audio)).name
    plot_activations(acts, out_dir / "activations.png", title=name)
    write_listening_copy(audio, out_dir / "recording.ogg")
    tags = "".join(f"<tr><td>{html.escape(tag)}</td><td>{p:.3f}</td></tr>" for tag, p in acts.taggram.top(10))
    body = [f'<p>{html.escape(str(audio))}: {acts.duration:.1f} s, {html.escape(acts.model)} '
            f'({html.escape(str(acts.weights))})</p>',
            f"<p>{_audio(out_dir / 'recording.ogg', out_dir)}</p>",
            '<p class="note">Played as the model hears it: 16 kHz mono.</p>',
            "<h2>Feature maps</h2>", _image(out_dir / "activations.png", out_dir, f"feature maps of {name}"),
            f"<h2>Top tags (mean over patches)</h2><table>{tags}</table>"]
    if with_filters:
        body.append(_filter_section(model, weights, out_dir))
    return _write_page(out_dir, f"What {acts.model} hears in {name}", "\n".join(body))


def _unit_html(unit, units_dir, out_dir):
    over = unit["over_represented"]
    cards = []
    for excerpt in unit["excerpts"]:
        tags = ", ".join(f"{html.escape(t)} {p:.2f}" for t, p in excerpt["top_tags"])
        where = f"{html.escape(Path(excerpt['file']).name)} at {excerpt['start_seconds']:.1f} s"
        media = "" if excerpt["audio"] is None else (
            _image(units_dir / excerpt["thumbnail"], out_dir, f"log-mel of {where}").replace('class="figure" ', "")
            + _audio(units_dir / excerpt["audio"], out_dir))
        cards.append(f'<figure class="card">{media}<figcaption>{where}, score {excerpt["score"]:.3g}<br>{tags}'
                     "</figcaption></figure>")
    return (f"<h3>unit {unit['unit']}: most over-represented tag <b>{html.escape(over['tag'])}</b> "
            f"({over['excerpt_mean']:.2f} in its excerpts, {over['collection_mean']:.2f} in the collection)</h3>"
            f'<div class="cards">{"".join(cards)}</div>')


def units_report(units_dir, out_dir=None, with_filters=True):
    """Writes `out_dir/index.html` (default: inside `units_dir`) for a folder written by `musiczoo explain units`.

    Returns:
        Path of `index.html`.

    Raises:
        ZooError: the folder has no readable `units.json`.
    """
    units_dir = Path(units_dir)
    out_dir = Path(out_dir) if out_dir is not None else units_dir
    try:
        doc = json.loads((units_dir / "units.json").read_text())
    except (OSError, ValueError) as error:
        raise ZooError(f"{units_dir}: not a folder written by `musiczoo explain units` (units.json: {error})") from None
    body = [f"<p>{len(doc['files'])} recordings, {doc['patches']} patches of {doc['excerpt_seconds']:g} s; "
            f"{len(doc['units'])} units of layer <b>{html.escape(doc['layer'])}</b> of {html.escape(doc['model'])} "
            f"({html.escape(str(doc['weights']))}), each with its {doc['top']} most exciting excerpts by "
            f"{html.escape(doc['by'])} activation (at most {doc['per_file']} per recording).</p>"]
    if doc["failed"]:
        items = "".join(f"<li>{html.escape(f['error'])}</li>" for f in doc["failed"])
        body.append(f"<p>Skipped {len(doc['failed'])} unreadable recording(s):</p><ul>{items}</ul>")
    body.append("<h2>Units</h2>")
    body.extend(_unit_html(unit, units_dir, out_dir) for unit in doc["units"])
    if with_filters:
        body.append(_filter_section(doc["model"], doc["weights"], out_dir))
    return _write_page(out_dir, f"What excites each unit of {doc['model']} {doc['layer']}", "\n".join(body))


def report(source, out_dir, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, max_columns=MAX_COLUMNS,
           with_filters=True):
    """The HTML report of a recording, or of a folder written by `musiczoo explain units`.

    Args:
        source: audio file, or a units folder (holding `units.json`).
        out_dir: folder of `index.html` and the pictures and audio it shows.
        model, weights, layers, max_columns: for a recording, as in `zoo.explain.activations`
            (a units folder names its own model).
        with_filters: also show the model's first-layer filter maps.

    Returns:
        Path of `index.html`.
    """
    if Path(str(source)).is_dir():
        return units_report(source, out_dir, with_filters)
    return recording_report(source, out_dir, model, weights, layers, max_columns, with_filters)
