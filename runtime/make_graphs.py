"""Writes the waveform-in ONNX graphs of every pretrained weight set into musiczoo_runtime/graphs/.

Run with the full musiczoo installed (it converts with TensorFlow and tf2onnx), from the repository root:
`make graphs` (or `python runtime/make_graphs.py`). For each catalog model and weight tag it copies the
graph `zoo.inference.runtimes.onnx_path(model, weights, "waveform")` converts (front end in ONNX operators,
then the network) to `graphs/<model>.<weights>.onnx` and records in `graphs/index.json` the catalog row
(`musiczoo-runtime list` prints it) and, per weight set, the file, its sha256, the weight file's sha256 and
the tag list. tests/test_runtime_graphs.py checks that the committed graphs are current.
"""

import hashlib
import json
import shutil
from pathlib import Path

from musiczoo_runtime.atomic import atomic_path
from zoo.inference.runtimes import onnx_path
from zoo.models.catalog import card, list_models, spec

GRAPHS = Path(__file__).resolve().parent / "musiczoo_runtime" / "graphs"


def build_index():
    """Converts (or takes from the cache) every graph, copies it into GRAPHS; returns the index dict."""
    index = {}
    for name in list_models():
        model = spec(name)
        entry = {"params": model.params, "description": model.description, "weights": {}}
        for weights in model.weights:
            info = card(name, weights)
            target = GRAPHS / f"{name}.{weights}.onnx"
            with atomic_path(target) as tmp:
                shutil.copyfile(onnx_path(name, weights, "waveform"), tmp)
            entry["weights"][weights] = {
                "file": target.name,
                "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
                "weights_sha256": info.sha256,
                "tags": list(info.tags),
            }
            print(f"{target.name}: {target.stat().st_size / 1e6:.1f} MB")
        index[name] = entry
    return index


def main():
    GRAPHS.mkdir(parents=True, exist_ok=True)
    index = build_index()
    with atomic_path(GRAPHS / "index.json") as tmp:
        tmp.write_text(json.dumps(index, indent=1) + "\n")
    total = sum(path.stat().st_size for path in GRAPHS.glob("*.onnx"))
    print(f"{len(list(GRAPHS.glob('*.onnx')))} graphs, {total / 1e6:.1f} MB in {GRAPHS}")


if __name__ == "__main__":
    main()
