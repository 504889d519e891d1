"""The report's explanation sections for one recording: attribution maps, branch shares and auralised units.

Each section writes its pictures and audio into the report's folder and returns
its HTML (assets by relative path, players for every audio file). The report
(`zoo.explain.report`) places them after the feature maps.
"""

import html
from pathlib import Path

import numpy as np

from musiczoo_runtime.errors import ZooError
from zoo.explain.attribution import attribute
from zoo.explain.attribution_plots import plot_attribution, plot_branches
from zoo.explain.auralise import auralisable_layers, auralise_top_units
from zoo.explain.branches import branch_attribution, branch_layout
from zoo.explain.network import open_network
from zoo.explain.recording import write_waveform
from zoo.explain.report_html import audio_player, image
from zoo.explain.tuning import tuning


def write_ogg(waveform, path):
    """Writes a 16 kHz waveform `[samples]` as Ogg Vorbis, atomically, peaks above 1 scaled down (Vorbis clips)."""
    peak = float(np.abs(waveform).max()) if len(waveform) else 0.0
    write_waveform(waveform / peak if peak > 1 else waveform, path)


def _safe(name):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


REPORT_IG = {"tolerance": 1e-2, "max_points": 48}  # in a report: within 1e-2, at most 48 gradients a patch


def attribution_section(audio, out_dir, model, weights, tags, method="integrated_gradients"):
    """Attribution of each of `tags` over the recording: map picture and the recording masked by it.

    Integrated gradients (the default: the most faithful method in benchmarks/faithfulness.py) run
    with `REPORT_IG`, coarser than `attribute`'s default 1e-3, to keep a report quick; the page
    states each map's completeness gap.
    """
    parts = ["<h2>Why these tags: attribution on the log-mel</h2>",
             f'<p class="note">{html.escape(method)}: which time-frequency bins pushed the model towards each '
             "tag (red or bright: for the tag; the line is the tag's probability per patch, right axis). The player "
             "plays the recording masked by the attribution's positive part, phase kept.</p>"]
    for tag in tags:
        result = attribute(audio, model, weights, tag, method, **REPORT_IG)
        stem = f"attribution.{_safe(tag)}.{method}"
        plot_attribution(result, out_dir / f"{stem}.png", title=Path(str(audio)).name)
        write_ogg(result.listen(), out_dir / f"{stem}.ogg")
        gap = result.details.get("completeness_gap")
        start = html.escape(result.details.get("baseline", ""))
        check = "" if gap is None else (f'<p class="note">Completeness: the map sums to the logit\'s rise from '
                                        f"{start} within {np.abs(gap).max():.1e}.</p>")
        parts.append(f"<h3>{html.escape(tag)}</h3>{image(out_dir / f'{stem}.png', out_dir, f'{method} for {tag}')}"
                     f"{check}<p>{audio_player(out_dir / f'{stem}.ogg', out_dir)}</p>")
    return "\n".join(parts)


def branch_section(audio, out_dir, model, weights, tags):
    """Timbral against temporal share of each of `tags`' logit; empty for a model without concatenated branches."""
    try:
        branch_layout(open_network(model, weights))
    except ZooError:  # no concatenated branches: nothing to split
        return ""
    result = branch_attribution(audio, model, weights, tags)
    plot_branches(result, out_dir / "branches.png", n_tags=len(tags))
    summary = result.summary()
    top = sorted(summary, key=lambda t: -summary[t]["probability"])
    head = "".join(f"<th>{html.escape(b)} (IG)</th>" for b in result.branches)
    rows = "".join(f"<tr><td>{html.escape(t)}</td><td>{summary[t]['probability']:.2f}</td>"
                   + "".join(f"<td>{summary[t]['integrated'][b]:+.2f}</td>" for b in result.branches) + "</tr>"
                   for t in top)
    return ("<h2>Timbral or temporal: each branch's share of the tags</h2>"
            f'<p class="note">Integrated gradients at the branch concatenation from the {html.escape(result.reference)}'
            f" (largest completeness gap {np.abs(result.gaps).max():.1e}), and ablation (a branch replaced by that "
            "mean); shares in logit units.</p>"
            + image(out_dir / "branches.png", out_dir, "branch shares per tag")
            + f"<table><tr><th>tag</th><th>probability</th>{head}</tr>{rows}</table>")


def auralisation_section(audio, out_dir, model, weights, n_units=3, layer=None):
    """The `n_units` most active units of the first auralisable layer, as audio (Choi et al.'s deconvolution)."""
    layer = layer or auralisable_layers(open_network(model, weights))[0]
    units, waveforms, _ = auralise_top_units(audio, model, weights, layer, n_units)
    peaks = tuning(model, weights, layer).peak_hz()
    cards = []
    for unit, waveform in zip(units, waveforms):
        path = out_dir / f"auralised.{_safe(layer)}.unit{unit}.ogg"
        write_ogg(waveform, path)
        cards.append(f'<figure class="card">{audio_player(path, out_dir)}<figcaption>unit {unit}: responds most '
                     f"to a tone at {peaks[unit]:.0f} Hz</figcaption></figure>")
    return (f"<h2>What the most active units of {html.escape(layer)} hear</h2>"
            '<p class="note">Each unit\'s feature map deconvolved back to the log-mel and used as a mask on the '
            "recording's spectrogram (phase kept); compare with the recording at the top. Each unit's tone is "
            "measured with probe sines from 60 Hz to 7.8 kHz (<code>zoo.explain.tuning</code>).</p>"
            f'<div class="cards">{"".join(cards)}</div>')
