"""Settings: the library folder (remembered by Qt) and the engine defaults (saved in the library)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from avatar_studio.choices import (
    BACKENDS,
    DEVICES,
    ENCODER_PRESETS,
    MAX_CRF,
    PRECISIONS,
)
from avatar_studio.gui.encoder_combo import EncoderCombo
from avatar_studio.gui.icons import icon
from avatar_studio.settings import EngineSettings


class SettingsDialog(QDialog):
    def __init__(self, library_root: Path, settings: EngineSettings, models: list,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = settings
        self.library = QLineEdit(str(library_root))
        self.models_dir = QLineEdit(settings.models_dir)
        self.models_dir.setPlaceholderText("default: the checkout's pretrained/ folder or the user data folder")
        self.output_dir = QLineEdit(settings.output_dir)
        self.output_dir.setPlaceholderText("default: your Videos folder, else your home folder")
        self.default_model = QComboBox()
        self.default_model.addItem("(the only model in the folder)", "")
        for info in models:
            self.default_model.addItem(info.name, str(info.path))
        index = self.default_model.findData(settings.default_model)
        self.default_model.setCurrentIndex(max(index, 0))
        self.backend = self._combo(BACKENDS, settings.backend)
        self.device = self._combo(DEVICES, settings.device)
        self.precision = self._combo(PRECISIONS, settings.precision)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 512)
        self.batch_size.setValue(settings.batch_size)
        self.crf = QSpinBox()
        self.crf.setRange(0, MAX_CRF)
        self.crf.setValue(settings.crf)
        self.preset = self._combo(ENCODER_PRESETS, settings.preset)
        self.encoder = EncoderCombo()
        self.encoder.set_value(settings.encoder)

        form = QFormLayout(self)
        form.addRow("Library folder", self._with_browse(self.library, "Choose the library folder"))
        form.addRow("Models folder", self._with_browse(self.models_dir, "Choose the models folder"))
        form.addRow("Output folder", self._with_browse(self.output_dir, "Choose the output folder"))
        form.addRow("Default model", self.default_model)
        form.addRow("Backend", self.backend)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Encoder quality (CRF)", self.crf)
        form.addRow("Encoder preset", self.preset)
        form.addRow("Video encoder", self.encoder)
        note = QLabel("The settings below are stored in the library folder: choosing another library "
                      "folder switches to that library's own settings (the changes below are not applied).")
        note.setWordWrap(True)
        note.setEnabled(False)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @property
    def library_root(self) -> Path:
        return Path(self.library.text().strip()).expanduser().resolve()

    def engine_settings(self) -> EngineSettings:
        return replace(
            self._settings,
            models_dir=self.models_dir.text().strip(),
            output_dir=self.output_dir.text().strip(),
            default_model=self.default_model.currentData() or "",
            backend=self.backend.currentText(),
            device=self.device.currentText(),
            precision=self.precision.currentText(),
            batch_size=self.batch_size.value(),
            crf=self.crf.value(),
            preset=self.preset.currentText(),
            encoder=self.encoder.value(),
        )

    @staticmethod
    def _combo(values: tuple[str, ...], current: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(values)
        combo.setCurrentText(current)
        return combo

    def _with_browse(self, field: QLineEdit, title: str) -> QWidget:
        button = QToolButton()
        button.setIcon(icon("folder"))
        button.clicked.connect(lambda: self._browse(field, title))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field, 1)
        layout.addWidget(button)
        return row

    def _browse(self, field: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, field.text())
        if folder:
            field.setText(folder)
