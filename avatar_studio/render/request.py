"""One render from names and choices: the steps `avatar-studio render` and the job queue share.

Cheap checks come first (settings, output path, avatar, audio, model), so a mistake is reported in
a second instead of after the model has spent seconds loading.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from avatar_studio.avatars.library import Avatar, AvatarLibrary
from avatar_studio.choices import ENHANCER_MAX_BATCH, BackendChoice, DeviceChoice, PrecisionChoice
from avatar_studio.media.video_writer import check_destination, checked_audio, refuse_input_as_output
from avatar_studio.model.backends.base import BackendSettings, InferenceBackend
from avatar_studio.model.backends.factory import open_backend
from avatar_studio.model.catalog import resolve_enhancer, resolve_model
from avatar_studio.model.enhancers import FaceEnhancer
from avatar_studio.paths import models_dir
from avatar_studio.progress import CancelToken, NoticeCallback, ProgressCallback
from avatar_studio.render.enhance import enhancer_landmarks
from avatar_studio.render.pipeline import RenderResult, render_video
from avatar_studio.render.settings import RenderSettings
from avatar_studio.settings import EngineSettings


@dataclass(frozen=True)
class RenderRequest:
    """What to render and with which model; None means "the library's configured default"."""

    avatar: str  # a display name (any case) or folder name; see `avatar_id`
    audio: Path
    output: Path
    settings: RenderSettings
    model: str | None = None
    backend: BackendChoice | None = None
    device: DeviceChoice | None = None
    precision: PrecisionChoice | None = None
    batch_size: int | None = None
    avatar_id: str = ""  # the folder name: when set, wins over `avatar` (which survives no rename)

    def backend_settings(self, library_root: Path) -> BackendSettings:
        """The model file and how to run it, defaults filled in from the library's settings."""
        engine = EngineSettings.load(library_root)
        return BackendSettings(
            model_path=resolve_model(self.model or None, engine, models_dir(engine.models_dir or None)),
            backend=self.backend or engine.backend,
            device=self.device or engine.device,
            precision=self.precision or engine.precision,
            batch_size=engine.batch_size if self.batch_size is None else self.batch_size,
        )

    def enhancer_path(self, library_root: Path) -> Path | None:
        """The face enhancer's file, or None when the render uses none."""
        if not self.settings.enhancer:
            return None
        engine = EngineSettings.load(library_root)
        return resolve_enhancer(self.settings.enhancer, models_dir(engine.models_dir or None))


def run_render_request(
    request: RenderRequest,
    library_root: Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_notice: NoticeCallback | None = None,
    on_backend_ready: NoticeCallback | None = None,
) -> RenderResult:
    """Check everything cheap, open the backend, render; `on_backend_ready` gets its description."""
    request.settings.validate()
    output_format = check_destination(request.output, request.settings.overwrite, [request.audio])
    avatar = AvatarLibrary(library_root).get_by_id(request.avatar_id, request.avatar)
    if on_notice is not None and request.settings.mask != "box" and not avatar.has_landmarks:
        on_notice(
            f"{avatar.name!r} was prepared without face-mesh landmarks, so it renders with the box mask; "
            "re-prepare it for face-mesh masks."
        )
    refuse_input_as_output(request.output, [avatar.meta.source_file])
    checked_audio(request.audio)
    video_codec = output_format.video_codec_name(output_format.chosen_encoder(request.settings.encoder))
    if avatar.has_alpha and not output_format.keeps_alpha and on_notice is not None:
        on_notice(
            f"{avatar.name!r} has a transparent background, which {output_format.suffix} cannot keep: it is "
            "composited over black (render to .webm or .mov to keep the transparency)."
        )
    if cancel is not None:
        cancel.raise_if_cancelled()  # loading a model takes seconds: do not start it for nothing
    with opened_models(request, library_root, avatar, on_notice) as (backend, enhancer):
        if on_backend_ready is not None:
            on_backend_ready(
                backend.describe() + ("" if enhancer is None else f" + {enhancer.describe()}")
                + f"; video encoder {video_codec}"
            )
        return render_video(
            avatar, request.audio, backend, request.output, request.settings, progress=progress, cancel=cancel,
            enhancer=enhancer, on_notice=on_notice,
        )


@contextmanager
def opened_models(
    request: RenderRequest, library_root: Path, avatar: Avatar, on_notice: NoticeCallback | None = None
) -> Iterator[tuple[InferenceBackend, FaceEnhancer | None]]:
    """The lip-sync backend and, when the settings name one, the face enhancer on the same device;
    both closed on leaving. Cheap refusals (no model, an avatar without landmarks) come first."""
    backend_settings = request.backend_settings(library_root)
    enhancer_path = request.enhancer_path(library_root)
    if enhancer_path is not None:
        enhancer_landmarks(avatar)
    with ExitStack() as models:
        backend = models.enter_context(open_backend(backend_settings, on_notice))
        enhancer = None
        if enhancer_path is not None:
            enhancer = models.enter_context(FaceEnhancer(
                enhancer_path, backend_settings.device, min(backend.batch_size, ENHANCER_MAX_BATCH),
                request.settings.enhancer_weight, on_notice,
            ))
        yield backend, enhancer
