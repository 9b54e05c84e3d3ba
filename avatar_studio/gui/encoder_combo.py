"""The `--encoder` choice as a combo box: every encoder listed, those that cannot start on this
machine greyed out with the reason beside them.

Whether an encoder starts is only known from a trial encode (ffmpeg processes, cached per
process: see `media/encoders.py`), so the trials run in a background task and the items are
greyed when it reports; until then every item is selectable and the choice is checked again
before the render anyway.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from avatar_studio.choices import DEFAULT_ENCODER, VIDEO_ENCODERS, VideoEncoderChoice, check_choice
from avatar_studio.gui.workers import BackgroundTask

AUTO_HINT = "auto: a hardware H.264 encoder that starts here, else libx264"


class EncoderCombo(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for name in VIDEO_ENCODERS:
            self.addItem(name, name)
        self.setItemData(0, AUTO_HINT, Qt.ItemDataRole.ToolTipRole)
        self.setToolTip("H.264/H.265 encoder for .mp4/.m4v/.mkv (.webm and .mov always use VP9 and ProRes)")
        from avatar_studio.media.encoders import encoder_options

        self.trials_shown = False  # becomes True once the items say which encoders start here

        self.trials = BackgroundTask(lambda _progress, _cancel: encoder_options(), name="encoder-trials")
        self.trials.succeeded.connect(self.show_trials)
        self.trials.start()

    def value(self) -> VideoEncoderChoice:
        return check_choice("encoder", self.currentData() or DEFAULT_ENCODER, VIDEO_ENCODERS)

    def set_value(self, name: str) -> None:
        index = self.findData(name)
        self.setCurrentIndex(max(index, 0))

    def show_trials(self, options: list) -> None:
        """Grey out the encoders whose trial failed, naming why (their `EncoderOption`s)."""
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        for option in options:
            item = model.item(self.findData(option.name))
            item.setEnabled(option.usable)
            item.setText(option.name if option.usable else f"{option.name} — {option.reason}")
            item.setToolTip("starts on this machine" if option.usable else f"cannot start here: {option.reason}")
        self.trials_shown = True
