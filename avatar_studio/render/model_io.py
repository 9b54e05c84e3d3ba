"""The model's side of rendering: face crops in, mouth images out, in Wav2Lip's exact layout."""

from __future__ import annotations

import numpy as np

CROP_SIZE = 96
#: Rows 48-95 of the first three channels are blanked: the model must invent the lower face.
MASKED_FROM_ROW = CROP_SIZE // 2


def face_batch(crops: np.ndarray) -> np.ndarray:
    """(B,96,96,3) uint8 BGR crops -> (B,6,96,96) float32 in [0, 1], channels first.

    Channels 0-2: the crop with its lower half zeroed; 3-5: the same crop unmasked (the pose
    reference). BGR stays BGR: the public checkpoints were trained on OpenCV's channel order.
    """
    reference = crops.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1.0 / 255.0)
    batch = np.empty((len(crops), 6, CROP_SIZE, CROP_SIZE), np.float32)
    batch[:, 3:] = reference
    batch[:, :3] = reference
    batch[:, :3, MASKED_FROM_ROW:] = 0.0
    return batch


def predictions_to_images(predictions: np.ndarray) -> np.ndarray:
    """(B,3,96,96) float32 [0, 1] BGR -> (B,96,96,3) uint8 BGR, rounded and clipped."""
    scaled = predictions.transpose(0, 2, 3, 1) * np.float32(255.0) + np.float32(0.5)
    return np.clip(scaled, 0.0, 255.0).astype(np.uint8)
