"""The HTML report: one self-contained page (local files only, no network) with audio players.

For a recording: its feature maps (`activations.png`), the clip's top tags, a
player for the recording as the model hears it (16 kHz mono), the top tags'
attribution maps with players of the recording masked by them, each branch's
share of the tags (models with concatenated branches), players of the most
active first-layer units auralised, and the model's filter maps with their
null figure. For a folder written by `musiczoo explain
units`: every unit's excerpts with thumbnails, players and tags, and the
model's filter maps. Every asset is a file next to `index.html` (or in the
units folder, by relative path); the page loads no script, font or style
from anywhere else.

The recording is decoded once (`read_recording`): the feature maps, the
spectrogram, the listening copy and every explanation section
(`zoo.explain.report.sections`) work on that one waveform and its patches.
The page's HTML blocks are in `zoo.explain.report.page`.
"""

import html
import json
from pathlib import Path

from musiczoo_runtime.contract import DEFAULT_MODEL, DEFAULT_WEIGHTS, SAMPLE_RATE
from musiczoo_runtime.errors import ZooError
from zoo.explain.activations import MAX_COLUMNS, activations
from zoo.explain.pictures import plot_activations
from zoo.explain.recording import read_recording
from zoo.explain.report.page import audio_player, image, write_page
from zoo.explain.report.sections import attribution_section, auralisation_section, branch_section, filter_section
from zoo.inference.plots import plot_taggram, recording_logmel
from zoo.outputs.audio import write_audio
from zoo.progress import SILENT

EXPLAIN_DEFAULTS = {"attribution_tags": 2, "method": "integrated_gradients", "branches": True, "auralised_units": 3}


def recording_report(audio, out_dir, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None,
                     max_columns=MAX_COLUMNS, with_filters=True, explain=EXPLAIN_DEFAULTS, progress=SILENT):
    """Writes `out_dir/index.html` for one recording: player, feature maps, top tags, explanations, filter maps.

    `explain` sets the explanation sections (see `EXPLAIN_DEFAULTS`): attribution maps of the top
    `attribution_tags` tags by `method`, the branch shares of the top 10 tags (`branches`, models with
    concatenated branches only) and the `auralised_units` most active units of the first auralisable layer;
    0 or False leaves a section out. `progress` (a `zoo.progress.Progress`) shows each stage.

    Returns:
        Path of `index.html`.

    Raises:
        ZooError: unreadable audio, unknown model or layer.
    """
    out_dir = Path(out_dir)
    with progress.stage("tags and feature maps"):
        recording = read_recording(audio)  # the one decode: every section works on this waveform and its patches
        waveform = recording.waveform
        acts = activations(waveform, model, weights, layers, sample_rate=SAMPLE_RATE, max_columns=max_columns)
        name = Path(str(audio)).name
        plot_activations(acts, out_dir / "activations.png", title=name)
        plot_taggram(acts.taggram, out_dir / "taggram.png", recording_logmel(waveform, SAMPLE_RATE), title=name)
        write_audio(waveform, out_dir / "recording.ogg")
    tags = "".join(f"<tr><td>{html.escape(tag)}</td><td>{p:.2f}</td></tr>" for tag, p in acts.taggram.top(10))
    body = [f'<p>{html.escape(name)}: {acts.duration:.1f} s, {html.escape(acts.model)} '
            f'({html.escape(str(acts.weights))} tags)</p>',
            f"<p>{audio_player(out_dir / 'recording.ogg', out_dir)}</p>",
            '<p class="note">Played as the model hears it: 16 kHz mono.</p>',
            "<h2>What the model says: the top tags</h2>",
            "<p>Probability of each tag for the whole recording (mean over its 3 s patches), and how it changes "
            "over time under the spectrogram.</p>",
            f"<table><tr><th>tag</th><th>probability</th></tr>{tags}</table>",
            image(out_dir / "taggram.png", out_dir, f"taggram of {name}"),
            "<details><summary>Inside the network: feature maps</summary>"
            '<p class="note">Every unit of each layer over time, each scaled from its own minimum to its maximum '
            "and ordered by the time of its peak.</p>"
            + image(out_dir / "activations.png", out_dir, f"feature maps of {name}") + "</details>"]
    settings = {**EXPLAIN_DEFAULTS, **explain}
    if settings["attribution_tags"]:
        top = [tag for tag, _ in acts.taggram.top(settings["attribution_tags"])]
        body.append(attribution_section(recording, name, out_dir, model, weights, top, settings["method"], progress))
    if settings["branches"]:
        body.append(branch_section(recording, out_dir, model, weights, [tag for tag, _ in acts.taggram.top(10)],
                                   progress))
    if settings["auralised_units"]:
        with progress.stage("auralised units"):
            body.append(auralisation_section(recording, out_dir, model, weights, settings["auralised_units"]))
    if with_filters:
        body.append(filter_section(model, weights, out_dir, progress))
    return write_page(out_dir, f"What {acts.model} hears in {name}", "\n".join(body))


def _unit_html(unit, units_dir, out_dir):
    over = unit["over_represented"]
    cards = []
    for excerpt in unit["excerpts"]:
        tags = ", ".join(f"{html.escape(t)} {p:.2f}" for t, p in excerpt["top_tags"])
        where = f"{html.escape(Path(excerpt['file']).name)} at {excerpt['start_seconds']:.1f} s"
        media = "" if excerpt["audio"] is None else (
            image(units_dir / excerpt["thumbnail"], out_dir, f"log-mel of {where}").replace('class="figure" ', "")
            + audio_player(units_dir / excerpt["audio"], out_dir))
        cards.append(f'<figure class="card">{media}<figcaption>{where}, score {excerpt["score"]:.3g}<br>{tags}'
                     "</figcaption></figure>")
    return (f"<h3>unit {unit['unit']}: most over-represented tag <b>{html.escape(over['tag'])}</b> "
            f"({over['excerpt_mean']:.2f} in its excerpts, {over['collection_mean']:.2f} in the collection)</h3>"
            f'<div class="cards">{"".join(cards)}</div>')


def units_report(units_dir, out_dir=None, with_filters=True, progress=SILENT):
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
        body.append(filter_section(doc["model"], doc["weights"], out_dir, progress))
    return write_page(out_dir, f"What excites each unit of {doc['model']} {doc['layer']}", "\n".join(body))


def report(source, out_dir, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, max_columns=MAX_COLUMNS,
           with_filters=True, explain=EXPLAIN_DEFAULTS, progress=SILENT):
    """The HTML report of a recording, or of a folder written by `musiczoo explain units`.

    Args:
        source: audio file, or a units folder (holding `units.json`).
        out_dir: folder of `index.html` and the pictures and audio it shows.
        model, weights, layers, max_columns: for a recording, as in `zoo.explain.activations`
            (a units folder names its own model).
        with_filters: also show the model's first-layer filter maps.
        explain: for a recording, the explanation sections (see `recording_report`).
        progress: a `zoo.progress.Progress` showing each stage (default: silent).

    Returns:
        Path of `index.html`.
    """
    if Path(str(source)).is_dir():
        return units_report(source, out_dir, with_filters, progress)
    return recording_report(source, out_dir, model, weights, layers, max_columns, with_filters, explain, progress)
