"""Which time-frequency bins of the log-mel made the model say a tag: saliency, SmoothGrad, integrated gradients,
Grad-CAM.

Gradients are taken with `tf.GradientTape` with respect to the log-mel patch
`[187, 96]` that the network without its front end takes, for the tag's logit
(the input of the sigmoid, which does not saturate):

- `saliency`: |d logit / d log-mel| (Simonyan et al. 2014).
- `smoothgrad`: the mean of |gradient| over `samples` copies of the patch with
  Gaussian noise of `noise` times the patch's value range added (Smilkov et al. 2017).
- `integrated_gradients`: (x - x') times the mean gradient on the straight path
  from the baseline x' to x (Sundararajan et al. 2017). Baselines: `mean`
  (default), each patch's own mean log-mel everywhere, the reference that
  deletion replaces bins with, so the map says what moving a bin to the
  patch's level costs the tag (the most faithful in `benchmarks/faithfulness.py`);
  `silence`, the log-mel of silence (all zeros: log10(1 + 0)). The path integral is a
  midpoint sum on an adaptive grid refined where the gradient changes until
  the attribution sums to logit(x) - logit(x') within `tolerance` for every
  patch (`zoo.explain.path_integral`), or `max_points` gradients are spent;
  the remaining gap is kept per patch. By default a patch gets at most
  `FAST_MAX_POINTS` gradients (chosen from `benchmarks/attribution_speed.py`'s
  accuracy-time curve, so a 30 s clip takes about a minute or two on 2 cores);
  an explicit `tolerance` refines until it is met (up to `EXACT_MAX_POINTS`).
- `gradcam`: ReLU of the layer's feature maps weighted by their mean gradient
  (Selvaraju et al. 2017), resized to the patch (bilinear; a layer without a
  mel axis gives the same value to every band). Default layer: the network's
  last convolution.
"""

from dataclasses import dataclass, field
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from musiczoo_runtime.choices import ATTRIBUTION_BASELINES as BASELINES
from musiczoo_runtime.choices import ATTRIBUTION_METHODS as METHODS
from musiczoo_runtime.choices import EXACT_MAX_POINTS, FAST_MAX_POINTS, FAST_TOLERANCE
from musiczoo_runtime.contract import (
    DEFAULT_HOP_SECONDS,
    DEFAULT_LAST_PATCH,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS,
    N_MELS,
    PATCH_FRAMES,
)
from musiczoo_runtime.errors import ZooError
from zoo.explain.network import open_network
from zoo.explain.path_integral import integrate_path
from zoo.explain.recording import as_recording, frame_values
from zoo.explain.stft import apply_mel_mask

CHUNK = 8  # inputs per backward pass (bounds memory: the musicnn branches keep ~50 MB per patch)


def ig_budget(tolerance=None, max_points=None):
    """(tolerance, max_points) of integrated gradients: the fast default, or refinement to an asked tolerance."""
    if tolerance is None:
        return FAST_TOLERANCE, FAST_MAX_POINTS if max_points is None else max_points
    return tolerance, EXACT_MAX_POINTS if max_points is None else max_points


@dataclass
class Attribution:
    """A tag's attribution over a recording's log-mel patches.

    Attributes:
        logmel: the patches `[patches, 187, 96]`.
        maps: the attribution of each bin `[patches, 187, 96]` (larger = more in favour of the tag).
        times: start of each patch in seconds `[patches]`.
        tag: the tag explained.
        method: one of `METHODS`.
        model, weights: the network explained.
        logits: the tag's logit on each patch `[patches]`.
        starts: first frame of each patch `[patches]`; n_frames: frames of the recording.
        waveform: the recording at 16 kHz `[samples]` (what `listen` masks).
        details: method settings and checks (layer, samples, noise; for integrated gradients the baseline,
            and per patch the baseline's logit, the completeness gap and the gradients evaluated).
    """

    logmel: np.ndarray
    maps: np.ndarray
    times: np.ndarray
    tag: str
    method: str
    model: str
    weights: object
    logits: np.ndarray
    starts: np.ndarray
    n_frames: int
    waveform: np.ndarray = None
    details: dict = field(default_factory=dict)

    @property
    def probabilities(self):
        """The tag's probability on each patch `[patches]`."""
        return 1.0 / (1.0 + np.exp(-self.logits))

    def listen(self):
        """The recording masked by the attribution (positive part over its maximum), phase kept `[samples]`."""
        frames = np.maximum(frame_values(self.maps, self.starts, self.n_frames), 0)
        peak = frames.max()
        return apply_mel_mask(self.waveform, frames / peak if peak > 0 else frames)


