"""Make the model's mouth the colour of the face it is pasted into.

Wav2Lip's output can come out lighter, darker or tinted against the frame, and then the blend
shows a colour step even through a soft mask. The statistics that should agree are measured on
the mask's border - the ring where the weight falls from 1 to 0, skin the model was not asked to
change - in YCrCb: brightness (Y) apart from the two colour differences (Cr, Cb), so a brightness
error and a tint are corrected independently, like in Lab, but as an affine function of the pixel
values. Matching each channel's mean and spread is then one 3x4 colour matrix on the model's
image: no per-pixel colour-space conversion (CIE Lab in float costs more than the whole rest of
compositing at 1080p) and no rounding in between.
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

# BT.601 YCrCb of B, G, R values, as cv2.COLOR_BGR2YCrCb computes it (rows Y, Cr, Cb; no offset).
_TO_YCC = np.array([
    [0.114, 0.587, 0.299],
    [0.713 * -0.114, 0.713 * -0.587, 0.713 * 0.701],
    [0.564 * 0.886, 0.564 * -0.587, 0.564 * -0.299],
])  # fmt: skip
_FROM_YCC = np.linalg.inv(_TO_YCC)
_YCC_OFFSET = np.array([0.0, 128.0, 128.0])  # what cv2.COLOR_BGR2YCrCb adds to Cr and Cb


def match_colors(prediction: np.ndarray, original: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`prediction` (H, W, 3 uint8 BGR) recoloured so its YCrCb mean and spread on the mask's
    border ring match `original`'s (same shape); `weight` (H, W) is the blend mask. Returns
    `prediction` itself when the ring is too small to measure."""
    ring = ((weight > RING_LOW) & (weight < RING_HIGH)).view(np.uint8)
    if cv2.countNonZero(ring) < MIN_RING_PIXELS:
        return prediction
    predicted_mean, predicted_spread = _ycc_statistics(prediction, ring)
    original_mean, original_spread = _ycc_statistics(original, ring)
    scale = np.clip(original_spread / np.maximum(predicted_spread, 1e-3), MIN_SCALE, MAX_SCALE)
    # In YCrCb: y' = scale * (y - predicted_mean) + original_mean; as one affine map of B, G, R.
    linear = _FROM_YCC @ np.diag(scale) @ _TO_YCC
    offset = _FROM_YCC @ (original_mean - scale * predicted_mean)
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float32)
    return cv2.transform(prediction, matrix)  # rounds and saturates to uint8


def _ycc_statistics(image: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of Y, Cr, Cb (without the 128 offset) of `image` on `ring`."""
    mean, spread = cv2.meanStdDev(cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb), mask=ring)
    return mean.ravel() - _YCC_OFFSET, spread.ravel()
