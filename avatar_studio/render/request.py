"""One render from names and choices: the steps `avatar-studio render` and the job queue share.

Cheap checks come first (settings, output path, avatar, audio, model), so a mistake is reported in
a second instead of after the model has spent seconds loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.choices import BackendChoice, DeviceChoice, PrecisionChoice
from avatar_studio.media.video_writer import check_destination, checked_audio
from avatar_studio.model.backends.base import BackendSettings
from avatar_studio.model.backends.factory import open_backend
from avatar_studio.model.catalog import resolve_model
from avatar_studio.paths import models_dir
from avatar_studio.progress import CancelToken, NoticeCallback, ProgressCallback
from avatar_studio.render.pipeline import RenderResult, render_video
from avatar_studio.render.settings import RenderSettings
from avatar_studio.settings import EngineSettings


@dataclass(frozen=True)
class RenderRequest:
    """What to render and with which model; None means "the library's configured default"."""

    avatar: str
    audio: Path
    output: Path
    settings: RenderSettings
    model: str | None = None
    backend: BackendChoice | None = None
    device: DeviceChoice | None = None
    precision: PrecisionChoice | None = None
    batch_size: int | None = None

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
    check_destination(request.output, request.settings.overwrite)
    avatar = AvatarLibrary(library_root).get(request.avatar)
    checked_audio(request.audio)
    backend_settings = request.backend_settings(library_root)
    if cancel is not None:
        cancel.raise_if_cancelled()  # loading a model takes seconds: do not start it for nothing
    with open_backend(backend_settings, on_notice) as backend:
        if on_backend_ready is not None:
            on_backend_ready(backend.describe())
        return render_video(
            avatar, request.audio, backend, request.output, request.settings, progress=progress, cancel=cancel
        )
