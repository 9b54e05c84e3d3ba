"""The small dialog shown before a preparation: what the file is, the avatar's name, how to prepare it.

The file is probed in the background as the dialog opens: its first picture, duration, size and
frame rate appear before anything is prepared, and a file ffmpeg cannot read is refused there,
with the reason, instead of failing minutes later.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.choices import DEFAULT_FPS
from avatar_studio.faces.boxes import Pads
from avatar_studio.gui.file_kinds import is_image
from avatar_studio.gui.formatting import source_summary
from avatar_studio.gui.media_probe import MediaProber, SourcePreview


class AddAvatarDialog(QDialog):
    """Name, face padding, smoothing, maximum height (and fps for a still image)."""

    def __init__(self, source: Path, suggested_name: str, parent: QWidget | None = None,
                 title: str = "Add avatar", name_editable: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        defaults = PrepareSettings()
        self._name = QLineEdit(suggested_name)
        self._name.setEnabled(name_editable)
        self._pads = [self._spin(round(value * 100), -50, 200, " %") for value in defaults.pads]
        self._smooth = QCheckBox("Smooth face boxes over")
        self._smooth.setChecked(defaults.smooth_window > 1)
        self._smooth_window = self._spin(max(defaults.smooth_window, 2), 2, 51, " frames")
        self._smooth.toggled.connect(self._smooth_window.setEnabled)
        self._keep_height = QCheckBox("Scale down to at most")
        self._max_height = self._spin(defaults.max_height or 1080, 96, 4320, " lines")
        self._keep_height.setChecked(bool(defaults.max_height))
        self._keep_height.toggled.connect(self._max_height.setEnabled)
        self._fps = QDoubleSpinBox()
        self._fps.setRange(1.0, 120.0)
        self._fps.setValue(DEFAULT_FPS)
        self._fps.setSuffix(" fps")

        pads = QHBoxLayout()
        for label, spin in zip(("top", "bottom", "left", "right"), self._pads, strict=True):
            pads.addWidget(QLabel(label))
            pads.addWidget(spin)
        smoothing = QHBoxLayout()
        smoothing.addWidget(self._smooth)
        smoothing.addWidget(self._smooth_window)
        height = QHBoxLayout()
        height.addWidget(self._keep_height)
        height.addWidget(self._max_height)

        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(240, 180)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background: #141414; color: #bbbbbb;")
        self.thumbnail.setText("…")
        self.facts = QLabel("Checking the file…")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview: SourcePreview | None = None
        #: Why the file cannot become an avatar ("" when it can or while it is being checked).
        self.problem = ""
        about = QHBoxLayout()
        about.addWidget(self.thumbnail)
        about_text = QVBoxLayout()
        file_name = QLabel(f"<b>{source.name}</b>")
        file_name.setWordWrap(True)
        about_text.addWidget(file_name)
        about_text.addWidget(self.facts)
        about_text.addStretch(1)
        about.addLayout(about_text, 1)

        form = QFormLayout(self)
        form.addRow(about)
        form.addRow("Name", self._name)
        form.addRow("Face padding", pads)
        form.addRow("Smoothing", smoothing)
        form.addRow("Size", height)
        if is_image(source):
            form.addRow("Still image frame rate", self._fps)
        hint = QLabel("Padding widens the detected face box by a share of its size; raise <i>bottom</i> "
                      "if the chin is cut off (check with the player's face box).")
        hint.setWordWrap(True)
        form.addRow(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.prepare_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.prepare_button.setText("Prepare")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._is_image = is_image(source)
        self.prober = MediaProber(as_source=True, parent=self)
        self.prober.probed.connect(self._on_probed)
        self.prober.refused.connect(self._on_refused)
        self.prober.probe(source)

    def _on_probed(self, _path: Path, preview: SourcePreview) -> None:
        self.preview = preview
        self.facts.setText(source_summary(preview.info))
        self.thumbnail.setPixmap(bgr_pixmap(preview.thumbnail).scaled(
            self.thumbnail.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def _on_refused(self, _path: Path, reason: str) -> None:
        self.problem = reason
        self.facts.setText(f"Cannot prepare this file: {reason}")
        self.facts.setStyleSheet("color: #d64545;")
        self.thumbnail.setText("no picture")
        self.prepare_button.setEnabled(False)

    def accept(self) -> None:
        if not self.problem:
            super().accept()

    @staticmethod
    def _spin(value: int, low: int, high: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setSuffix(suffix)
        return spin

    @property
    def name(self) -> str:
        return self._name.text().strip()

    def settings(self) -> PrepareSettings:
        return PrepareSettings(
            fps=self._fps.value() if self._is_image else None,
            pads=Pads(*(spin.value() / 100 for spin in self._pads)),
            smooth_window=self._smooth_window.value() if self._smooth.isChecked() else 0,
            max_height=self._max_height.value() if self._keep_height.isChecked() else None,
        )


def bgr_pixmap(image: np.ndarray) -> QPixmap:
    """An HxWx3 BGR uint8 array (as the engine decodes pictures) as a pixmap."""
    contiguous = np.ascontiguousarray(image)
    height, width = contiguous.shape[:2]
    qimage = QImage(contiguous.data, width, height, width * 3, QImage.Format.Format_BGR888)
    return QPixmap.fromImage(qimage.copy())  # the copy owns its pixels; `contiguous` may go away
