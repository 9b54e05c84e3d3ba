"""Five-point face alignment for face-restoration models, and pasting their output back.

Restoration networks (GFPGAN, CodeFormer, GPEN, RestoreFormer++) were trained on faces aligned to a
fixed template: eyes, nose tip and mouth corners at known places of a square crop. A similarity
transform (rotation, uniform scale, translation) from the face's five points to the template is the
alignment they expect; its inverse puts the restored face back where it came from, through a soft
mask so the crop's square edge never shows. Facts from ../shared/reference/FACE_ENHANCERS.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from avatar_studio.faces.landmarks import EYE_CORNERS, NOSE_TIP

TemplateName = Literal["ffhq_512", "arcface_128"]

#: The five points as fractions of the crop side, in the order of `five_points`.
TEMPLATES: dict[str, np.ndarray] = {
    "ffhq_512": np.array(
        [(0.37691676, 0.46864664), (0.62285697, 0.46912813), (0.50123859, 0.61331904),
         (0.39308822, 0.72541100), (0.61150205, 0.72490465)], np.float32,
    ),
    "arcface_128": np.array(
        [(0.36167656, 0.40387734), (0.63696719, 0.40235469), (0.50019687, 0.56044219),
         (0.38710391, 0.72160547), (0.61507734, 0.72034453)], np.float32,
    ),
}  # fmt: skip

#: The outer mouth corners of the face mesh (the template's, not the inner-lip corners `landmarks` names).
OUTER_MOUTH_CORNERS = (61, 291)

#: Soft paste mask: 1 inside, falling to 0 over this fraction of the crop side at each edge.
EDGE_FRACTION = 0.1


@dataclass(frozen=True)
class FrameMask:
    """Weights 0..1 for a rectangle of a frame: `weight` (rows, cols) float32 with its top-left at x, y.
    Pixels outside the rectangle have weight 0."""

    x: int
    y: int
    weight: np.ndarray


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(468, 2) face-mesh points -> (5, 2) float32: the eye on the image's left, the eye on its right,
    the nose tip, the mouth corner on the image's left, the one on its right."""
    eyes = [landmarks[list(EYE_CORNERS[i : i + 2])].mean(axis=0) for i in (0, 2)]
    mouth = [landmarks[i] for i in OUTER_MOUTH_CORNERS]
    eyes.sort(key=lambda p: float(p[0]))  # the mesh names the subject's eyes; the template the image's
    mouth.sort(key=lambda p: float(p[0]))
    return np.array([eyes[0], eyes[1], landmarks[NOSE_TIP], mouth[0], mouth[1]], np.float32)


def alignment_matrix(points: np.ndarray, template: TemplateName, size: int) -> np.ndarray:
    """The 2x3 similarity transform taking the frame's five `points` onto `template` in a `size` crop."""
    target = TEMPLATES[template] * np.float32(size)
    matrix, _inliers = cv2.estimateAffinePartial2D(points.astype(np.float32), target, method=cv2.LMEDS)
    if matrix is None:  # degenerate points (all in one place): never from a real face mesh
        raise ValueError("the five face points do not define an alignment")
    return matrix


def warp_face(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The aligned `size` x `size` crop of `frame` (edges replicated where the crop leaves the frame)."""
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@functools.lru_cache(maxsize=8)
def crop_mask(size: int) -> np.ndarray:
    """(size, size) float32 weights: 1 over the crop, smoothly 0 at its border (read-only, cached)."""
    edge = max(1, int(round(EDGE_FRACTION * size)))
    ramp = np.clip((np.arange(size, dtype=np.float32) + 0.5) / edge, 0.0, 1.0)
    ramp = np.minimum(ramp, ramp[::-1])
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    mask = np.outer(ramp, ramp).astype(np.float32)
    mask.flags.writeable = False
    return mask


def paste_face(
    frame: np.ndarray, restored: np.ndarray, matrix: np.ndarray, limit: FrameMask | None = None,
    blend: float = 1.0,
) -> None:
    """Blend the aligned crop `restored` back into `frame` (uint8, modified in place).

    Only the frame's rectangle under the crop is touched. `limit`, when given, restricts where the
    restored face may show (e.g. the lip-sync region; 0 outside its rectangle); `blend` scales the
    whole paste (0 leaves the frame as it was).
    """
    size = restored.shape[0]
    height, width = frame.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inverse.T
    x1, y1 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x2, y2 = np.minimum(np.ceil(corners.max(axis=0)).astype(int), (width, height))
    if x2 <= x1 or y2 <= y1:
        return
    # Warp straight into the frame's rectangle: shift the inverse transform by its top-left corner.
    local = inverse.copy()
    local[:, 2] -= (x1, y1)
    box = (int(x2 - x1), int(y2 - y1))
    face = cv2.warpAffine(restored, local, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(crop_mask(size), local, box, flags=cv2.INTER_LINEAR, borderValue=0.0)
    if limit is not None:
        alpha *= _limit_over(limit, x1, y1, x2, y2)
    if blend != 1.0:
        alpha = np.multiply(alpha, blend, dtype=np.float32)
    region = frame[y1:y2, x1:x2]
    region[...] = cv2.blendLinear(face, region, alpha, np.float32(1.0) - alpha)


def _limit_over(limit: FrameMask, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    """`limit`'s weights over the frame rectangle x1..x2, y1..y2 (0 where it does not reach)."""
    out = np.zeros((y2 - y1, x2 - x1), np.float32)
    rows, cols = limit.weight.shape
    ox1, oy1 = max(x1, limit.x), max(y1, limit.y)
    ox2, oy2 = min(x2, limit.x + cols), min(y2, limit.y + rows)
    if ox2 > ox1 and oy2 > oy1:
        out[oy1 - y1 : oy2 - y1, ox1 - x1 : ox2 - x1] = limit.weight[oy1 - limit.y : oy2 - limit.y, ox1 - limit.x : ox2 - limit.x]
    return out
