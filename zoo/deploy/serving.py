"""Requests to a zoo model served by TensorFlow Serving, over REST or gRPC.

REST (port 8501) takes JSON: the row format `{"instances": [...]}` or the
columnar format `{"inputs": ...}`; WAV bytes travel as `{"b64": ...}`.
gRPC (port 8500) takes a `PredictRequest` from `tensorflow-serving-api`.
Signatures are documented in `export/README.md`.
"""

import base64
from pathlib import Path

import numpy as np

from musiczoo_runtime.errors import ZooError

SERVING_DEFAULT = "serving_default"
SERVE_WAV = "serve_wav"


def _waveforms(waveforms):
    """float32 `[batch, samples]` from one waveform or a batch of equal-length waveforms."""
    array = np.asarray(waveforms, dtype=np.float32)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise ZooError(f"waveforms must be [samples] or [batch, samples] at 16 kHz, got shape {array.shape}")
    return array


def _wav_bytes(wavs):
    """A list of WAV file contents from paths or bytes."""
    items = [wavs] if isinstance(wavs, (bytes, str, Path)) else list(wavs)
    return [item if isinstance(item, bytes) else Path(item).read_bytes() for item in items]


def rest_request(waveforms=None, wavs=None, columnar=False):
    """The JSON body of a REST predict request.

    Args:
        waveforms: float32 `[batch, samples]` (or `[samples]`) at 16 kHz, for `serving_default`.
        wavs: WAV paths or bytes, for `serve_wav`.
        columnar: use `{"inputs": ...}` instead of `{"instances": [...]}`.

    Returns:
        dict to send as JSON to `/v1/models/<name>:predict`.
    """
    if (waveforms is None) == (wavs is None):
        raise ZooError("pass either waveforms= (serving_default) or wavs= (serve_wav)")
    if waveforms is not None:
        rows, signature, key = _waveforms(waveforms).tolist(), SERVING_DEFAULT, "waveform"
    else:
        rows = [{"b64": base64.b64encode(item).decode("ascii")} for item in _wav_bytes(wavs)]
        signature, key = SERVE_WAV, "wav"
    body = {"inputs": {key: rows}} if columnar else {"instances": [{key: row} for row in rows]}
    return {"signature_name": signature, **body}


def grpc_request(model, waveforms=None, wavs=None, version=None):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest` for `serving_default` or `serve_wav`.

    Args:
        model: served model name.
        waveforms, wavs: as in `rest_request`.
        version: model version, or None for the latest.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    if (waveforms is None) == (wavs is None):
        raise ZooError("pass either waveforms= (serving_default) or wavs= (serve_wav)")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = int(version)
    if waveforms is not None:
        request.model_spec.signature_name = SERVING_DEFAULT
        request.inputs["waveform"].CopyFrom(tf.make_tensor_proto(_waveforms(waveforms)))
    else:
        request.model_spec.signature_name = SERVE_WAV
        request.inputs["wav"].CopyFrom(tf.make_tensor_proto(_wav_bytes(wavs), dtype=tf.string))
    return request


class Client:
    """A client of one model on a TF Serving server.

    Args:
        model: served model name (see `zoo.export.served_name`).
        host: server host.
        rest_port: REST port (TF Serving's default 8501).
        grpc_port: gRPC port (default 8500).
        timeout: seconds per request.
    """

    def __init__(self, model, host="localhost", rest_port=8501, grpc_port=8500, timeout=60.0):
        self.model, self.host, self.rest_port, self.grpc_port, self.timeout = model, host, rest_port, grpc_port, timeout

    def rest(self, waveforms=None, wavs=None, columnar=False):
        """Predicts over REST.

        Returns:
            dict output name -> numpy array (batch first).

        Raises:
            ZooError: the server is unreachable or answered with an error (its message included).
        """
        import requests

        url = f"http://{self.host}:{self.rest_port}/v1/models/{self.model}:predict"
        try:
            response = requests.post(url, json=rest_request(waveforms, wavs, columnar), timeout=self.timeout)
        except requests.RequestException as error:
            raise ZooError(f"TF Serving at {url} is unreachable: {error}") from None
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200 or "error" in body:
            message = body.get("error", response.text)
            raise ZooError(f"TF Serving refused the request ({response.status_code}): {message}")
        if "outputs" in body:
            return {name: np.asarray(value) for name, value in body["outputs"].items()}
        rows = body["predictions"]
        return {name: np.asarray([row[name] for row in rows]) for name in rows[0]}

    def grpc(self, waveforms=None, wavs=None):
        """Predicts over gRPC.

        Returns:
            dict output name -> numpy array (batch first).
        """
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        with grpc.insecure_channel(f"{self.host}:{self.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            try:
                response = stub.Predict(grpc_request(self.model, waveforms, wavs), timeout=self.timeout)
            except grpc.RpcError as error:
                raise ZooError(f"TF Serving gRPC request failed ({error.code().name}): {error.details()}") from None
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
