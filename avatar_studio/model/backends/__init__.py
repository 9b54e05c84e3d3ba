"""Inference backends: one interface over PyTorch and ONNX Runtime (see `base.InferenceBackend`)."""
