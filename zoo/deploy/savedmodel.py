"""Export catalog models as TensorFlow SavedModels that stock TF Serving runs.

Layout: `OUT/<served name>/<version>/` (saved_model.pb, variables/, assets/tags.txt)
and `OUT/models.config` listing every exported model. The graph holds core
TensorFlow ops only (no Kapre, no tensorflow-io), so the artifact runs with
nothing but TensorFlow. Signatures are documented in `export/README.md`.
"""

import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from musiczoo_runtime import checks
from musiczoo_runtime.atomic import atomic_path, rename_no_replace, temporary
from musiczoo_runtime.contract import DEFAULT_WEIGHTS, N_MELS, PATCH_FRAMES, PATCH_SECONDS, SAMPLE_RATE, frame_seconds
from zoo.deploy import wav_graph
from musiczoo_runtime.errors import ZooError, reason
from zoo.models.catalog import card
from zoo.models.loading import load
from zoo.signal import graph
from zoo.signal.logmel import logmel_frontend

TAGS_ASSET = "tags.txt"
CONFIG_NAME = "models.config"


def embedding_layer(info):
    """The layer whose patch-mean is a recording's embedding: `penultimate`, else the last patch-level feature layer."""
    if "penultimate" in info.feature_layers:
        return "penultimate"
    return [name for name in info.feature_layers if name not in info.frame_layers][-1]


def served_name(name, weights):
    """The TF Serving model name: the catalog name for the default weights, else `<name>_<weights>`."""
    return name if weights == DEFAULT_WEIGHTS else f"{name}_{weights}"


def serving_module(name, weights, tags_file):
    """The exported graph: waveform or WAV bytes in, patch and clip tags and an embedding out.

    The Keras models are captured by the functions, not attached to the
    module: the module holds their plain tf.Variables, so the SavedModel's
    TF1 graph (what TF Serving and saved_model_cli run) restores them.

    Args:
        name: catalog name.
        weights: weight tag.
        tags_file: path of a text file with one tag per line (becomes a SavedModel asset).

    Returns:
        tf.Module with tf.functions `serving_default` and `serve_wav`.
    """
    info = card(name, weights)
    net = load(name, weights=weights, include_frontend=False, input_seconds=PATCH_SECONDS)
    network = keras.Model(net.inputs, [net.output, net.get_layer(embedding_layer(info)).output])
    frontend = logmel_frontend(center=False)
    n_tags = len(info.tags)
    tags = tf.constant(info.tags)

    def tag_waveform(waveform):
        """`[batch, samples]` 16 kHz -> dict of per-patch and clip outputs (batch rows share a length)."""
        waveform = with_rank(waveform, 2, "serving_default: waveform must be [batch, samples] (float32 at 16 kHz)")
        waveform = wav_graph.checked_level(waveform, "serving_default: row")
        logmel = frontend(graph.reflect_pad(waveform))
        index, starts = graph.patch_indices(tf.shape(logmel)[1])
        patches = tf.gather(logmel, index, axis=1)  # [batch, patches, frames, mel]
        batch, count = tf.shape(patches)[0], tf.shape(patches)[1]
        probabilities, embedding = network(tf.reshape(patches, [-1, PATCH_FRAMES, N_MELS]),
                                           training=False)
        probabilities = tf.reshape(probabilities, [batch, count, n_tags])
        embedding = tf.reshape(embedding, [batch, count, -1, tf.shape(embedding)[-1]])
        return {
            "probabilities": probabilities,
            "clip_probabilities": tf.reduce_mean(probabilities, axis=1),
            "embedding": tf.reduce_mean(embedding, axis=[1, 2]),
            "times": tf.tile(tf.cast(starts, tf.float32)[None] * float(frame_seconds(1)), [batch, 1]),
            "tags": tf.tile(tags[None], [batch, 1]),
        }

    def tag_wav(item):
        """(one WAV file's bytes, its index) -> its outputs (probabilities as a ragged `[1, (patches), tags]`)."""
        audio, rate = wav_graph.decode_wav(*item)
        out = tag_waveform(wav_graph.resample(audio, rate)[None])
        return {
            "probabilities": tf.RaggedTensor.from_tensor(out["probabilities"]),
            "clip_probabilities": out["clip_probabilities"][0],
            "embedding": out["embedding"][0],
            "duration": tf.cast(tf.shape(audio)[0], tf.float32) / tf.cast(rate, tf.float32),
        }

    def serve_wav(wav):
        wav = with_rank(wav, 1, "serve_wav: wav must be a list of WAV file contents [batch]")
        with tf.control_dependencies([tf.debugging.Assert(tf.size(wav) > 0, [
                "serve_wav: the request holds no WAV file (an empty batch): send at least one"])]):
            wav = tf.identity(wav)
        out = tf.map_fn(tag_wav, (wav, tf.range(tf.shape(wav)[0])), fn_output_signature={
            "probabilities": tf.RaggedTensorSpec([1, None, n_tags], tf.float32, ragged_rank=1),
            "clip_probabilities": tf.TensorSpec([n_tags], tf.float32),
            "embedding": tf.TensorSpec([None], tf.float32),
            "duration": tf.TensorSpec([], tf.float32),
        })
        probabilities = out["probabilities"].merge_dims(1, 2)  # [batch, (patches), tags]
        return {
            "probabilities": probabilities.to_tensor(),
            "patch_count": tf.cast(probabilities.row_lengths(), tf.int32),
            "clip_probabilities": out["clip_probabilities"],
            "embedding": out["embedding"],
            "duration": out["duration"],
            "tags": tf.tile(tags[None], [tf.shape(wav)[0], 1]),
        }

    module = tf.Module(name="musiczoo")
    module.model_variables = [variable.value for variable in network.weights + frontend.weights]
    module.tags_asset = tf.saved_model.Asset(str(tags_file))
    # Any rank is let in, so that a wrong one meets `with_rank`'s message, not an index error deep in the graph.
    module.serving_default = tf.function(tag_waveform, input_signature=[
        tf.TensorSpec(None, tf.float32, name="waveform")])
    module.serve_wav = tf.function(serve_wav, input_signature=[tf.TensorSpec(None, tf.string, name="wav")])
    return module


