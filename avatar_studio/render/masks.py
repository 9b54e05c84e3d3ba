"""Where the model's mouth is blended in: per-pixel weights over the face box, from the face mesh.

`box` is the renderer's original mask (`composite.blend_mask`: a feathered rectangle over the
lower half of the box). The face-mesh masks follow the face instead:

* `lower-face`: the face oval below the nose - jaw line, chin and cheeks - cut by a line through
  the nose tip square to the eye line (so it tilts with the head); the oval is grown by two
  sigmas of the edge so the jaw line itself is still fully the model's (an opened mouth lowers
  the chin);
* `mouth`: the outer lip contour grown by `mouth_dilate` x the face size in every direction.

Both get a Gaussian edge of `mask_blur` x the face size (the box width), so no straight edge or
corner can show. The weights are computed inside the box only (the model's image exists nowhere
else): the region is kept inside the ellipse inscribed in the box less 3.5 sigmas on every side
before blurring - an ellipse, not the box itself, so where a wide face oval reaches the box's
sides the mask ends in a curve rather than a vertical line - and weights that would change a
pixel by less than half a level are snapped to exactly 0 or 1, so every pixel outside the mask
keeps the source's value exactly.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from avatar_studio.choices import MaskKind
from avatar_studio.faces.landmarks import EYE_CORNERS, FACE_OVAL, NOSE_TIP, OUTER_LIPS
from avatar_studio.render.composite import blend_mask

#: A weight below this changes no pixel (255 x w < 0.5); above 1 - it, none keeps its source value.
NEGLIGIBLE_WEIGHT = 0.5 / 255.0
#: How many sigmas of the Gaussian edge fit between the region and the box edge.
EDGE_SIGMAS = 3.5
#: How far (in sigmas of the edge) the face oval is grown before the nose line cuts it.
JAW_GROWTH_SIGMAS = 2.0
#: Soft masks are computed on a grid at most this many pixels wide and scaled up to the box: the
#: Gaussian edge makes them smooth, and a 400-pixel face would otherwise cost ~10 ms per frame.
WORK_WIDTH = 128
#: Fixed-point shift for cv2.fillPoly: sub-pixel landmark positions, no rounding jitter.
_SUBPIXEL_BITS = 4


def box_weights(height: int, width: int, feather: float) -> np.ndarray:
    """The `box` mask as a (height, width) float32 weight array over the whole box."""
    mask = blend_mask(height, width, feather)
    weight = np.zeros((height, width), np.float32)
    weight[mask.top :] = mask.weight
    return weight


def landmark_weights(
    kind: MaskKind, points: np.ndarray, box: np.ndarray, blur: float, mouth_dilate: float
) -> np.ndarray:
    """The `lower-face` or `mouth` mask for one frame as (box height, box width) float32 weights.

    `points`: (468, 2) landmarks in frame pixels; `box`: x1, y1, x2, y2; `blur` and
    `mouth_dilate`: fractions of the face size (the box width).
    """
    if kind not in ("lower-face", "mouth"):
        raise ValueError(f"{kind!r} is not a face-mesh mask")
    x1, y1, x2, y2 = (int(v) for v in box)
    height, width = y2 - y1, x2 - x1
    # A soft mask is smooth: drawn and blurred on a grid at most WORK_WIDTH wide, then scaled up.
    factor = min(1.0, WORK_WIDTH / width) if blur > 0 else 1.0
    small = (max(2, math.ceil(height * factor)), max(2, math.ceil(width * factor)))
    local = (np.asarray(points, dtype=np.float64) - (x1, y1)) * (small[1] / width, small[0] / height)
    face_size = float(small[1])
    sigma = blur * face_size
    if kind == "lower-face":
        region = _lower_face_region(local, *small, JAW_GROWTH_SIGMAS * sigma)
    else:
        region = _grown(_fill([local[list(OUTER_LIPS)]], *small), mouth_dilate * face_size)
    margin = math.ceil(EDGE_SIGMAS * sigma) + (0 if factor == 1.0 else 1)  # + 1: the upscaling's reach
    region &= _inner_ellipse(*small, margin)
    weight: np.ndarray = region.astype(np.float32)
    if sigma > 0:
        weight = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    if factor != 1.0:
        weight = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
    weight[weight < NEGLIGIBLE_WEIGHT] = 0.0
    weight[weight > 1.0 - NEGLIGIBLE_WEIGHT] = 1.0
    return weight


def _inner_ellipse(height: int, width: int, margin: int) -> np.ndarray:
    """uint8 (height, width): 1 inside the ellipse inscribed in the box less `margin` on each side."""
    image = np.zeros((height, width), np.uint8)
    axes = ((width - 1) / 2 - margin, (height - 1) / 2 - margin)
    if min(axes) > 0:
        centre = ((width - 1) / 2, (height - 1) / 2)
        cv2.ellipse(image, (centre, (2 * axes[0], 2 * axes[1]), 0.0), 1, -1)
    return image


def _fill(polygons: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """uint8 (height, width) image: 1 inside the polygons (float pixel coordinates), 0 elsewhere."""
    image = np.zeros((height, width), np.uint8)
    scale = 1 << _SUBPIXEL_BITS
    fixed = [np.round(polygon * scale).astype(np.int32) for polygon in polygons]
    cv2.fillPoly(image, fixed, 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return image


def _lower_face_region(points: np.ndarray, height: int, width: int, jaw_growth_px: float) -> np.ndarray:
    """The face oval (grown) intersected with the half-plane below the nose tip, square to the eye line."""
    oval = _grown(_fill([points[list(FACE_OVAL)]], height, width), jaw_growth_px)
    eyes = points[list(EYE_CORNERS)]
    across = eyes[2:].mean(axis=0) - eyes[:2].mean(axis=0)  # from one eye to the other
    across /= max(float(np.linalg.norm(across)), 1e-6)
    down = np.array([-across[1], across[0]])
    if down[1] < 0:
        down = -down
    reach = 4.0 * (height + width)  # far beyond the box in every direction
    nose = points[NOSE_TIP]
    below = np.array([
        nose - across * reach, nose + across * reach,
        nose + across * reach + down * reach, nose - across * reach + down * reach,
    ])  # fmt: skip
    return oval & _fill([below], height, width)


def _grown(region: np.ndarray, distance_px: float) -> np.ndarray:
    """`region` grown by `distance_px` (Euclidean distance, so round at the corners)."""
    if distance_px <= 0:
        return region
    distance = cv2.distanceTransform(1 - region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return (distance <= distance_px).astype(np.uint8)
