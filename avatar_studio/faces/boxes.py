"""From per-frame detections to one face box per frame: follow, fill, smooth, pad, clamp.

Pure numpy on (N, 4) float arrays of x1, y1, x2, y2; a frame without a face is a row of NaN.
The order `track_face -> fill_missing -> smooth_boxes -> pad_boxes -> clamp_boxes` is what
preparation uses: smoothing raw detections keeps the padding proportional to the face size. The
face mesh's landmarks are filled and smoothed by the same two functions.

Padding is a fraction of the detected box size, not pixels, so one default fits a 360-line and a
2160-line clip alike. BlazeFace's box ends just under the lower lip (on the `../shared/media/`
clips the chin is cut off with no padding and only just inside at 10 %); Wav2Lip regenerates the
lower half of the crop, and an open mouth drops the jaw further, so the default pads the bottom
by 20 % of the box height: the chin and a little neck are always inside the crop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from avatar_studio.faces.detector import FaceBox


class Pads(NamedTuple):
    """Extra margin around the detected face as fractions of its height (top, bottom) and width."""

    top: float = 0.0
    bottom: float = 0.2
    left: float = 0.0
    right: float = 0.0


DEFAULT_PADS = Pads()
DEFAULT_SMOOTH_WINDOW = 5


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def follow_face(detections: Sequence[Sequence[FaceBox]]) -> list[FaceBox | None]:
    """The detection of the followed face in every frame, None where it was not found.

    The first frame with any face starts the track on its largest face. Afterwards, when several
    faces are found, the one whose centre is nearest the previous choice is followed, so the
    track never jumps to a bystander who briefly looks bigger.
    """
    followed: list[FaceBox | None] = []
    previous: np.ndarray | None = None
    for faces in detections:
        if not faces:
            followed.append(None)
            continue
        boxes = np.array([face.as_array() for face in faces])
        if previous is None:
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            index = int(np.argmax(areas))
        else:
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            index = int(np.argmin(np.linalg.norm(centres - _centre(previous), axis=1)))
        previous = boxes[index]
        followed.append(faces[index])
    return followed


def track_face(detections: Sequence[Sequence[FaceBox]]) -> np.ndarray:
    """The box of the followed face (see `follow_face`) in every frame, NaN where it was not found."""
    return boxes_of(follow_face(detections))


def boxes_of(followed: Sequence[FaceBox | None]) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 of `follow_face`'s result, NaN rows where there is no face."""
    track = np.full((len(followed), 4), np.nan)
    for i, face in enumerate(followed):
        if face is not None:
            track[i] = face.as_array()
    return track


def fill_missing(boxes: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN rows from the nearest detected frames; returns (filled copy, number filled).

    Works on any (N, K) track: boxes (K = 4) and flattened face-mesh landmarks alike.

    Between two detected frames the box is interpolated linearly; before the first or after the
    last detection the nearest detected box is repeated. Raises ValueError if no row is known.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    known = ~np.isnan(boxes).any(axis=1)
    if not known.any():
        raise ValueError("no frame has a face")
    missing = int((~known).sum())
    if missing == 0:
        return boxes.copy(), 0
    frames = np.arange(len(boxes))
    filled = np.empty_like(boxes)
    for column in range(boxes.shape[1]):
        # np.interp repeats the end values outside the known range: nearest-frame filling.
        filled[:, column] = np.interp(frames, frames[known], boxes[known, column])
    return filled, missing


def smooth_boxes(boxes: np.ndarray, window: int = DEFAULT_SMOOTH_WINDOW) -> np.ndarray:
    """Centred moving average over `window` frames (shrinking at the ends); window <= 1: unchanged.

    Detections jitter by a few pixels between frames; pasting the mouth into a jittering box makes
    the face wobble, so the box is averaged over time (Wav2Lip's original uses 5 frames).
    Any (N, K) track can be smoothed so: boxes and flattened landmarks alike.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if window <= 1 or len(boxes) < 2:
        return boxes.copy()
    half_before = (window - 1) // 2
    half_after = window - 1 - half_before
    cumulative = np.vstack([np.zeros((1, boxes.shape[1])), np.cumsum(boxes, axis=0)])
    index = np.arange(len(boxes))
    start = np.clip(index - half_before, 0, len(boxes))
    stop = np.clip(index + half_after + 1, 0, len(boxes))
    return (cumulative[stop] - cumulative[start]) / (stop - start)[:, None]


def pad_boxes(boxes: np.ndarray, pads: Pads = DEFAULT_PADS) -> np.ndarray:
    """Grow each box by `pads` (fractions of its own height for top/bottom, width for left/right)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    width = boxes[:, 2] - boxes[:, 0]
    height = boxes[:, 3] - boxes[:, 1]
    return np.stack([
        boxes[:, 0] - pads.left * width,
        boxes[:, 1] - pads.top * height,
        boxes[:, 2] + pads.right * width,
        boxes[:, 3] + pads.bottom * height,
    ], axis=1)


def clamp_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Integer boxes inside a `width` x `height` frame, each at least 2x2 pixels, as int32."""
    boxes = np.rint(np.asarray(boxes, dtype=np.float64))
    x1 = np.clip(boxes[:, 0], 0, width - 2)
    y1 = np.clip(boxes[:, 1], 0, height - 2)
    x2 = np.clip(boxes[:, 2], x1 + 2, width)
    y2 = np.clip(boxes[:, 3], y1 + 2, height)
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.int32)


def face_track_boxes(
    detections: Sequence[Sequence[FaceBox]],
    width: int,
    height: int,
    pads: Pads = DEFAULT_PADS,
    smooth_window: int = DEFAULT_SMOOTH_WINDOW,
) -> tuple[np.ndarray, int]:
    """The whole chain: (N, 4) int32 crop boxes and the number of frames filled in."""
    return followed_face_boxes(follow_face(detections), width, height, pads, smooth_window)


def followed_face_boxes(
    followed: Sequence[FaceBox | None],
    width: int,
    height: int,
    pads: Pads = DEFAULT_PADS,
    smooth_window: int = DEFAULT_SMOOTH_WINDOW,
) -> tuple[np.ndarray, int]:
    """`face_track_boxes` from `follow_face`'s result (preparation keeps the followed detections
    for the face mesh): fill, smooth, pad, clamp."""
    filled, missing = fill_missing(boxes_of(followed))
    boxes = pad_boxes(smooth_boxes(filled, smooth_window), pads)
    return clamp_boxes(boxes, width, height), missing
