"""One output frame from the avatar's frame and the model's mouth: mask, colour, silence, blend.

The mask kind the settings ask for is used where the avatar has face-mesh landmarks; an avatar
prepared before them falls back to the `box` mask (`effective_mask`). With `--silence original`
a per-output-frame share of lip sync (`audio.silence.lipsync_weights`) scales the mask: 0 leaves
the avatar's frame untouched, values between cross-fade into the model's mouth.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from avatar_studio.choices import MaskKind
from avatar_studio.render.color_match import match_colors
from avatar_studio.render.masks import box_weights, landmark_weights
from avatar_studio.render.settings import RenderSettings


def effective_mask(requested: MaskKind, has_landmarks: bool) -> MaskKind:
    """The mask a render really uses: face-mesh masks need landmarks, else the box."""
    return requested if has_landmarks else "box"


@functools.lru_cache(maxsize=64)
def _cached_box_weights(height: int, width: int, feather: float) -> np.ndarray:
    weights = box_weights(height, width, feather)
    weights.setflags(write=False)
    return weights


class FrameCompositor:
    """Blends model mouths into frames as `settings` say, for one avatar's boxes and landmarks."""

    def __init__(
        self,
        settings: RenderSettings,
        boxes: np.ndarray,
        landmarks: np.ndarray | None,
        lipsync: np.ndarray | None = None,
    ) -> None:
        """`boxes` (N, 4) and `landmarks` (N, 468, 2) or None are per avatar frame; `lipsync`
        (one weight in 0..1 per output frame) or None for full lip sync everywhere."""
        self.settings = settings
        self.mask: MaskKind = effective_mask(settings.mask, landmarks is not None)
        self._boxes = boxes
        self._landmarks = landmarks
        self._lipsync = lipsync

    def weights(self, source_index: int) -> np.ndarray:
        """The blend mask over avatar frame `source_index`'s box, (box height, box width) float32."""
        x1, y1, x2, y2 = (int(v) for v in self._boxes[source_index])
        if self.mask == "box" or self._landmarks is None:
            return _cached_box_weights(y2 - y1, x2 - x1, self.settings.feather)
        return landmark_weights(
            self.mask, self._landmarks[source_index], self._boxes[source_index],
            self.settings.mask_blur, self.settings.mouth_dilate,
        )  # fmt: skip

    def lipsync_share(self, output_index: int) -> float:
        return 1.0 if self._lipsync is None else float(self._lipsync[output_index])

    def paste(self, frame: np.ndarray, mouth: np.ndarray, source_index: int, output_index: int) -> None:
        """Blend the 96x96 BGR `mouth` into `frame` (avatar frame `source_index`, in place).

        Only the bounding rectangle of the mask's non-zero weights is colour-matched and blended.
        """
        share = self.lipsync_share(output_index)
        if share <= 0.0:
            return  # silence: the avatar's own frame, untouched
        x1, y1, x2, y2 = (int(v) for v in self._boxes[source_index])
        weight = self.weights(source_index)
        left, top, width, height = cv2.boundingRect((weight > 0).view(np.uint8))
        if width == 0:
            return
        window = (slice(top, top + height), slice(left, left + width))
        weight = weight[window]
        if share < 1.0:
            weight = weight * np.float32(share)
        region = frame[y1:y2, x1:x2][window]
        resized = cv2.resize(mouth, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)[window]
        if self.settings.color_match:
            resized = match_colors(resized, region, weight)
        region[...] = cv2.blendLinear(resized, region, weight, np.float32(1.0) - weight)
