"""The face-enhancer step of a render: restore the composited faces and paste them back.

Wav2Lip draws a 96x96 mouth, soft when scaled up to a real face. After compositing, each frame's
face is aligned to the enhancer's template from its five landmark points, the batch goes through
the face-restoration model, and each restored face is pasted back through a soft mask: by default
only where the lip-sync model drew (`mouth`, so the eyes and skin keep the original's real detail),
or over the whole aligned face (`face`), at the chosen blend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.align import FrameMask, alignment_matrix, five_points, paste_face, warp_face
from avatar_studio.model.enhancers import FaceEnhancer
from avatar_studio.render.composite import blend_mask
from avatar_studio.render.settings import RenderSettings

if TYPE_CHECKING:  # the avatar library imports the face detector; restoring needs only the type
    from avatar_studio.avatars.library import Avatar


def enhancer_landmarks(avatar: Avatar) -> np.ndarray:
    """The avatar's (N, 468, 2) face-mesh points, which alignment needs; a sentence if it has none."""
    landmarks = avatar.landmarks()
    if landmarks is None:
        raise AvatarStudioError(
            f"The avatar {avatar.name!r} was prepared before face landmarks were stored, and the face enhancer "
            "needs them to align the face; re-prepare the avatar, or render without an enhancer."
        )
    return landmarks


class FrameRestorer:
    """Restores the faces of composited frames in place, a batch at a time, for one avatar."""

    def __init__(
        self, enhancer: FaceEnhancer, landmarks: np.ndarray, boxes: np.ndarray, settings: RenderSettings
    ) -> None:
        """`landmarks` (N, 468, 2) and `boxes` (N, 4) are the avatar's, indexed by its frame number."""
        self.enhancer = enhancer
        self.landmarks = landmarks
        self.boxes = boxes
        self.settings = settings

    def restore(self, frames: Sequence[np.ndarray], sources: Sequence[int]) -> None:
        """Enhance `frames` (BGR uint8, modified in place); `sources[k]` is frame k's avatar frame index."""
        if not frames or self.settings.enhancer_blend == 0.0:
            return
        size, template = self.enhancer.size, self.enhancer.template
        matrices = [alignment_matrix(five_points(self.landmarks[j]), template, size) for j in sources]
        faces = np.stack([warp_face(frame, matrix, size) for frame, matrix in zip(frames, matrices, strict=True)])
        restored = self.enhancer.enhance(faces)
        for frame, face, matrix, source in zip(frames, restored, matrices, sources, strict=True):
            limit = self.lipsync_region(source) if self.settings.enhancer_region == "mouth" else None
            paste_face(frame, face, matrix, limit, self.settings.enhancer_blend)

    def lipsync_region(self, source: int) -> FrameMask:
        """Where the lip-sync model's output was blended into avatar frame `source`."""
        x1, y1, x2, y2 = (int(v) for v in self.boxes[source])
        mask = blend_mask(y2 - y1, x2 - x1, self.settings.feather)
        return FrameMask(x=x1, y=y1 + mask.top, weight=mask.weight)
