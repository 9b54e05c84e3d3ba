"""About: versions, and the backends, devices and ONNX Runtime providers really usable here.

Collecting it imports torch and starts tiny ONNX sessions (a second or two), so it runs in a
background task and the dialog fills in when it is ready.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from avatar_studio import __version__
from avatar_studio.gui.workers import BackgroundTask


class AboutDialog(QDialog):
    def __init__(self, library_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Avatar Studio")
        self.setMinimumSize(640, 460)
        header = QLabel(
            f"<h3>Avatar Studio {__version__}</h3>"
            "Lip-synced talking-avatar videos from one presenter clip and any voice recording, "
            "with Wav2Lip (Prajwal et al., 2020). Model weights are not included: the public ones are for "
            "research and non-commercial use."
        )
        header.setWordWrap(True)
        self.details = QPlainTextEdit("Checking versions, devices and ONNX Runtime providers…")
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

        from avatar_studio.system_info import collect_system_info

        self.task = BackgroundTask(lambda _p, _c: collect_system_info(library_root), name="system-info")
        self.task.succeeded.connect(lambda info: self.details.setPlainText("\n".join(info.lines())))
        self.task.failed.connect(lambda message, _details: self.details.setPlainText(message))
        self.task.start()

    def done(self, result: int) -> None:
        self.task.wait()  # a second at most; the task cannot be interrupted halfway
        super().done(result)
