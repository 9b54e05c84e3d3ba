"""Make the model's mouth the colour of the face it is pasted into.

Wav2Lip's output can come out lighter, darker or tinted against the frame, and then the blend
shows a colour step even through a soft mask. The statistics that should agree are measured on
the mask's border - the ring where the weight falls from 1 to 0, skin the model was not asked to
change - in CIE Lab (lightness apart from colour, so a brightness error and a tint are corrected
independently). The model's image is then shifted and scaled per Lab channel so that, on that
ring, its mean and spread equal the original's, and the correction applies to the whole mouth.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Weights strictly between these form the border ring the statistics are measured on.
RING_LOW, RING_HIGH = 0.02, 0.98
#: Fewer ring pixels than this give no trustworthy statistics: the image is left as it is.
MIN_RING_PIXELS = 16
#: Limits on the spread ratio, so a flat ring (a shadow, a beard) cannot blow the image up.
MIN_SCALE, MAX_SCALE = 0.5, 2.0


def match_colors(prediction: np.ndarray, original: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`prediction` (H, W, 3 uint8 BGR) recoloured so its Lab statistics on the mask's border ring
    match `original`'s (same shape); `weight` (H, W) is the blend mask. Only the rows and columns
    the mask touches are converted; the rest is returned unchanged (it is not blended in)."""
    rows = np.flatnonzero(weight.any(axis=1))
    cols = np.flatnonzero(weight.any(axis=0))
    if rows.size == 0:
        return prediction
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    local_weight = weight[window]
    ring = (local_weight > RING_LOW) & (local_weight < RING_HIGH)
    if int(ring.sum()) < MIN_RING_PIXELS:
        return prediction
    predicted_lab = _to_lab(prediction[window])
    original_lab = _to_lab(original[window])
    predicted_ring, original_ring = predicted_lab[ring], original_lab[ring]
    predicted_mean, original_mean = predicted_ring.mean(axis=0), original_ring.mean(axis=0)
    scale = np.clip(
        original_ring.std(axis=0) / np.maximum(predicted_ring.std(axis=0), 1e-3), MIN_SCALE, MAX_SCALE
    )
    matched = (predicted_lab - predicted_mean) * scale.astype(np.float32) + original_mean
    result = prediction.copy()
    result[window] = _from_lab(matched)
    return result


def _to_lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_BGR2Lab)


def _from_lab(lab: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2BGR)
    return np.clip(bgr * np.float32(255) + np.float32(0.5), 0, 255).astype(np.uint8)
