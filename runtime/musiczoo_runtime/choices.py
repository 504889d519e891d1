"""The named choices the library checks and the command line offers, written once (TensorFlow-free).

Each tuple is what a function argument accepts and what the matching `musiczoo` option lists
(`--runtime`, `--precision`, `--method`, `--strategy`, ...), so the two cannot drift apart.
"""

RUNTIMES = ("tensorflow", "onnx", "auto")  # what runs the network (`zoo.inference.runtimes`)
PRECISIONS = ("float32", "bfloat16")  # the network's arithmetic; bfloat16 for CPUs with AMX
ATTRIBUTION_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam")  # `zoo.explain.attribution`
ATTRIBUTION_BASELINES = {"mean": "each patch's mean log-mel", "silence": "silence (log-mel 0)"}  # integrated gradients
STRATEGIES = ("none", "mirrored", "multiworker")  # tf.distribute strategies of `zoo.training.finetune`
DATASET_LAYOUTS = ("gtzan", "ballroom", "irmas", "folders", "csv")  # `zoo.training.datasets`; "auto" detects one
FILTER_KINDS = ("timbral", "temporal", "square")  # first-layer filter shapes (`zoo.explain.filters`)
UNIT_SCORES = ("peak", "mean")  # how `zoo.explain.units` ranks a unit's excerpts
EMBEDDINGS_PER = ("patch", "file")  # rows of `musiczoo beam tag --embeddings`

# Integrated gradients' budget of gradients per patch: by default a fixed FAST_MAX_POINTS (stopping early at
# FAST_TOLERANCE; benchmarks/attribution_speed.py's accuracy-time curve), up to EXACT_MAX_POINTS when a
# tolerance is asked for, which is also the most `--max-points` accepts.
FAST_TOLERANCE, FAST_MAX_POINTS = 1e-2, 16
EXACT_MAX_POINTS = 2048
