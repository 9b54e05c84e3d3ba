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
#: Every n-th ring pixel in each direction is enough for a mean and a spread.
RING_STRIDE = 2

# BT.601 YCrCb (OpenCV's definition) of B, G, R values: Y, Cr, Cb rows; the offset is 128 for Cr, Cb.
_TO_YCC = np.array([
    [0.114, 0.587, 0.299],
    [0.713 * -0.114, 0.713 * -0.587, 0.713 * 0.701],
    [0.564 * 0.886, 0.564 * -0.587, 0.564 * -0.299],
])  # fmt: skip
_FROM_YCC = np.linalg.inv(_TO_YCC)


def match_colors(prediction: np.ndarray, original: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`prediction` (H, W, 3 uint8 BGR) recoloured so its YCrCb mean and spread on the mask's
    border ring match `original`'s (same shape); `weight` (H, W) is the blend mask. Only the rows
    and columns the mask touches are changed (nothing else is blended in)."""
    rows = np.flatnonzero(weight.any(axis=1))
    cols = np.flatnonzero(weight.any(axis=0))
    if rows.size == 0:
        return prediction
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    local_weight = weight[window][::RING_STRIDE, ::RING_STRIDE]
    ring = (local_weight > RING_LOW) & (local_weight < RING_HIGH)
    if int(ring.sum()) < MIN_RING_PIXELS:
        return prediction
    predicted_mean, predicted_spread = _ycc_statistics(prediction[window][::RING_STRIDE, ::RING_STRIDE][ring])
    original_mean, original_spread = _ycc_statistics(original[window][::RING_STRIDE, ::RING_STRIDE][ring])
    scale = np.clip(original_spread / np.maximum(predicted_spread, 1e-3), MIN_SCALE, MAX_SCALE)
    # In YCrCb: y' = scale * (y - predicted_mean) + original_mean; as one affine map of B, G, R.
    linear = _FROM_YCC @ np.diag(scale) @ _TO_YCC
    offset = _FROM_YCC @ (original_mean - scale * predicted_mean)
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float32)
    result = prediction.copy()
    result[window] = cv2.transform(prediction[window], matrix)  # rounds and saturates to uint8
    return result


def _ycc_statistics(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of Y, Cr, Cb (without the 128 offset) of (n, 3) BGR pixels."""
    bgr = pixels.astype(np.float64)
    mean = _TO_YCC @ bgr.mean(axis=0)
    covariance = np.atleast_2d(np.cov(bgr, rowvar=False))
    spread = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", _TO_YCC, covariance, _TO_YCC), 0.0))
    return mean, spread