def evidence_share(result):
    """Integrated gradients: the share of the tag's evidence (logit - baseline logit, over all patches) that the
    map accounts for, 1 - sum |gap| / sum |logit - baseline logit|; and the largest |gap| of a patch."""
    gap = np.abs(result.details["completeness_gap"])
    rise = np.abs(result.logits - result.details["baseline_logit"]).sum()
    return (1.0 - gap.sum() / rise if rise > 0 else 1.0), float(gap.max())


def completeness_sentence(result):
    """One line saying how complete an integrated-gradients map is, in words and numbers."""
    share, largest = evidence_share(result)
    return (f"completeness: the map accounts for {share:.1%} of the tag's evidence (logit - baseline logit); "
            f"largest gap on a patch {largest:.2e} logit (--tolerance T refines further)")


def tag_index(network, tag):
    """Column of `tag` in the network's output; ZooError listing the tags for an unknown one."""
    if tag not in network.tags:
        raise ZooError(f"{network.name} has no tag {tag!r}; its tags: {', '.join(network.tags)}")
    return network.tags.index(tag)


def check_method(method, baseline="mean"):
    """ZooError for an unknown attribution method or integrated-gradients baseline, listing the known ones."""
    if method not in METHODS:
        raise ZooError(f"unknown attribution method {method!r}; choose from {', '.join(METHODS)}")
    if baseline not in BASELINES:
        raise ZooError(f"unknown integrated-gradients baseline {baseline!r}; choose from {', '.join(BASELINES)}")


def _logit_output(model):
    names = [layer.name for layer in model.layers]
    return model.get_layer("logits").output if "logits" in names else model.output


def convolutions(network):
    """Names of the network's convolution layers, in order (the layers Grad-CAM accepts)."""
    return [layer.name for layer in network.keras_model.layers
            if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D))]


@lru_cache(maxsize=4)
def _forward(model, weights):
    """tf.function of (patches, tag): the tag's logit alone `[n]` (no gradient, about a third of the cost)."""
    network = open_network(model, weights)
    logits = keras.Model(network.keras_model.input, _logit_output(network.keras_model))
    spec = [tf.TensorSpec([None, PATCH_FRAMES, N_MELS], tf.float32), tf.TensorSpec([], tf.int32)]

    @tf.function(input_signature=spec)
    def forward(patches, tag):
        return tf.gather(logits(patches, training=False), tag, axis=-1)

    return forward


def _logits(forward, inputs, tag):
    """The tag's logit `[n]` of inputs `[n, 187, 96]`, in chunks."""
    tag = tf.constant(tag, tf.int32)
    return np.concatenate([forward(tf.constant(inputs[i:i + 4 * CHUNK], tf.float32), tag).numpy()
                           for i in range(0, len(inputs), 4 * CHUNK)])


@lru_cache(maxsize=4)
def _functions(model, weights, layer):
    """tf.functions of (patches, tag): gradients of the logit at the input, or Grad-CAM at `layer`."""
    network = open_network(model, weights)
    spec = [tf.TensorSpec([None, PATCH_FRAMES, N_MELS], tf.float32), tf.TensorSpec([], tf.int32)]
    if layer is None:
        logits = keras.Model(network.keras_model.input, _logit_output(network.keras_model))

        @tf.function(input_signature=spec)
        def gradient(patches, tag):
            with tf.GradientTape() as tape:
                tape.watch(patches)
                logit = tf.gather(logits(patches, training=False), tag, axis=-1)
            return logit, tape.gradient(logit, patches)

        return gradient
    both = keras.Model(network.keras_model.input,
                       [network.keras_model.get_layer(layer).output, _logit_output(network.keras_model)])

    @tf.function(input_signature=spec)
    def gradcam(patches, tag):
        with tf.GradientTape() as tape:
            maps, logits = both(patches, training=False)
            logit = tf.gather(logits, tag, axis=-1)
        grads = tape.gradient(logit, maps)
        axes = list(range(1, len(maps.shape) - 1))
        cam = tf.nn.relu(tf.reduce_sum(tf.reduce_mean(grads, axis=axes, keepdims=True) * maps, axis=-1))
        cam = cam[..., None] if len(cam.shape) == 3 else cam[:, :, None, None]
        cam = tf.image.resize(cam, [PATCH_FRAMES, cam.shape[2] if cam.shape[2] == 1 else N_MELS], "bilinear")
        return logit, tf.broadcast_to(cam[..., 0], [tf.shape(patches)[0], PATCH_FRAMES, N_MELS])

    return gradcam


