"""The report's sections after the top tags: attribution maps, branch shares, auralised units, filter maps.

Each section writes its pictures and audio into the report's folder and returns
its HTML (assets by relative path, players for every audio file). The sections
about the recording take the one `Recording` the report decoded
(`zoo.explain.recording.read_recording`), so none decodes the audio again.
"""

import html
from pathlib import Path

import numpy as np

from musiczoo_runtime.errors import ZooError
from zoo.explain.attribution import attribute, evidence_share
from zoo.explain.attribution_plots import plot_attribution, plot_branches
from zoo.explain.auralise import auralisable_layers, auralise_top_units
from zoo.explain.branches import branch_attribution, branch_layout
from zoo.explain.filter_plots import write_filter_map
from zoo.explain.filters import TEMPO_RANGE_BPM, filters
from zoo.explain.network import open_network
from zoo.explain.report.page import audio_player, image, url
from zoo.explain.tuning import tuning
from zoo.outputs.audio import write_audio
from zoo.outputs.names import safe_name
from zoo.progress import SILENT


def attribution_section(recording, name, out_dir, model, weights, tags, method="integrated_gradients",
                        progress=SILENT):
    """Attribution of each of `tags` over the recording: map picture and the recording masked by it.

    Integrated gradients (the default: the most faithful method in benchmarks/faithfulness.py) run
    with `attribute`'s fast default budget; the page states how complete each map is.

    Args:
        recording: the report's `zoo.explain.recording.Recording`.
        name: the recording's file name, shown above each map.
        out_dir: the report's folder.
        model, weights, tags, method: as in `zoo.explain.attribution.attribute`.
        progress: a `zoo.progress.Progress`, one stage per tag counting the recording's patches.
    """
    parts = ["<h2>Why these tags: where in the sound the model found them</h2>",
             "<p>Each map shows which moments and pitch regions pushed the model towards the tag (red) or away from "
             "it (blue), above the spectrogram of the same music; the black line is the tag's probability over "
             "time. The player plays only the parts that speak for the tag.</p>",
             f"<details><summary>How the maps are made</summary><p class=\"note\">{html.escape(method)} on the "
             "log-mel input, for the tag's logit (the score before the sigmoid), patch by patch. Integrated "
             "gradients add up the gradient along a straight path from a baseline to the patch; the sum of a map "
             "equals the tag's evidence (logit minus the baseline's logit) up to the completeness gap stated under "
             "each map. The masked audio keeps the attribution's positive part as a mel mask, phase kept.</p>"
             "</details>"]
    for tag in tags:
        stem = f"attribution.{safe_name(tag)}.{method}"
        with progress.stage(f"attribution of {tag} ({method})", len(recording.patches), "patch") as advance:
            result = attribute(recording, model, weights, tag, method, progress=advance)
            plot_attribution(result, out_dir / f"{stem}.png", title=name)  # in the stage: its lines cover these too
            write_audio(result.listen(), out_dir / f"{stem}.ogg", scale_peaks=True)
        check = ""
        if "completeness_gap" in result.details:
            share, largest = evidence_share(result)
            check = (f"<p>How much of the tag's evidence the map accounts for: <b>{share:.0%}</b>.</p>"
                     f'<details><summary>completeness in numbers</summary><p class="note">Evidence: the logit '
                     f"minus the logit of {html.escape(result.details['baseline'])}, summed over the patches. "
                     f"Largest gap on one patch {largest:.2e} logit with {max(result.details['evaluations'])} "
                     f"gradients per patch (budget {result.details['max_points']}); "
                     "<code>musiczoo explain attribute --tolerance 1e-3</code> refines until 1e-3.</p></details>")
        parts.append(f"<h3>{html.escape(tag)}</h3>{image(out_dir / f'{stem}.png', out_dir, f'{method} for {tag}')}"
                     f"{check}<p>{audio_player(out_dir / f'{stem}.ogg', out_dir)}</p>")
    return "\n".join(parts)


REPORT_BRANCH_IG = {"tolerance": 1e-2, "max_points": 64}  # in a report: coarser than branch_attribution's 1e-3


