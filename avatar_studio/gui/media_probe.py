"""Probing a picked or dropped file in the background, so mistakes show when the file is chosen.

A text file or a video without sound chosen as audio used to fail only when its job's turn came.
The render form and the add-avatar dialog now hand each file to a `MediaProber`, which runs the
engine's probe (two quick ffmpeg runs, plus one decoded frame for a picture) off the GUI thread
and reports the facts or ffmpeg's reason for refusing it. Only the newest request is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.media.probe import MediaInfo, probe_media
from avatar_studio.media.video_writer import probe_audio

THUMBNAIL_HEIGHT = 180


@dataclass(frozen=True)
class SourcePreview:
    """A would-be avatar source: its facts and a small first picture (BGR)."""

    info: MediaInfo
    thumbnail: np.ndarray


def preview_source(path: Path, thumbnail_height: int = THUMBNAIL_HEIGHT) -> SourcePreview:
    """Probe a video or photo and decode its first picture, small; refuse files without one."""
    info = probe_media(path)
    if not info.has_video:
        raise AvatarStudioError(f"{path.name!r} has no picture; choose a video or photo of the presenter.")
    from avatar_studio.media.video_reader import VideoFrameSource

    frames = VideoFrameSource(info, max_height=thumbnail_height).frames()
    first = next(frames, None)
    close = getattr(frames, "close", None)  # a generator: closing it ends the ffmpeg pipe now
    if close is not None:
        close()
    if first is None:
        raise AvatarStudioError(f"{path.name!r} has no readable frame; the file may be damaged.")
    return SourcePreview(info, first)


class MediaProber(QObject):
    """Probes one file at a time in a worker; a newer request makes older answers irrelevant.

    Signals: `probed(path, result)` with a `MediaInfo` (audio) or `SourcePreview` (source),
    `refused(path, reason)` with ffmpeg's or our one-sentence reason. The answers arrive at bound
    slots, which Qt disconnects when the prober (with its form or dialog) is destroyed first.
    """

    probed = Signal(object, object)
    refused = Signal(object, str)

    def __init__(self, as_source: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work: Callable[[Path], object] = preview_source if as_source else probe_audio
        self._latest: Path | None = None
        self.task: BackgroundTask | None = None

    def probe(self, path: Path) -> BackgroundTask:
        self._latest = path
        work = self._work

        def check(_progress: object, _cancel: object) -> tuple[Path, object, str]:
            try:
                return path, work(path), ""
            except AvatarStudioError as error:
                return path, None, str(error)

        task = BackgroundTask(check, name="probe")
        task.succeeded.connect(self._on_answer)
        task.failed.connect(self._on_bug)
        self.task = task
        task.start()
        return task

    @Slot(object)
    def _on_answer(self, answer: tuple[Path, object, str]) -> None:
        path, result, reason = answer
        if path != self._latest:
            return
        if reason:
            self.refused.emit(path, reason)
        else:
            self.probed.emit(path, result)

    @Slot(str, str)
    def _on_bug(self, message: str, _details: str) -> None:
        if self._latest is not None:
            self.refused.emit(self._latest, message)