def with_rank(tensor, rank, message):
    """`tensor`, checked on the graph to have `rank` axes (an INVALID_ARGUMENT naming the shape otherwise).

    Args:
        tensor: a signature's input, of any rank.
        rank: the rank it must have.
        message: what the input must be; the shape received is appended.
    """
    check = tf.debugging.Assert(tf.equal(tf.rank(tensor), rank),
                                [tf.strings.format(message + "; got shape {}", tf.shape(tensor))])
    with tf.control_dependencies([check]):
        checked = tf.identity(tensor)
    checked.set_shape([None] * rank)  # static only: the runtime check is the assertion above
    return checked


def non_core_ops(saved_model_dir):
    """Ops in any graph or function of a SavedModel that a TensorFlow-only process does not know.

    Runs in a separate process importing only tensorflow, so ops registered by
    tensorflow-io or Kapre's imports in this process cannot hide.

    Returns:
        sorted list of op names (empty when every op is core TensorFlow).
    """
    code = (
        "import sys\n"
        "from tensorflow.core.protobuf import saved_model_pb2\n"
        "from tensorflow.python.framework import op_def_registry\n"
        "model = saved_model_pb2.SavedModel()\n"
        "model.ParseFromString(open(sys.argv[1], 'rb').read())\n"
        "ops = set()\n"
        "for meta in model.meta_graphs:\n"
        "    ops.update(node.op for node in meta.graph_def.node)\n"
        "    for function in meta.graph_def.library.function:\n"
        "        ops.update(node.op for node in function.node_def)\n"
        "    functions = {f.signature.name for f in meta.graph_def.library.function}\n"
        "bad = sorted(op for op in ops if op not in functions and op_def_registry.get(op) is None)\n"
        "print('\\n'.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(Path(saved_model_dir) / "saved_model.pb")],
                            capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if line]


def _verify(version_dir, module):
    """Loads the written SavedModel and checks it reproduces the in-process module on a synthesized clip."""
    rng = np.random.default_rng(0)
    t = np.arange(int(4.5 * SAMPLE_RATE)) / SAMPLE_RATE
    clip = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)[None]
    want = module.serving_default(tf.constant(clip))["clip_probabilities"].numpy()
    got = tf.saved_model.load(str(version_dir)).signatures["serving_default"](
        waveform=tf.constant(clip))["clip_probabilities"].numpy()
    if not np.allclose(got, want, atol=1e-5):
        raise ZooError(f"export check failed: the reloaded SavedModel differs by {np.abs(got - want).max():.2e}")
    bad = non_core_ops(version_dir)
    if bad:
        raise ZooError(f"export check failed: the graph uses ops TF Serving lacks: {', '.join(bad)}")


