"""The render form's audio: dropped files picked out, and each chosen file checked in the background.

A file that cannot be rendered (a text file, a video without sound, a path that does not exist)
is refused when it is chosen, with ffmpeg's reason under the field, rather than when its job's
turn comes. The form only asks `AudioCheck` and greys out its buttons on `changed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtWidgets import QLabel

from avatar_studio.gui.file_kinds import FileKind, file_kind
from avatar_studio.gui.formatting import audio_summary
from avatar_studio.gui.media_probe import MediaProber
from avatar_studio.media.probe import MediaInfo


def dropped_audio(urls: Iterable[QUrl]) -> list[Path]:
    """The local audio files among dropped URLs."""
    paths = (Path(url.toLocalFile()) for url in urls if url.isLocalFile())
    return [path for path in paths if file_kind(path) is FileKind.AUDIO]


class AudioCheck(QObject):
    """Probes the chosen audio off the GUI thread and says in `info` what it is or why it cannot be used."""

    changed = Signal()  # `problem` or `details` changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.hide()
        #: Why the chosen audio cannot be rendered ("" when it can, or while it is being checked).
        self.problem = ""
        self.details: MediaInfo | None = None
        self._prober = MediaProber(parent=self)
        self._prober.probed.connect(self._on_probed)
        self._prober.refused.connect(self._on_refused)

    def check(self, path: Path) -> None:
        """Probe `path` unless it is the file already checked."""
        if self.details is not None and self.details.path == path:
            return
        self._report(None, "", "Checking the audio…", error=False)
        self._prober.probe(path)

    def forget(self) -> None:
        """The field was cleared: nothing to complain about any more."""
        self._report(None, "", "", error=False)

    def _on_probed(self, _path: Path, info: MediaInfo) -> None:
        self._report(info, "", audio_summary(info), error=False)

    def _on_refused(self, _path: Path, reason: str) -> None:
        self._report(None, reason, f"Cannot use this audio: {reason}", error=True)

    def _report(self, details: MediaInfo | None, problem: str, text: str, error: bool) -> None:
        self.details, self.problem = details, problem
        self.info.setText(text)
        self.info.setStyleSheet("color: #d64545;" if error else "")
        self.info.setVisible(bool(text))
        self.changed.emit()
