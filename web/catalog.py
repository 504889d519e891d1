"""Writes the page's catalog.json: one entry per waveform-in ONNX graph in a folder, for the model picker.

Each entry's tags, licence and citation come from the graph's `musiczoo.*` metadata, its description
from weights/manifest.json; the taggram's colour scale is matplotlib's viridis over [0, 1], as
zoo/inference/plots.py draws it.

Usage: python web/catalog.py GRAPHS MANIFEST OUT  (graphs are GRAPHS/<model>.<weights>.onnx; OUT/graphs/ holds copies)
"""

import json
import os
import sys
from pathlib import Path

import matplotlib
import onnx

from musiczoo_runtime.contract import DEFAULT_HOP_SECONDS

ORDER = ("mtt", "msd")  # the default weights first in the picker


def entry(graph, manifest):
    """The picker's entry for one graph file (its metadata, with the manifest's description)."""
    meta = {prop.key: prop.value for prop in onnx.load(str(graph), load_external_data=False).metadata_props}
    model, weights = meta["musiczoo.model"], meta["musiczoo.weights"]
    card = manifest["models"][model]
    if meta["musiczoo.weights_sha256"] != card["weights"][weights]["sha256"]:
        sys.exit(f"{graph} was converted from other {model} {weights} weights than weights/manifest.json names: "
                 "delete it (make clean, or rm build/web-graphs/*) and run make web again")
    kind = card["weights"][weights].get("kind")
    return {"model": model, "weights": weights, "graph": f"graphs/{graph.name}",
            "description": card["description"] + (f" Weights: {weights}, {kind}." if kind else f" Weights: {weights}."),
            "license": json.loads(meta["musiczoo.license"]), "citation": meta["musiczoo.citation"],
            "tags": json.loads(meta["musiczoo.tags"]), "input": json.loads(meta["musiczoo.input"])}


def main(graphs, manifest, out):
    """Writes OUT/catalog.json for every GRAPHS/*.onnx (timbral_temporal mtt, the CLI's default, first)."""
    graphs, out = Path(graphs), Path(out)
    files = sorted(graphs.glob("*.onnx"))
    if not files:
        sys.exit(f"no ONNX graphs in {graphs}: run `make web` (it exports them) or set WEB_GRAPHS to a folder of them")
    manifest = json.loads(Path(manifest).read_text())
    models = [entry(graph, manifest) for graph in files]
    models.sort(key=lambda m: (m["model"] != "timbral_temporal", m["model"], ORDER.index(m["weights"])
                               if m["weights"] in ORDER else len(ORDER)))
    colormap = [[round(255 * c) for c in rgb[:3]] for rgb in matplotlib.colormaps["viridis"].colors]
    catalog = {"hop_seconds": DEFAULT_HOP_SECONDS, "colormap": colormap, "models": models}
    tmp = out / "catalog.json.tmp"
    tmp.write_text(json.dumps(catalog, indent=1))
    os.replace(tmp, out / "catalog.json")


if __name__ == "__main__":
    main(*sys.argv[1:])
