"""The inference API: taggrams (`tag`, `tag_many`) and named features (`extract`, `extract_many`).

Recordings stream through `zoo.inference.pipeline`: the log-mel front end
runs once per recording, block by block, and the network runs on the patches
cut from that frame sequence, in batches shared across recordings, so memory
stays bounded whatever the length and a bad file fails alone.
"""

from functools import lru_cache, partial

from musiczoo_runtime import checks
from musiczoo_runtime.contract import (
    BATCH_SIZE,
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
)
from musiczoo_runtime.inference import only  # the one result of a *_many call, shared with the runtime
from zoo.inference import pipeline, runtimes
from musiczoo_runtime.results import Features, Taggram
from zoo.inference.runtimes import patch_function  # noqa: F401 - the Keras patch function zoo.training uses
from zoo.models.catalog import card, shipped_tag
from musiczoo_runtime import patching
from musiczoo_runtime.audio import BLOCK_SECONDS, open_audio

DEFAULT_RUNTIME = "auto"


@lru_cache(maxsize=8)
def network_function(model, weights, outputs=None, precision="float32", runtime="tensorflow", batch_size=BATCH_SIZE,
                     threads=None):
    """A catalog model on log-mel patches (with its top) returning the `outputs` layers (see `runtimes.network`).

    Args:
        model: catalog name.
        weights: weight tag or file.
        outputs: tuple of layer names, or None for the probabilities.
        precision: "float32" or "bfloat16" (TensorFlow only; bfloat16 is meant for CPUs with AMX).
        runtime: "tensorflow", "onnx" or "auto".
        batch_size: patches per call (what "auto" chooses for).
        threads: ONNX Runtime's intra-op threads (None: every core).

    Returns:
        callable `[batch, 187, 96]` -> the outputs, built once per argument set.
    """
    return runtimes.network(model, weights, outputs, runtime, precision, batch_size, threads)


def openers(audios, sample_rate=None):
    """Zero-argument AudioSource makers for paths or arrays, opened lazily by the pipeline's reader thread."""
    return [lambda audio=audio: open_audio(audio, sample_rate) for audio in audios]


def tag_many(audios, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, hop_seconds=DEFAULT_HOP_SECONDS,
             last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE,
             chunk_seconds=BLOCK_SECONDS, precision="float32", runtime=DEFAULT_RUNTIME):
    """Tags many recordings, batching patches across them and decoding ahead of the network.

    Args:
        audios: sequence of paths (or of arrays, with `sample_rate=`).
        model, weights, hop_seconds, last_patch, batch_size, chunk_seconds, precision, runtime: as in `tag`.

    Yields:
        (audio, Taggram or ZooError) in input order; a recording that fails
        does not stop the others.
    """
    audios = checks.recordings(audios, "tag_many")
    weights = shipped_tag(model, weights)
    tags = card(model, weights).tags
    network = partial(network_function, model, weights, None, precision, runtime, batch_size)
    for result in pipeline.run(network, openers(audios, sample_rate), hop_seconds, last_patch, batch_size,
                               chunk_seconds):
        yield audios[result.index], result.error or Taggram.from_result(result, tags, model, weights)


def tag(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, hop_seconds=DEFAULT_HOP_SECONDS,
        last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE,
        chunk_seconds=BLOCK_SECONDS, precision="float32", runtime=DEFAULT_RUNTIME):
    """Tags a recording patch by patch.

    Args:
        audio: path of an audio file, or an array `[samples]` / `[samples, channels]`.
        model: catalog name.
        weights: weight tag, or one of the model's shipped weight files (`catalog.shipped_tag`).
        hop_seconds: seconds between patch starts (whole frames: 3 gives 187 frames, 2.992 s).
        last_patch: "repeat" (pad the final partial patch) or "drop".
        sample_rate: the array's rate (required for arrays).
        batch_size: patches per forward pass.
        chunk_seconds: audio decoded and transformed at a time (bounds memory;
            results do not depend on it).
        precision: "float32" (default) or "bfloat16" (see benchmarks/RESULTS.md
            for its speed and agreement on this machine).
        runtime: what runs the network: "tensorflow", "onnx" (ONNX Runtime, on
            a graph converted once per weights and cached) or "auto" (default:
            the faster of the two for this model and batch size on this CPU,
            as measured; see `zoo.inference.runtimes`).

    Returns:
        Taggram with `probabilities [patches, tags]` and their mean.

    Raises:
        ZooError: unreadable audio or bad arguments (what was given is named).

    Warns:
        ZooWarning: silent audio, audio shorter than a patch, float audio beyond full scale (normalised),
            a hop longer than the recording.
    """
    return only(tag_many([audio], model, weights, hop_seconds, last_patch, sample_rate=sample_rate,
                         batch_size=batch_size, chunk_seconds=chunk_seconds, precision=precision,
                         runtime=runtime))


def extract_many(audios, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, hop_seconds=DEFAULT_HOP_SECONDS,
                 last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE,
                 chunk_seconds=BLOCK_SECONDS, precision="float32", runtime=DEFAULT_RUNTIME):
    """Named intermediate features of many recordings, batched across them.

    Args:
        audios: sequence of paths (or of arrays, with `sample_rate=`).
        model, weights, layers, hop_seconds, last_patch, batch_size, chunk_seconds, precision, runtime:
            as in `extract`.

    Yields:
        (audio, Features or ZooError) in input order.
    """
    audios = checks.recordings(audios, "extract_many")
    weights = shipped_tag(model, weights)
    info = card(model, weights)
    layers = checks.feature_layers(model, layers, info.feature_layers)
    hop = patching.hop_frames(hop_seconds)
    network = partial(network_function, model, weights, tuple(layers), precision, runtime, batch_size)
    for result in pipeline.run(network, openers(audios, sample_rate), hop_seconds, last_patch, batch_size,
                               chunk_seconds):
        yield audios[result.index], result.error or Features.from_result(result, layers, info.frame_layers, hop,
                                                                         model, weights)


def extract(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=None, hop_seconds=DEFAULT_HOP_SECONDS,
            last_patch=DEFAULT_LAST_PATCH, *, sample_rate=None, batch_size=BATCH_SIZE,
            chunk_seconds=BLOCK_SECONDS, precision="float32", runtime=DEFAULT_RUNTIME):
    """Named intermediate features of a recording.

    Args:
        audio, model, weights, hop_seconds, last_patch, sample_rate, batch_size, chunk_seconds, precision, runtime:
            as in `tag`.
        layers: layer names (default: every feature layer of the model's card).

    Returns:
        Features: frame-level layers as `[frames, dim]`, patch-level layers as
        `[patches, ...]`, with the start time of every row.

    Raises:
        ZooError: unreadable audio, unknown layer or bad arguments.
    """
    return only(extract_many([audio], model, weights, layers, hop_seconds, last_patch, sample_rate=sample_rate,
                             batch_size=batch_size, chunk_seconds=chunk_seconds, precision=precision,
                             runtime=runtime))
