"""Render → Import batch…: check a manifest and put its rows into the queue as one group.

The check and the queueing (which prepares avatars given as files) run in a background task; a
manifest with problems shows every problem line here and queues nothing, exactly as the
`avatar-studio batch` command refuses it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.gui.formatting import format_progress
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.store import JobStore

MANIFEST_FILTER = "Batch manifests (*.csv *.json);;All files (*)"


class BatchImportDialog(QDialog):
    """Import one manifest; `queued_count` says how many rows went into the queue once accepted."""

    def __init__(self, manifest: Path, library_root: Path, store: JobStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import batch")
        self.manifest = manifest
        self._library_root = library_root
        self._store = store
        self.task: BackgroundTask | None = None
        self.queued_count = 0
        self.status = QLabel(f"Check {manifest.name} and queue its rows as the group “{manifest.name}”.")
        self.status.setWordWrap(True)
        self.overwrite = QCheckBox("Replace output files that exist")
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setMinimumWidth(560)
        self.problems.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.status, self.overwrite, self.problems, self.buttons):
            layout.addWidget(widget)

    def start_import(self) -> BackgroundTask:
        """Check and queue in the background; the dialog closes itself once the rows are queued."""
        from avatar_studio.batch.run import import_manifest

        manifest, library, store, overwrite = self.manifest, self._library_root, self._store, self.overwrite.isChecked()
        self.task = BackgroundTask(
            lambda progress, cancel: import_manifest(manifest, library, store, overwrite, progress, cancel),
            name="import-batch",
        )
        self.import_button.setEnabled(False)
        self.problems.setVisible(False)
        self.status.setText(f"Checking {manifest.name}…")
        self.task.progressed.connect(lambda progress: self.status.setText(format_progress(progress)))
        self.task.succeeded.connect(self._on_queued)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(lambda: self._on_failed("Import cancelled; nothing more was queued.", ""))
        return self.task.start()

    def reject(self) -> None:
        if self.task is not None and self.task.is_running:
            self.task.cancel()  # stops an avatar preparation; the dialog closes when it has ended
            self.task.finished.connect(super().reject)
            return
        super().reject()

    def _on_queued(self, queued: list) -> None:
        self.queued_count = len(queued)
        self.accept()

    def _on_failed(self, message: str, details: str) -> None:
        self.import_button.setEnabled(True)
        first, _, rest = message.partition("\n")
        self.status.setText(first)
        self.problems.setPlainText(rest or details)
        self.problems.setVisible(bool(rest or details))
