"""ONNX export of a catalog network: one `.onnx` file that ONNX Runtime runs without TensorFlow or the zoo.

The file is the graph `zoo.inference.runtimes` converts and caches for
`runtime="onnx"` (see `zoo.models.onnx_graph` for its inputs, outputs and
metadata), copied atomically to `OUT/<name>.<weights>.onnx`. Its input is the
log-mel patch `[batch, 187, 96]`: the README's "ONNX" section shows how to
compute it with librosa outside the zoo.
"""

import shutil
from pathlib import Path

from zoo.atomic import atomic_path
from zoo.contract import DEFAULT_WEIGHTS
from zoo.errors import ZooError
from zoo.inference.runtimes import onnx_path


def export_onnx(name, weights=DEFAULT_WEIGHTS, out_dir="export", force=False):
    """Writes a catalog network with its pretrained weights as an ONNX file.

    Args:
        name: catalog name.
        weights: weight tag ("mtt", "msd").
        out_dir: destination folder (created if missing).
        force: replace an existing file of the same name.

    Returns:
        Path of the written `<name>.<weights>.onnx`.

    Raises:
        ZooError: unknown model or weights, or the file exists and `force` is False.
    """
    path = Path(out_dir) / f"{name}.{weights}.onnx"
    source = onnx_path(name, weights)
    if path.exists() and not force:
        raise ZooError(f"{path} already exists: pass force=True (--force) to replace it")
    try:
        with atomic_path(path) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as error:
        raise ZooError(f"could not write {path} ({error}); choose an --out folder you can write to") from None
    return path