def _next_version(model_dir):
    versions = [int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def _publish(saved, model_dir, version, force, scratch):
    """Renames the checked SavedModel `saved` to `model_dir/<version>` without ever replacing what appeared there.

    The rename fails if the version exists (`rename_no_replace`), so a version another exporter
    wrote after this one's check is never deleted: with an automatic version the next free number
    is taken, with a requested one the export stops. With `force` the existing version (which the
    user asked to replace) is first moved into `scratch`, this export's own temporary folder.

    Returns:
        Path of the published version folder.

    Raises:
        ZooError: the requested version exists (without force) or appeared during the export.
    """
    automatic = version is None
    version = version or _next_version(model_dir)
    while True:
        final = model_dir / str(version)
        if force and final.exists():
            rename_no_replace(final, scratch / "replaced")
        try:
            rename_no_replace(saved, final)
            return final
        except FileExistsError:
            if not automatic:
                raise ZooError(f"{final} appeared while this export was running (another exporter?): it was "
                               "left as it is; export again with another version") from None
            version = _next_version(model_dir)


def write_models_config(out_dir, base_path="/models"):
    """Writes `out_dir/models.config` (TF Serving's model config) listing every exported model, atomically.

    Args:
        out_dir: the export root.
        base_path: where TF Serving sees `out_dir` (the docker mount point).

    Returns:
        Path of the config file.
    """
    out_dir = Path(out_dir)
    names = sorted(p.name for p in out_dir.iterdir()
                   if p.is_dir() and any(v.is_dir() and v.name.isdigit() for v in p.iterdir()))
    entries = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{base_path}/{name}"\n'
        f'    model_platform: "tensorflow"\n  }}\n' for name in names)
    path = out_dir / CONFIG_NAME
    with atomic_path(path) as tmp:
        Path(tmp).write_text(f"model_config_list {{\n{entries}}}\n")
    return path


def export(name, weights=DEFAULT_WEIGHTS, out_dir="export", version=None, force=False, *, served_as=None):
    """Writes a SavedModel of a catalog model for TF Serving.

    The version folder is written under a temporary name, reloaded and checked
    (outputs and core ops), then renamed into place; `models.config` is then
    rewritten atomically. An interrupted export leaves neither behind.

    Args:
        name: catalog name.
        weights: weight tag.
        out_dir: export root (`OUT`).
        version: integer version, or None for the next free one.
        force: replace an existing version.
        served_as: TF Serving model name (default: `served_name(name, weights)`).

    Returns:
        Path of the version folder `OUT/<served name>/<version>`.

    Raises:
        ZooError: unknown model or weights, bad version, or an existing version without force.
    """
    served_as = served_as or served_name(name, weights)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", served_as) or served_as in (".", ".."):
        raise ZooError(f"served model name {served_as!r} may only hold letters, digits, '_', '-' and '.'")
    if version is not None:
        version = checks.positive_integer(version, "version")
    info = card(name, weights)
    model_dir = _model_folder(Path(out_dir), served_as)
    if version is not None and (model_dir / str(version)).exists() and not force:
        raise ZooError(f"{model_dir / str(version)} already exists: pass a new version, or force=True (--force) "
                       "to replace it")
    with temporary(model_dir, str(version or "next"), directory=True) as staging:
        tags_file = staging / TAGS_ASSET
        tags_file.write_text("\n".join(info.tags) + "\n")
        module = serving_module(name, weights, tags_file)
        saved = staging / "saved_model"
        tf.saved_model.save(module, str(saved), signatures={
            "serving_default": module.serving_default, "serve_wav": module.serve_wav})
        _verify(saved, module)
        final = _publish(saved, model_dir, version, force, staging)
    write_models_config(out_dir)
    return final


def _model_folder(out_dir, served_as):
    """Creates `out_dir/served_as` up front, or says why it cannot be (before any work)."""
    for folder in (out_dir, out_dir / served_as):
        if folder.exists() and not folder.is_dir():
            raise ZooError(f"{folder} is a file: the export root (--out) must be a folder, created if missing")
    try:
        (out_dir / served_as).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ZooError(f"cannot create the export folder {out_dir / served_as}: {reason(error)}") from None
    return out_dir / served_as
