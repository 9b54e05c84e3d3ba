"""Pasting the model's 96x96 mouth image back into the full frame without a visible box.

The seed pastes the whole resized prediction as a hard rectangle, and the edge shows: the model's
output is blurrier and slightly off in colour compared with the frame around it. Here only the
lower face (mouth and jaw) is blended in, through a mask that is 1 over the mouth and falls
smoothly to 0 at the box's left, right and bottom edges and at the middle of the face, so the
upper face and everything outside the box stay the original pixels.

Masks depend only on the box size and the feather width, so they are built once per size and
cached; smoothed boxes change size slowly, so a handful of sizes cover a whole render.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from avatar_studio.choices import DEFAULT_FEATHER

#: Where the blended region starts, as a fraction of the box height: the model only re-draws the
#: lower half of its input (rows 48-95 of 96), so the mask ramps in around the middle of the box.
MOUTH_REGION_TOP = 0.5


@dataclass(frozen=True)
class BlendMask:
    """Per-pixel weights for the rows of the box from `top` down to its bottom edge."""

    top: int
    weight: np.ndarray  # (rows, width) float32, weight of the prediction
    keep: np.ndarray  # 1 - weight: weight of the original frame


def _ramp(length: int, feather_px: float) -> np.ndarray:
    """Smoothstep from 0 to 1 across `feather_px` pixels, evaluated at pixel centres."""
    x = np.clip((np.arange(length, dtype=np.float32) + 0.5) / np.float32(feather_px), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@functools.lru_cache(maxsize=64)
def blend_mask(height: int, width: int, feather: float = DEFAULT_FEATHER) -> BlendMask:
    """The lower-face mask for a box of `height` x `width` pixels.

    `feather` is the width of the soft edge as a fraction of the box's smaller side (0 gives a
    hard edge, which shows the box; 0.5 at most).
    """
    if height < 1 or width < 1:
        raise ValueError(f"empty face box {width}x{height}")
    if not 0.0 <= feather <= 0.5:
        raise ValueError(f"feather must be between 0 and 0.5, not {feather}")
    feather_px = max(1.0, feather * min(height, width))
    top = max(0, int(round(height * MOUTH_REGION_TOP - feather_px / 2)))
    rows = height - top
    vertical = np.minimum(_ramp(rows, feather_px), _ramp(rows, feather_px)[::-1])
    horizontal = np.minimum(_ramp(width, feather_px), _ramp(width, feather_px)[::-1])
    weight = np.ascontiguousarray(np.outer(vertical, horizontal), dtype=np.float32)
    return BlendMask(top=top, weight=weight, keep=np.float32(1.0) - weight)


def paste_mouth(
    frame: np.ndarray, box: np.ndarray, mouth: np.ndarray, feather: float = DEFAULT_FEATHER
) -> None:
    """Blend the 96x96 BGR `mouth` image into `frame` (BGR uint8, modified in place) over `box`.

    `box` is (x1, y1, x2, y2) in pixels, inside the frame, as the avatar stores it.
    """
    x1, y1, x2, y2 = (int(v) for v in box)
    height, width = y2 - y1, x2 - x1
    mask = blend_mask(height, width, feather)
    resized = cv2.resize(mouth, (width, height), interpolation=cv2.INTER_LINEAR)
    region = frame[y1 + mask.top : y2, x1:x2]
    region[...] = cv2.blendLinear(resized[mask.top :], region, mask.weight, mask.keep)
