"""musiczoo-runtime: tag and embed music audio with ONNX Runtime, without TensorFlow."""
