"""Wav2Lip's tensor shapes per sample, without torch: the ONNX backend checks exported models
against them, and an ONNX render must never pay torch's import (seconds on a small machine)."""

#: One mel window: 80 mel bands x 16 columns (200 ms of audio).
MEL_SHAPE = (1, 80, 16)
#: The masked face and the reference face, 96x96 BGR each, stacked on the channel axis.
FACE_SHAPE = (6, 96, 96)
#: The predicted 96x96 BGR face.
OUTPUT_SHAPE = (3, 96, 96)
