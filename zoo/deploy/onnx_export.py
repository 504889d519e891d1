"""ONNX export of a catalog network: one `.onnx` file that ONNX Runtime runs without TensorFlow or the zoo.

The file is a graph `zoo.inference.runtimes.onnx_path` converts and caches,
copied atomically into the output folder. Two inputs (`zoo.models.onnx_frontend`):

- "waveform" (the default): the front end in ONNX operators, then the network;
  input `waveform [batch, samples]`, a patch's window of the reflect-padded
  16 kHz recording (`musiczoo_runtime.patching.patch_windows` cuts them). The file
  alone turns audio into tags, with the front end the weights were trained
  with, so nobody re-implements it; written to `OUT/<name>.<weights>.onnx`.
- "logmel": the network alone (what `runtime="onnx"` runs); input the log-mel
  patch `[batch, 187, 96]`, computed by the caller (the README's "ONNX"
  section has a librosa recipe); written to `OUT/<name>.<weights>.logmel.onnx`.
"""

import shutil
from pathlib import Path

from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.contract import DEFAULT_WEIGHTS
from musiczoo_runtime.errors import ZooError
from zoo.inference.runtimes import onnx_path

DEFAULT_INPUT = "waveform"


def export_onnx(name, weights=DEFAULT_WEIGHTS, out_dir="export", force=False, input=DEFAULT_INPUT):
    """Writes a catalog network with its pretrained weights as an ONNX file.

    Args:
        name: catalog name.
        weights: weight tag ("mtt", "msd").
        out_dir: destination folder (created if missing).
        force: replace an existing file of the same name.
        input: "waveform" (front end included; the default) or "logmel" (the network alone).

    Returns:
        Path of the written `<name>.<weights>.onnx` (waveform) or `<name>.<weights>.logmel.onnx`.

    Raises:
        ZooError: unknown model, weights or input, or the file exists and `force` is False.
    """
    suffix = ".onnx" if input == "waveform" else f".{input}.onnx"
    path = Path(out_dir) / f"{name}.{weights}{suffix}"
    source = onnx_path(name, weights, input)
    if path.exists() and not force:
        raise ZooError(f"{path} already exists: pass force=True (--force) to replace it")
    try:
        with atomic_path(path) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as error:
        raise ZooError(f"could not write {path} ({error}); choose an --out folder you can write to") from None
    return path
