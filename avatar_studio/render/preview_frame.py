"""One rendered frame for a before/after check: the frame under the player's playhead, made exactly
as a render with the same settings would make it (model, mask, colour matching, enhancer).

A quick preview renders and encodes seconds of video; judging the mouth needs one frame. Here the
audio is decoded, one mel window and one face crop go through the model, and the result is
composited (and restored, with an enhancer) into that single frame: the cost is the models'
start-up plus one frame's work. The frame index follows the render's own schedule, so the playhead
time t of the avatar's clip gives the output frame at t, driven by the audio at t.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_studio.audio import frames_for_duration, load_audio
from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.faces.align import FrameMask
from avatar_studio.media.video_writer import checked_audio
from avatar_studio.model.backends.base import NoticeCallback
from avatar_studio.progress import CancelToken
from avatar_studio.render.enhance import FrameRestorer, enhancer_landmarks, lipsync_region
from avatar_studio.render.model_io import face_batch, predictions_to_images
from avatar_studio.render.pipeline import frame_compositor
from avatar_studio.render.request import RenderRequest, opened_models
from avatar_studio.render.schedule import source_frame


@dataclass(frozen=True)
class PreviewFrame:
    """The avatar's frame as it is (`original`) and as the render would show it (`rendered`)."""

    original: np.ndarray  # (H, W, 3) uint8 BGR
    rendered: np.ndarray  # (H, W, 3) uint8 BGR
    #: The output frame shown (its time is output_index / fps) and the avatar frame it comes from.
    output_index: int
    source_index: int
    #: Where the lip-sync model's image was blended in.
    mask: FrameMask
    #: The backend (and enhancer) line, as the status bar shows it for renders.
    description: str


def render_preview_frame(
    request: RenderRequest,
    library_root: Path,
    position_s: float,
    cancel: CancelToken | None = None,
    on_notice: NoticeCallback | None = None,
) -> PreviewFrame:
    """Render the frame at `position_s` of `request` (its output path is not used: nothing is written)."""
    settings = request.settings
    settings.validate()
    avatar = AvatarLibrary(library_root).get_by_id(request.avatar_id, request.avatar)
    checked_audio(request.audio)
    audio = load_audio(request.audio, cancel=cancel)
    fps = avatar.fps_fraction
    n_frames = max(1, frames_for_duration(audio.duration_s, fps))
    output_index = min(max(int(position_s * float(fps) + 1e-6), 0), n_frames - 1)
    source = source_frame(output_index, avatar.frame_count, settings.loop)
    mel = audio.windows(fps, n_frames).batch(output_index, output_index + 1)
    if cancel is not None:
        cancel.raise_if_cancelled()
    compositor = frame_compositor(avatar, audio, n_frames, settings)
    with opened_models(request, library_root, avatar, on_notice) as (backend, enhancer):
        description = backend.describe() + ("" if enhancer is None else f" + {enhancer.describe()}")
        mouth = predictions_to_images(backend.predict(mel, face_batch(avatar.crops[[source]])))[0]
        original = avatar.read_frame(source)
        rendered = original.copy()
        compositor.paste(rendered, mouth, source, output_index)
        if enhancer is not None:
            restorer = FrameRestorer(enhancer, enhancer_landmarks(avatar), avatar.boxes, compositor)
            restorer.restore([rendered], [source], [output_index])
    return PreviewFrame(
        original=original, rendered=rendered, output_index=output_index, source_index=source,
        mask=lipsync_region(compositor, avatar.boxes[source], source, output_index), description=description,
    )