def _chunked(function, inputs, tag):
    """Runs `function(inputs chunk, tag)` over chunks; returns (logits, maps) as arrays."""
    tag = tf.constant(tag, tf.int32)
    parts = [function(tf.constant(inputs[i:i + CHUNK], tf.float32), tag) for i in range(0, len(inputs), CHUNK)]
    return np.concatenate([p[0].numpy() for p in parts]), np.concatenate([p[1].numpy() for p in parts])


def _smoothgrad(gradient, patches, tag, samples, noise, seed):
    rng = np.random.default_rng(seed)
    out = np.zeros_like(patches)
    for i, patch in enumerate(patches):
        sigma = noise * float(patch.max() - patch.min())
        noisy = patch[None] + rng.normal(0.0, sigma, (samples,) + patch.shape).astype(np.float32)
        out[i] = np.abs(_chunked(gradient, noisy, tag)[1]).mean(axis=0)
    return out


def baseline_patches(patches, baseline):
    """Integrated gradients' starting point for each patch `[patches, 187, 96]`, by name (a key of `BASELINES`)."""
    patches = np.asarray(patches, np.float32)
    if baseline == "silence":
        return np.zeros_like(patches)
    return np.broadcast_to(patches.mean(axis=(1, 2), keepdims=True), patches.shape).astype(np.float32)


def integrated_gradients(gradient, forward, patches, tag, baselines, tolerance=1e-3, max_points=EXACT_MAX_POINTS,
                         progress=None):
    """Integrated gradients of each patch on an adaptive grid, complete within `tolerance`.

    Args:
        gradient: tf.function (inputs, tag) -> (logits, gradients); forward: (inputs, tag) -> logits.
        patches: `[patches, ...]`; baselines: one per patch, like `patches` (or broadcastable to it).
        tag: output column.
        tolerance, max_points: see `zoo.explain.path_integral.integrate_path`.
        progress: optional callable `progress(n)`, told as patches are done.

    Returns:
        (attributions like `patches`, logits `[patches]`, baseline logits `[patches]`, gaps `[patches]`,
        gradient evaluations used `[patches]`).
    """
    patches = np.asarray(patches, np.float32)
    baselines = np.broadcast_to(np.asarray(baselines, np.float32), patches.shape)
    logits = _logits(forward, patches, tag)
    baseline_logits = _logits(forward, np.ascontiguousarray(baselines), tag)
    out, gaps, used = np.zeros_like(patches), np.zeros(len(patches)), np.zeros(len(patches), int)
    for i, (patch, baseline) in enumerate(zip(patches, baselines)):
        delta = patch - baseline

        def evaluate(alphas):
            values, grads = _chunked(gradient, baseline[None] + alphas[:, None, None] * delta[None], tag)
            return values[:, None], (grads * delta[None]).reshape(len(alphas), -1, 1)

        def outputs(alphas):
            return _logits(forward, baseline[None] + alphas[:, None, None] * delta[None], tag)[:, None]

        total, gap, used[i] = integrate_path(evaluate, [baseline_logits[i]], [logits[i]], tolerance,
                                             max_points=max_points, batch=4 * CHUNK, outputs=outputs)
        out[i], gaps[i] = total.reshape(patch.shape), gap[0]
        _done(progress, 1)
    return out, logits, baseline_logits, gaps, used


def _done(progress, n):
    if progress is not None:
        progress(n)


