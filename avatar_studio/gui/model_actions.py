"""Models: importing a checkpoint (menu, form banner, drop, Models dialog) and listing the folder.

Import validates the file with the engine's loader in a `BackgroundTask` (checkpoints are big);
`changed` tells open views (the Models dialog) to re-read the folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.file_kinds import MODEL_FILTER
from avatar_studio.gui.workers import BackgroundTask

if TYPE_CHECKING:
    from avatar_studio.gui.main_window import MainWindow
    from avatar_studio.model.catalog import ModelInfo


class ModelActions(QObject):
    changed = Signal()  # a model was imported

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        #: Imports running now (each shown in the status bar by its object name).
        self.tasks: set[BackgroundTask] = set()
        window.form.import_model_requested.connect(self.import_dialog)

    @property
    def models_dir(self) -> Path:
        return self._window.session.models_dir

    @property
    def default_model(self) -> str:
        return self._window.session.settings.default_model

    def set_default(self, model: Path) -> None:
        """Make `model` the one renders use unless the form picks another; saved in the library."""
        session = self._window.session
        session.settings.default_model = str(model)
        session.save_settings()

    def refresh(self) -> list[ModelInfo]:
        """Re-read the models folder into the form; returns the models for callers that list them."""
        from avatar_studio.model.catalog import list_models

        try:
            models = list_models(self.models_dir)
        except AvatarStudioError as error:
            self._window.show_error(str(error))
            models = []
        self._window.form.set_models(models, self.default_model)
        return models

    def remove(self, info: ModelInfo) -> bool:
        """Delete a model file from the models folder; the default setting forgets it too."""
        from avatar_studio.model.catalog import remove_model

        if self._window.run_instant(lambda: remove_model(info.path, self.models_dir)) is None:
            return False
        if self.default_model and Path(self.default_model) == info.path:
            self._window.session.settings.default_model = ""
            self._window.run_instant(self._window.session.save_settings)
        self.refresh()
        self.changed.emit()
        return True

    def activity(self) -> list[str]:
        return [task.objectName() for task in self.tasks]

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Import a Wav2Lip model", "", MODEL_FILTER)
        if path:
            self.import_file(Path(path))

    def import_file(self, source: Path) -> BackgroundTask:
        """Validate `source` with the loader (in the background) and copy it into the models folder."""
        from avatar_studio.model.catalog import import_model

        target = self.models_dir
        task = BackgroundTask(lambda _progress, _cancel: import_model(source, target), name="import-model")
        task.succeeded.connect(self._on_imported)
        task.failed.connect(lambda message, details: self._window.show_error(
            f"“{source.name}” was not imported: {message}", details))
        self.tasks.add(task)
        task.setObjectName(f"Checking the model “{source.name}”…")
        task.finished.connect(lambda: self._forget(task))
        task.start()
        self._window.update_activity()
        return task

    def _forget(self, task: BackgroundTask) -> None:
        self.tasks.discard(task)
        self._window.update_activity()

    def open_dialog(self) -> None:
        from avatar_studio.gui.models_dialog import ModelsDialog

        ModelsDialog(self, self._window).exec()
        self.refresh()

    def _on_imported(self, info: ModelInfo) -> None:
        if not self.default_model and info.kind == "lip-sync":
            self.set_default(info.path)
        self.refresh()
        self.changed.emit()
        if info.kind == "enhancer":
            message = f"Face enhancer “{info.name}” imported ({info.note}); choose it in the Quality group."
        else:
            message = f"Model “{info.name}” imported ({info.format}, {info.precision})."
        self._window.banner.show_message(message, error=False)
