"""RunInference for zoo models: a Beam `ModelHandler` that builds a catalog network once per worker process.

`ZooModelHandler.load_model` calls `zoo.inference.api.network_function`, which builds
the network with `zoo.load` (weights from the installed package, size and sha256
checked against the manifest) and returns it as a function over log-mel patches, run
by TensorFlow or by ONNX Runtime (`runtime`, as in `zoo.tag`; "auto" takes the faster
on the worker's CPU, from the shipped measurements).
RunInference keeps one loaded model per worker process and shares it across that
process's threads (Beam's `shared.Shared`); the model is not shared across processes
(`share_model_across_processes` stays False), because each process computing on its
own copy is what lets several processes use several cores. Batches are formed by
RunInference's `BatchElements` over whatever patches reach a worker, so patches of
different files share batches; every forward pass has exactly `batch_size` rows (a
short final batch is padded), because the CPU kernels' results depend slightly on the
batch size (up to 3e-4 on `cnn3` between 1 and 8 rows): with a fixed size a patch's
outputs do not depend on how the runner happened to group patches. Wrap it in
`KeyedModelHandler` to carry (file, index) keys through, as `zoo.scale.beam_pipeline` does.
"""

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from musiczoo_runtime.contract import BATCH_SIZE, DEFAULT_MODEL, DEFAULT_WEIGHTS
from zoo.scale.beam_io import NAMESPACE, limit_threads

TOP_LAYER = "probabilities"  # the name of every catalog model's top layer


class ZooModelHandler(ModelHandler):
    """Log-mel patches `[187, 96]` -> a zoo network's outputs, for `RunInference`.

    Args:
        model: catalog name.
        weights: pretrained weight tag.
        layers: names of extra layers to return after the probabilities (e.g. ("penultimate",)).
        batch_size: at most this many patches per forward pass.
        threads: TensorFlow or ONNX Runtime threads of each worker process (None: every core).
        runtime: "tensorflow", "onnx" or "auto".
    """

    def __init__(self, model=DEFAULT_MODEL, weights=DEFAULT_WEIGHTS, layers=(), batch_size=BATCH_SIZE, threads=None,
                 runtime="auto"):
        super().__init__()
        self.model, self.weights, self.layers, self.threads = model, weights, tuple(layers), threads
        self.batch_size, self.runtime = batch_size, runtime

    def load_model(self):
        """The network as a function `[batch, 187, 96]` -> list of outputs (probabilities first)."""
        from zoo.inference.api import network_function

        limit_threads(self.threads)
        return network_function(self.model, self.weights, (TOP_LAYER,) + self.layers if self.layers else None,
                                runtime=self.runtime, batch_size=self.batch_size, threads=self.threads)

    def run_inference(self, batch, model, inference_args=None):
        """One forward pass over a batch of at most `batch_size` patches (padded to `batch_size` rows).

        Returns:
            one `PredictionResult` per patch; its `inference` is a tuple of that patch's outputs
            (probabilities `[tags]`, then each requested layer).
        """
        patches = np.stack(batch)
        padding = np.zeros((self.batch_size - len(patches),) + patches.shape[1:], patches.dtype)
        outputs = model(np.concatenate([patches, padding]) if len(padding) else patches)
        outputs = [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
        return [PredictionResult(patch, tuple(o[row] for o in outputs)) for row, patch in enumerate(batch)]

    def get_num_bytes(self, batch):
        return sum(patch.nbytes for patch in batch)

    def get_metrics_namespace(self):
        return NAMESPACE

    def batch_elements_kwargs(self):
        return {"min_batch_size": self.batch_size, "max_batch_size": self.batch_size}

    def share_model_across_processes(self):
        return False