def attribute_patches(patches, model, weights, tag, method="saliency", *, layer=None, samples=16, noise=0.15,
                      baseline="mean", tolerance=None, max_points=None, seed=0, progress=None):
    """Attribution maps for log-mel patches (see `attribute` for the arguments).

    Returns:
        (maps `[patches, 187, 96]`, logits `[patches]`, details dict).
    """
    network = open_network(model, weights)
    column = tag_index(network, tag)
    check_method(method, baseline)
    patches = np.asarray(patches, np.float32)
    baselines = baseline_patches(patches, baseline) if method == "integrated_gradients" else None
    weights = None if weights is None else str(weights)
    if method == "gradcam":
        layer = layer or convolutions(network)[-1]
        if layer not in convolutions(network):
            raise ZooError(f"Grad-CAM needs a convolution layer of {network.name}; {layer!r} is not one. "
                           f"Choose from {', '.join(convolutions(network))}")
        logits, maps = _chunked(_functions(model, weights, layer), patches, column)
        _done(progress, len(patches))
        return maps, logits, {"layer": layer}
    if layer is not None:
        raise ZooError(f"layer= is for Grad-CAM; {method} attributes the log-mel input itself")
    gradient = _functions(model, weights, None)
    if method == "saliency":
        logits, grads = _chunked(gradient, patches, column)
        _done(progress, len(patches))
        return np.abs(grads), logits, {}
    if method == "smoothgrad":
        logits = _chunked(gradient, patches, column)[0]
        maps = _smoothgrad(gradient, patches, column, samples, noise, seed)
        _done(progress, len(patches))
        return maps, logits, {"samples": samples, "noise": noise}
    tolerance, max_points = ig_budget(tolerance, max_points)
    maps, logits, baseline_logits, gaps, used = integrated_gradients(gradient, _forward(model, weights), patches,
                                                                     column, baselines, tolerance, max_points, progress)
    return maps, logits, {"baseline": BASELINES[baseline], "baseline_logit": baseline_logits,
                          "completeness_gap": gaps, "evaluations": used, "tolerance": tolerance,
                          "max_points": max_points}


def attribute(audio, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, tag="drums", method="saliency", *, layer=None,
              sample_rate=None, hop_seconds=DEFAULT_HOP_SECONDS, last_patch=DEFAULT_LAST_PATCH, samples=16,
              noise=0.15, baseline="mean", tolerance=None, max_points=None, seed=0, progress=None):
    """Attributes a tag to the time-frequency bins of a recording's log-mel patches.

    Args:
        audio: path, array with `sample_rate`, or a `zoo.explain.recording.Recording` already read (to
            explain several tags of one recording with one decode and one front-end pass).
        model, weights: catalog name and weight tag (or a fine-tuned model folder).
        tag: one of the model's tags.
        method: "saliency", "smoothgrad", "integrated_gradients" or "gradcam".
        layer: Grad-CAM's convolution layer (default: the last one).
        sample_rate, hop_seconds, last_patch: as in `zoo.tag`.
        samples, noise, seed: SmoothGrad's noisy copies, noise level (share of the patch's range), seed.
        baseline: integrated gradients' starting point, "mean" (each patch's mean log-mel) or "silence".
        tolerance, max_points: integrated gradients' completeness tolerance and most gradient evaluations
            per patch (the adaptive grid of `zoo.explain.path_integral`); both None: the fast default
            (`FAST_MAX_POINTS`); a tolerance alone: refined until met (up to `EXACT_MAX_POINTS`).
        progress: optional callable `progress(n)`, told as patches are done.

    Returns:
        Attribution (`logmel`, `maps`, `times`, `tag`, `method`, ...).

    Raises:
        ZooError: unreadable audio, unknown tag (listing the model's tags), unknown method, baseline or layer.
    """
    network = open_network(model, weights)
    tag_index(network, tag)
    check_method(method, baseline)
    recording = as_recording(audio, sample_rate, hop_seconds, last_patch)
    maps, logits, details = attribute_patches(recording.patches, model, weights, tag, method, layer=layer,
                                              samples=samples, noise=noise, baseline=baseline, tolerance=tolerance,
                                              max_points=max_points, seed=seed, progress=progress)
    return Attribution(recording.patches, maps, recording.times, tag, method, network.name, weights, logits,
                       recording.starts, recording.n_frames, recording.waveform, details)
