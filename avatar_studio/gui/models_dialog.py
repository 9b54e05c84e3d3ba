"""The models panel: the models found, import, conversion to ONNX, the default model.

Import goes through `ModelActions.import_file` (the same path as a drop), so a model is
validated by the loader exactly once, wherever it comes from. Conversion runs `export_onnx` in a
background task with a progress bar and a cancel button.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.choices import EXPORT_PRECISIONS, MODEL_SUFFIXES_TORCH, check_choice
from avatar_studio.gui.file_kinds import FileKind, file_kind
from avatar_studio.gui.formatting import format_size
from avatar_studio.gui.icons import icon
from avatar_studio.gui.model_actions import ModelActions
from avatar_studio.gui.tables import row_table
from avatar_studio.gui.workers import BackgroundTask

COLUMNS = ("", "Model", "Kind", "Format", "Precision", "Size")
#: How each catalog kind reads in the table.
KIND_LABELS = {"lip-sync": "Lip sync", "enhancer": "Face enhancer"}


def onnx_name(model: Path, precision: str) -> str:
    """`wav2lip_gan.pth` -> `wav2lip_gan_fp16.onnx`."""
    return f"{model.stem}_{precision}.onnx"


class ModelsDialog(QDialog):
    def __init__(self, actions: ModelActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._actions = actions
        self._models: list = []
        self._task: BackgroundTask | None = None
        self.setWindowTitle("Models")
        self.setMinimumSize(680, 380)
        self.setAcceptDrops(True)

        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = row_table(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.import_button = QPushButton(icon("import"), "Import…")
        self.import_button.clicked.connect(actions.import_dialog)
        self.default_button = QPushButton(icon("star"), "Set as default")
        self.default_button.clicked.connect(self.set_default)
        self.precision = QComboBox()
        self.precision.addItems(EXPORT_PRECISIONS)
        self.precision.setCurrentText("fp16")
        self.precision.setToolTip("fp16 files are half the size and fastest on GPUs; fp32 is exact on every device")
        self.convert_button = QPushButton(icon("convert"), "Convert to ONNX")
        self.convert_button.setToolTip("Export the selected PyTorch checkpoint to ONNX (checked against PyTorch)")
        self.convert_button.clicked.connect(self.convert_selected)
        folder_button = QPushButton(icon("folder"), "Show folder")
        folder_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(actions.models_dir))))
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(lambda: self._task.cancel() if self._task else None)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.remove_button = QPushButton(icon("remove"), "Remove…")
        self.remove_button.setToolTip("Delete the selected model file from the models folder (asks first)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)

        buttons = QHBoxLayout()
        for widget in (self.import_button, self.default_button, self.remove_button, folder_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.precision)
        buttons.addWidget(self.convert_button)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(running)
        layout.addWidget(self.message)
        closing = QHBoxLayout()
        closing.addStretch(1)
        closing.addWidget(self.close_button)
        layout.addLayout(closing)
        actions.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self._models = self._actions.refresh()
        self.folder_label.setText(f"Models folder: <tt>{self._actions.models_dir}</tt> — drop .pth or .onnx files here")
        default = self._actions.default_model
        self.table.setRowCount(len(self._models))
        for row, info in enumerate(self._models):
            is_default = bool(default) and Path(default).name == info.name
            cells = (
                "★" if is_default else "", info.name, KIND_LABELS.get(info.kind, info.kind), info.format,
                info.precision, format_size(info.size_bytes),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                # An enhancer's note says which family its shapes fit and under which licence.
                item.setToolTip(f"{info.path}\n{info.note}" if info.note else str(info.path))
                self.table.setItem(row, column, item)
        self._update_buttons()

    def selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self._models[rows[0].row()] if rows else None

    def set_default(self) -> None:
        info = self.selected()
        if info is None:
            return
        self._actions.set_default(info.path)
        self.refresh()

    def remove_selected(self) -> bool:
        """Delete the selected model file after asking; True when it was removed."""
        info = self.selected()
        if info is None or self._task is not None:
            return False
        answer = QMessageBox.question(
            self, "Remove model", f"Delete {info.name} ({format_size(info.size_bytes)}) from the models folder?\n"
            f"{info.path}\nThis cannot be undone; queued renders that name this model will fail.")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        removed = self._actions.remove(info)
        self.message.setText(f"Removed {info.name}." if removed else "")
        self.refresh()
        return removed

    def convert_selected(self) -> BackgroundTask | None:
        info = self.selected()
        if info is None or self._task is not None:
            return None
        from avatar_studio.model.export import export_onnx

        precision = check_choice("export precision", self.precision.currentText(), EXPORT_PRECISIONS)
        output = self._actions.models_dir / onnx_name(info.path, precision)
        task = BackgroundTask(lambda progress, cancel: export_onnx(info.path, output, precision, progress, cancel),
                              name="export-onnx")
        task.progressed.connect(self._on_progress)
        task.succeeded.connect(lambda report: self.message.setText(
            f"Wrote {report.path.name} ({report.precision}); largest difference from PyTorch "
            f"{report.max_abs_diff:.2g}, in {report.seconds:.0f} s."))
        task.failed.connect(lambda message, _details: self.message.setText(f"Conversion failed: {message}"))
        task.cancelled.connect(lambda: self.message.setText("Conversion cancelled; nothing was written."))
        task.finished.connect(self._on_finished)
        self._task = task
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.message.setText(f"Converting {info.name} to ONNX {precision}…")
        self._update_buttons()
        task.start()
        return task

    def _on_progress(self, progress) -> None:
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.stage} {progress.percent:.0f} %")  # steps, not frames: no rate

    def _on_finished(self) -> None:
        self._task = None
        self.progress.hide()
        self.cancel_button.hide()
        self.refresh()

    def _update_buttons(self) -> None:
        info = self.selected()
        self.default_button.setEnabled(info is not None and info.kind == "lip-sync")  # an enhancer is never the render's model
        self.remove_button.setEnabled(info is not None and self._task is None)
        is_checkpoint = info is not None and info.path.suffix.lower() in MODEL_SUFFIXES_TORCH
        self.convert_button.setEnabled(is_checkpoint and self._task is None)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(file_kind(Path(url.toLocalFile())) is FileKind.MODEL for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if file_kind(path) is FileKind.MODEL:
                self._actions.import_file(path)
        event.acceptProposedAction()

    def done(self, result: int) -> None:
        """Closing the dialog cancels a conversion in progress (its partial file is removed)."""
        if self._task is not None:
            self._task.cancel()
            self._task.wait()
        self._actions.changed.disconnect(self.refresh)
        super().done(result)

