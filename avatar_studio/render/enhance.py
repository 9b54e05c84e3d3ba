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
from avatar_studio.render.frame_compositor import FrameCompositor

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
        self, enhancer: FaceEnhancer, landmarks: np.ndarray, boxes: np.ndarray, compositor: FrameCompositor
    ) -> None:
        """`landmarks` (N, 468, 2) and `boxes` (N, 4) are the avatar's, indexed by its frame number;
        `compositor` is the one that blended the mouths in (its mask limits the `mouth` region)."""
        self.enhancer = enhancer
        self.landmarks = landmarks
        self.boxes = boxes
        self.compositor = compositor
        self.settings = compositor.settings

    def restore(self, frames: Sequence[np.ndarray], sources: Sequence[int], outputs: Sequence[int]) -> None:
        """Enhance `frames` (BGR uint8, modified in place): output frames `outputs`, showing avatar
        frames `sources`."""
        if not frames or self.settings.enhancer_blend == 0.0:
            return
        size, template = self.enhancer.size, self.enhancer.template
        matrices = [alignment_matrix(five_points(self.landmarks[j]), template, size) for j in sources]
        faces = np.stack([warp_face(frame, matrix, size) for frame, matrix in zip(frames, matrices, strict=True)])
        restored = self.enhancer.enhance(faces)
        for frame, face, matrix, source, output in zip(frames, restored, matrices, sources, outputs, strict=True):
            limit = self.lipsync_region(source, output) if self.settings.enhancer_region == "mouth" else None
            paste_face(frame, face, matrix, limit, self.settings.enhancer_blend)

    def lipsync_region(self, source: int, output: int) -> FrameMask:
        """Where the lip-sync model's output was blended into output frame `output` (avatar frame `source`)."""
        return lipsync_region(self.compositor, self.boxes[source], source, output)


def lipsync_region(compositor: FrameCompositor, box: np.ndarray, source: int, output: int = 0) -> FrameMask:
    """The compositor's blend mask for avatar frame `source` shown as output frame `output`, placed
    in the frame (scaled down in a cross-fade into silence, 0 inside a silence)."""
    weight = compositor.weights(source)
    share = compositor.lipsync_share(output)
    if share < 1.0:
        weight = weight * np.float32(share)
    return FrameMask(x=int(box[0]), y=int(box[1]), weight=weight)
