"""The Wav2Lip network, its checkpoints, ONNX export and the inference backends."""