def branch_section(recording, out_dir, model, weights, tags, progress=SILENT):
    """Timbral against temporal share of each of `tags`' logit; empty for a model without concatenated branches.

    The path integral over the `recording`'s patches runs with `REPORT_BRANCH_IG` (the page states the gap
    reached); `progress` shows one stage counting the patches."""
    try:
        branch_layout(open_network(model, weights))
    except ZooError:  # no concatenated branches: nothing to split
        return ""
    with progress.stage("branch shares", len(recording.patches), "patch") as advance:
        result = branch_attribution(recording, model, weights, tags, progress=advance, **REPORT_BRANCH_IG)
    plot_branches(result, out_dir / "branches.png", n_tags=len(tags))
    summary = result.summary()
    top = sorted(summary, key=lambda t: -summary[t]["probability"])
    head = "".join(f"<th>{html.escape(b)}</th>" for b in result.branches)

    def fraction(tag, branch):
        rise = summary[tag]["logit"] - summary[tag]["baseline_logit"]
        return summary[tag]["integrated"][branch] / rise if abs(rise) > 1e-6 else float("nan")

    rows = "".join(f"<tr><td>{html.escape(t)}</td><td>{summary[t]['probability']:.2f}</td>"
                   + "".join(f"<td>{fraction(t, b):.0%}</td>" for b in result.branches) + "</tr>" for t in top)
    return ("<h2>Timbre or rhythm: which half of the network found each tag</h2>"
            "<p>The model has a timbral branch (tall filters: the colour of the sound) and a temporal branch "
            "(long filters: rhythm and tempo). For each tag, most probable first, the table splits the tag's "
            "evidence (how much higher the model scores the tag here than on average music) between them; the "
            "two fractions add up to about 100%. A branch above 100% with the other below 0 means the branches "
            "disagree and the first wins.</p>"
            f"<table><tr><th>tag</th><th>probability</th>{head}</tr>{rows}</table>"
            "<details><summary>The same in logit units, with ablation</summary>"
            f'<p class="note">Integrated gradients at the branch concatenation from the '
            f"{html.escape(result.reference)} (largest completeness gap {np.abs(result.gaps).max():.1e} logit), and "
            "ablation (a branch replaced by that mean). Bars are in logit units, so a tag with a large evidence "
            "can show a larger bar than a more probable one.</p>"
            + image(out_dir / "branches.png", out_dir, "branch shares per tag") + "</details>")


def auralisation_section(recording, out_dir, model, weights, n_units=3, layer=None):
    """The `n_units` most active units of the first auralisable layer on the `recording`, as audio (Choi et al.'s
    deconvolution)."""
    layer = layer or auralisable_layers(open_network(model, weights))[0]
    units, waveforms, _ = auralise_top_units(recording, model, weights, layer, n_units)
    peaks = tuning(model, weights, layer).peak_hz()
    cards = []
    for unit, waveform in zip(units, waveforms):
        path = out_dir / f"auralised.{safe_name(layer)}.unit{unit}.ogg"
        write_audio(waveform, path, scale_peaks=True)
        cards.append(f'<figure class="card">{audio_player(path, out_dir)}<figcaption>unit {unit}: responds most '
                     f"to a tone at {peaks[unit]:.0f} Hz</figcaption></figure>")
    return (f"<h2>What the most active units of {html.escape(layer)} hear</h2>"
            '<p class="note">Each unit\'s feature map deconvolved back to the log-mel and used as a mask on the '
            "recording's spectrogram (phase kept); compare with the recording at the top. Each unit's tone is "
            "measured with probe sines from 60 Hz to 7.8 kHz (<code>zoo.explain.tuning</code>).</p>"
            f'<div class="cards">{"".join(cards)}</div>')


def filter_section(model, weights, out_dir, progress=SILENT):
    """Writes the filter maps into `out_dir/filters` and returns their HTML."""
    with progress.stage("first-layer filter maps"):
        filter_map = filters(model, weights)
        written = write_filter_map(filter_map, Path(out_dir) / "filters")
    parts = ["<h2>First-layer filters</h2>",
             f'<p class="note">One picture per branch, sorted into a musical map (timbral by band, temporal by '
             f'periodicity); every number is in <a href="{url(written["json"], out_dir)}">filters.json</a>.</p>']
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
        parts.append(image(written["null"], out_dir, "learned against randomly initialised filters"))
    for name, picture in written["images"].items():
        parts.append(f"<h3>{html.escape(name)}</h3>{image(picture, out_dir, f'filters of {name}')}")
    return "\n".join(parts)
