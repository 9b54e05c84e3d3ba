"""The main window: wires the panels to the engine and owns the background work.

Widgets only show and ask; every piece of work is an engine call (`AvatarLibrary`, `JobStore`,
`run_job`, the model catalog) run on the GUI thread when instant or in a `BackgroundTask` when long.
Adding an avatar, importing a model and choosing audio each have one method that the buttons,
the menus and drag-and-drop all call.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.naming import name_key
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.add_avatar_dialog import AddAvatarDialog
from avatar_studio.gui.banner import MessageBanner
from avatar_studio.gui.file_kinds import (
    AVATAR_FILTER,
    MODEL_FILTER,
    FileKind,
    file_kind,
)
from avatar_studio.gui.formatting import format_progress
from avatar_studio.gui.icons import icon
from avatar_studio.gui.job_form import JobForm
from avatar_studio.gui.library_panel import LibraryPanel
from avatar_studio.gui.player_panel import create_player
from avatar_studio.gui.queue_panel import QueuePanel, job_title
from avatar_studio.gui.scheduler import RenderScheduler
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.jobs.naming import safe_file_stem
from avatar_studio.jobs.store import JobStore
from avatar_studio.paths import HOME_ENV, library_dir, models_dir
from avatar_studio.progress import Progress
from avatar_studio.settings import EngineSettings

DEFAULT_SIZE = (1440, 900)
MIN_SIZE = (1000, 640)
SETTINGS_LIBRARY = "library/folder"
PREVIEWS_FOLDER = "previews"


def choose_library(override: Path | None) -> Path:
    """`--library` > `$AVATAR_STUDIO_HOME` > the folder chosen in Settings last time > the default."""
    if override is None and not os.environ.get(HOME_ENV):
        remembered = str(QSettings().value(SETTINGS_LIBRARY, "", str))
        override = Path(remembered) if remembered else None
    return library_dir(override)


class MainWindow(QMainWindow):
    models_changed = Signal()  # a model was imported (the Models dialog listens)

    def __init__(self, library: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Avatar Studio")
        self.setMinimumSize(*MIN_SIZE)
        self.setAcceptDrops(True)
        self.preparations: dict[str, BackgroundTask] = {}
        self._preview_jobs: set[int] = set()
        self._tasks: set[BackgroundTask] = set()
        self._shut_down = False

        self.banner = MessageBanner()
        self.library_panel = LibraryPanel()
        self.player = create_player()
        self.form = JobForm()
        self.queue = QueuePanel()
        self._build_layout()
        self._build_actions()
        self._activity = QLabel("Idle")
        self._device = QLabel()
        self.statusBar().addWidget(self._activity, 1)
        self.statusBar().addPermanentWidget(self._device)
        self._connect_panels()

        self.library_root: Path
        self.library: AvatarLibrary
        self.store: JobStore
        self.scheduler: RenderScheduler
        self.engine_settings: EngineSettings
        self._open_library(choose_library(library))
        self._restore_geometry()

    # -- library folder ----------------------------------------------------------------------------

    def _open_library(self, root: Path) -> None:
        """Open (or switch to) a library folder: its avatars, queue and engine settings."""
        self.library_root = root
        self.library = AvatarLibrary(root)
        self.store = JobStore.for_library(root)
        interrupted = self.store.recover_interrupted()
        self.engine_settings = EngineSettings.load(root)
        self.scheduler = RenderScheduler(self.store, root, self)
        self.scheduler.job_changed.connect(lambda _id: self.refresh_jobs())
        self.scheduler.job_progress.connect(self._on_job_progress)
        self.scheduler.job_finished.connect(self._on_job_finished)
        self.scheduler.notice.connect(lambda text: self.banner.show_message(text, error=False))
        self.setWindowTitle(f"Avatar Studio — {root}")
        self.refresh_avatars()
        self.refresh_models()
        self.form.apply_settings(self.engine_settings, self.output_dir)
        self.refresh_jobs()
        self._show_device(self._last_device_description())
        if interrupted:
            self.banner.show_message(
                f"{interrupted} render(s) were interrupted when the app last closed; select one and "
                "press Retry to queue it again.", error=False)
        self.scheduler.start_next()

    def switch_library(self, root: Path) -> bool:
        """Use another library folder; refused while work is running in this one."""
        if self.is_busy():
            self.show_error("Finish or cancel the running work before switching the library folder.")
            return False
        self.scheduler.shutdown()
        self.scheduler.deleteLater()
        self.store.close()
        QSettings().setValue(SETTINGS_LIBRARY, str(root))
        self._open_library(library_dir(root))
        return True

    @property
    def models_dir(self) -> Path:
        return models_dir(self.engine_settings.models_dir or None)

    @property
    def output_dir(self) -> Path:
        if self.engine_settings.output_dir:
            return Path(self.engine_settings.output_dir)
        videos = Path.home() / "Videos"
        return videos if videos.is_dir() else Path.home()

    def is_busy(self) -> bool:
        return bool(self.preparations) or self.scheduler.running_job_id is not None or bool(self._tasks)

    # -- refreshing --------------------------------------------------------------------------------

    def refresh_avatars(self) -> None:
        try:
            avatars = self.library.list()
        except AvatarStudioError as error:
            self.show_error(str(error))
            avatars = []
        self.library_panel.set_avatars(avatars)
        self.form.set_avatars([avatar.name for avatar in avatars])
        if self.library.skipped:
            folder, reason = self.library.skipped[0]
            more = f" (and {len(self.library.skipped) - 1} more)" if len(self.library.skipped) > 1 else ""
            self.show_error(f"The avatar folder “{folder.name}”{more} could not be read: {reason}")

    def refresh_models(self) -> list:
        from avatar_studio.model.catalog import list_models

        try:
            models = list_models(self.models_dir)
        except AvatarStudioError as error:
            self.show_error(str(error))
            models = []
        self.form.set_models(models, self.engine_settings.default_model)
        return models

    def refresh_jobs(self) -> None:
        jobs = self.store.list()
        self.queue.set_jobs(jobs)
        self.form.set_taken_outputs(
            [job.spec.output for job in jobs if job.state in (JobState.QUEUED, JobState.RUNNING)])
        self._update_activity()

    # -- avatars -----------------------------------------------------------------------------------

    def add_avatar_dialog(self) -> None:
        """File → Add avatar (Ctrl+O): choose a file, then the same path as a drop."""
        path, _ = QFileDialog.getOpenFileName(self, "Add an avatar from a video or photo", "", AVATAR_FILTER)
        if path:
            self.add_avatar_from_file(Path(path))

    def add_avatar_from_file(self, source: Path) -> BackgroundTask | None:
        """Ask for the name and settings, then prepare `source` in the background."""
        answer = self.ask_prepare_settings(source, self._unique_name(source.stem))
        if answer is None:
            return None
        name, settings = answer
        return self.start_preparation(source, name, settings)

    def ask_prepare_settings(self, source: Path, name: str, reprepare: bool = False
                             ) -> tuple[str, PrepareSettings] | None:
        """The add-avatar dialog; returns (name, settings) or None when cancelled."""
        dialog = AddAvatarDialog(source, name, self, title="Re-prepare avatar" if reprepare else "Add avatar",
                                 name_editable=not reprepare)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.name:
            return None
        return dialog.name, dialog.settings()

    def start_preparation(self, source: Path, name: str, settings: PrepareSettings,
                          reprepare: bool = False) -> BackgroundTask | None:
        if name in self.preparations:
            self.show_error(f"“{name}” is already being prepared; wait for it or choose another name.")
            return None
        library = self.library

        def prepare(progress, cancel):
            if reprepare:
                return library.reprepare(name, settings, progress=progress, cancel=cancel)
            return library.prepare(source, name, settings=settings, progress=progress, cancel=cancel)

        task = BackgroundTask(prepare, name=f"prepare-{name}")
        self.preparations[name] = task
        self.library_panel.set_pending(name, "Preparing: starting…")
        task.progressed.connect(lambda p: self._on_preparation_progress(name, p))
        task.succeeded.connect(lambda avatar: self._on_preparation_done(name, avatar))
        task.failed.connect(lambda message, details: self._on_preparation_failed(name, message, details))
        task.cancelled.connect(lambda: self.library_panel.clear_pending(name))
        task.finished.connect(lambda: self._on_preparation_finished(name))
        task.start()
        self._update_activity()
        return task

    def _on_preparation_progress(self, name: str, progress: Progress) -> None:
        self.library_panel.set_pending(name, format_progress(progress))
        self._update_activity()

    def _on_preparation_done(self, name: str, avatar) -> None:
        self.library_panel.clear_pending(name)
        self.refresh_avatars()
        self.library_panel.select(avatar.name)

    def _on_preparation_failed(self, name: str, message: str, details: str) -> None:
        self.library_panel.set_pending(name, f"Failed: {message}", failed=True)
        self.show_error(f"Could not prepare “{name}”: {message}", details)

    def _on_preparation_finished(self, name: str) -> None:
        self.preparations.pop(name, None)
        self._update_activity()

    def _unique_name(self, stem: str) -> str:
        taken = {avatar.name.casefold() for avatar in self.library.list()} | {n.casefold() for n in self.preparations}
        name, number = stem, 2
        while name.casefold() in taken:
            name, number = f"{stem} {number}", number + 1
        return name

    def rename_avatar(self, name: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename avatar", "New name:", text=name)
        if ok and new.strip() and new.strip() != name:
            self._run_instant(lambda: self.library.rename(name, new.strip()))
            self.refresh_avatars()
            self.library_panel.select(new.strip())

    def _refuse_if_rendering(self, name: str) -> bool:
        """Say so and return True when the running render reads this avatar's frames."""
        job_id = self.scheduler.running_job_id
        if job_id is None or name_key(self.store.get(job_id).spec.avatar) != name_key(name):
            return False
        self.show_error(f"“{name}” is being rendered right now; wait for that render to finish or cancel it first.")
        return True

    def delete_avatar(self, name: str) -> None:
        if self._refuse_if_rendering(name):
            return
        answer = QMessageBox.question(
            self, "Delete avatar", f"Delete the avatar “{name}” and its prepared frames?\n"
            "The original video file is not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            if self.player.avatar_name == name:
                self.player.clear()
            self._run_instant(lambda: self.library.delete(name))
            self.refresh_avatars()

    def reprepare_avatar(self, name: str) -> None:
        if self._refuse_if_rendering(name):
            return
        avatar = self._run_instant(lambda: self.library.get(name))
        if avatar is None:
            return
        answer = self.ask_prepare_settings(Path(avatar.meta.source_file), name, reprepare=True)
        if answer is not None:
            self.start_preparation(Path(avatar.meta.source_file), name, answer[1], reprepare=True)

    def show_avatar_folder(self, name: str) -> None:
        avatar = self._run_instant(lambda: self.library.get(name))
        if avatar is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(avatar.folder)))

    # -- models ------------------------------------------------------------------------------------

    def import_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a Wav2Lip model", "", MODEL_FILTER)
        if path:
            self.import_model_file(Path(path))

    def import_model_file(self, source: Path) -> BackgroundTask:
        """Validate `source` with the loader (in the background: checkpoints are big) and copy it in."""
        from avatar_studio.model.catalog import import_model

        target = self.models_dir
        task = BackgroundTask(lambda _progress, _cancel: import_model(source, target), name="import-model")
        task.succeeded.connect(self._on_model_imported)
        task.failed.connect(lambda message, details: self.show_error(
            f"“{source.name}” was not imported: {message}", details))
        self._track(task, f"Checking the model “{source.name}”…")
        return task

    def _on_model_imported(self, info) -> None:
        if not self.engine_settings.default_model:
            self.engine_settings.default_model = str(info.path)
            self.engine_settings.save(self.library_root)
        self.refresh_models()
        self.models_changed.emit()
        self.banner.show_message(f"Model “{info.name}” imported ({info.format}, {info.precision}).", error=False)

    def open_models(self) -> None:
        from avatar_studio.gui.models_dialog import ModelsDialog

        ModelsDialog(self).exec()
        self.refresh_models()

    # -- rendering ---------------------------------------------------------------------------------

    def queue_render(self) -> Job | None:
        """Queue the form's job (Ctrl+R) and start it if the device is free."""
        spec = self.form.spec()
        if spec.output and Path(spec.output).exists() and not spec.overwrite:
            answer = QMessageBox.question(self, "Replace the file?",
                                          f"{spec.output} exists. Replace it when the render finishes?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
            from dataclasses import replace

            spec = replace(spec, overwrite=True)
        job = self._run_instant(lambda: self.store.add(spec))
        if job is None:
            return None
        self.form.job_queued()
        self.refresh_jobs()
        self.queue.select(job.id)
        self.scheduler.start_next()
        return job

    def quick_preview(self) -> Job | None:
        """Render the first seconds of the form's settings ahead of the queue, then play them."""
        folder = self.library_root / PREVIEWS_FOLDER
        folder.mkdir(exist_ok=True)
        output = folder / f"{safe_file_stem(self.form.avatar.currentText(), 'preview')}.mp4"
        job = self._run_instant(lambda: self.store.add(self.form.spec(preview_output=output)))
        if job is None:
            return None
        self._preview_jobs.add(job.id)
        while self.store.move(job.id, -1):  # first in line: a preview is for right now
            pass
        self.refresh_jobs()
        self.scheduler.start_next()
        return job

    def _on_job_progress(self, job_id: int, progress: Progress) -> None:
        shown = self.queue.job(job_id)
        if shown is None or shown.state is not JobState.RUNNING or not shown.device_description:
            self.refresh_jobs()  # the runner has marked it running (and named its device) meanwhile
            shown = self.queue.job(job_id)
            if shown is not None and shown.device_description:
                self._show_device(shown.device_description)
        self.queue.show_progress(job_id, progress)
        self._update_activity()

    def _on_job_finished(self, job: Job) -> None:
        self._show_device(job.device_description)
        if job.state is JobState.DONE:
            self.statusBar().showMessage(f"Finished: {job_title(job)}", 8000)
            if job.id in self._preview_jobs:
                self.player.show_file(Path(job.output_path), f"Preview: {job_title(job)}", autoplay=True)
        elif job.state is JobState.FAILED:
            self.show_error(f"Render #{job.id} failed: {job.error_summary}",
                            job.error if job.error != job.error_summary else "")
        self._preview_jobs.discard(job.id)

    def cancel_job(self, job_id: int) -> None:
        self._run_instant(lambda: self.scheduler.cancel(job_id))

    def retry_job(self, job_id: int) -> None:
        self._run_instant(lambda: self.store.retry(job_id))
        self.refresh_jobs()
        self.scheduler.start_next()

    def remove_job(self, job_id: int) -> None:
        self._run_instant(lambda: self.store.remove(job_id))
        self.refresh_jobs()

    def move_job(self, job_id: int, delta: int) -> None:
        self._run_instant(lambda: self.store.move(job_id, delta))
        self.refresh_jobs()

    def play_job(self, job_id: int) -> None:
        job = self.store.get(job_id)
        if job.output_path and Path(job.output_path).is_file():
            self.player.show_file(Path(job.output_path), f"Render: {job_title(job)}", autoplay=True)
        else:
            self.show_error(f"The output of job #{job_id} is gone ({job.output_path}); retry the job to render it again.")

    def show_job_folder(self, job_id: int) -> None:
        job = self.store.get(job_id)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(job.output_path or job.spec.output).parent)))

    def show_job_error(self, job_id: int) -> None:
        job = self.store.get(job_id)
        box = QMessageBox(QMessageBox.Icon.Warning, f"Job #{job_id} {job.state.value}",
                          job.error_summary or job.error, parent=self)
        if job.error and job.error != job.error_summary:
            box.setDetailedText(job.error)
        box.exec()

    # -- drops -------------------------------------------------------------------------------------

    def handle_dropped_paths(self, paths: list[Path]) -> None:
        """Route dropped files: videos/photos become avatars, audio fills the form, models are imported."""
        unknown = []
        for path in paths:
            kind = file_kind(path)
            if kind is FileKind.AVATAR:
                self.add_avatar_from_file(path)
            elif kind is FileKind.AUDIO:
                self.form.set_audio(path)
            elif kind is FileKind.MODEL:
                self.import_model_file(path)
            else:
                unknown.append(path.name)
        if unknown:
            self.show_error(f"Not a video, photo, audio or model file: {', '.join(unknown)}.")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        event.acceptProposedAction()
        self.handle_dropped_paths(paths)

    # -- dialogs -----------------------------------------------------------------------------------

    def open_settings(self) -> None:
        from avatar_studio.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.library_root, self.engine_settings, self.refresh_models(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        if dialog.library_root != self.library_root:
            # The other settings live in the library: the new folder brings its own.
            self.switch_library(dialog.library_root)
            return
        self.engine_settings = dialog.engine_settings()
        self._run_instant(lambda: self.engine_settings.save(self.library_root))
        self.refresh_models()
        self.form.apply_settings(self.engine_settings, self.output_dir)

    def open_about(self) -> None:
        from avatar_studio.gui.about_dialog import AboutDialog

        AboutDialog(self.library_root, self).exec()

    # -- helpers -----------------------------------------------------------------------------------

    def show_error(self, message: str, details: str = "") -> None:
        self.banner.show_message(message, details, error=True)

    def _run_instant(self, action):
        """Run a quick engine call on the GUI thread; its error becomes a banner, not a traceback."""
        try:
            return action()
        except AvatarStudioError as error:
            self.show_error(str(error))
            return None

    def _forget_task(self, task: BackgroundTask) -> None:
        self._tasks.discard(task)
        self._update_activity()

    def _track(self, task: BackgroundTask, activity: str) -> None:
        """Start a short background task (import, conversion) and show it in the status bar."""
        self._tasks.add(task)
        task.setObjectName(activity)
        task.finished.connect(lambda: self._forget_task(task))
        task.start()
        self._update_activity()

    def _update_activity(self) -> None:
        parts = []
        job_id = self.scheduler.running_job_id
        if job_id is not None:
            progress = self.scheduler.last_progress
            parts.append(f"Job #{job_id}: " + (format_progress(progress) if progress else "loading the model…"))
        for name, task in self.preparations.items():
            parts.append(f"“{name}”: " + (format_progress(task.last_progress) if task.last_progress
                                          else "Preparing: starting…"))
        parts.extend(task.objectName() for task in self._tasks)
        self._activity.setText("   |   ".join(parts) if parts else "Idle")

    def _last_device_description(self) -> str:
        for job in reversed(self.store.list()):
            if job.device_description:
                return job.device_description
        return ""

    def _show_device(self, description: str) -> None:
        settings = self.engine_settings
        self._device.setText(description or
                             f"backend {settings.backend} · device {settings.device} · {settings.precision}")
        self._device.setToolTip("The backend, device or ONNX Runtime provider of the latest render")

    def _on_avatar_selected(self, avatar) -> None:
        if avatar is not None:
            self.player.show_avatar(avatar)
            self.form.select_avatar(avatar.name)

    # -- construction ------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.form)
        right_layout.addWidget(self.queue, 1)
        self.center_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.center_splitter.addWidget(self.player)
        self.center_splitter.addWidget(right)
        self.center_splitter.setStretchFactor(0, 1)
        self.center_splitter.setStretchFactor(1, 1)
        self.center_splitter.setSizes([620, 560])
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.library_panel)
        self.main_splitter.addWidget(self.center_splitter)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([250, 1190])
        self.library_panel.setMinimumWidth(220)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.main_splitter, 1)
        self.setCentralWidget(central)

    def _build_actions(self) -> None:
        def action(menu, icon_name, text, slot, shortcut=None) -> QAction:
            act = QAction(icon(icon_name) if icon_name else QIcon(), text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "add", "&Add avatar…", self.add_avatar_dialog, "Ctrl+O")
        action(file_menu, "import", "&Import model…", self.import_model_dialog)
        file_menu.addSeparator()
        action(file_menu, "settings", "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        action(file_menu, None, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        render_menu = self.menuBar().addMenu("&Render")
        action(render_menu, "render", "&Queue render", self.queue_render, "Ctrl+R")
        action(render_menu, "preview", "Quick &preview (5 s)", self.quick_preview, "Ctrl+Shift+R")
        action(render_menu, "play", "Play / pause", self.player.toggle_play)
        models_menu = self.menuBar().addMenu("&Models")
        action(models_menu, "model", "&Models…", self.open_models)
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "about", "&About Avatar Studio", self.open_about)
        # Space toggles playback anywhere except where it types (line edits take it first).
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.player.toggle_play)

    def _connect_panels(self) -> None:
        panel = self.library_panel
        panel.add_requested.connect(self.add_avatar_dialog)
        panel.avatar_selected.connect(self._on_avatar_selected)
        panel.rename_requested.connect(self.rename_avatar)
        panel.delete_requested.connect(self.delete_avatar)
        panel.reprepare_requested.connect(self.reprepare_avatar)
        panel.show_folder_requested.connect(self.show_avatar_folder)
        panel.cancel_requested.connect(lambda name: self.preparations[name].cancel()
                                       if name in self.preparations else None)
        panel.dismiss_requested.connect(panel.clear_pending)
        self.form.queue_requested.connect(self.queue_render)
        self.form.preview_requested.connect(self.quick_preview)
        self.form.import_model_requested.connect(self.import_model_dialog)
        queue = self.queue
        queue.cancel_requested.connect(self.cancel_job)
        queue.retry_requested.connect(self.retry_job)
        queue.remove_requested.connect(self.remove_job)
        queue.move_requested.connect(self.move_job)
        queue.play_requested.connect(self.play_job)
        queue.show_folder_requested.connect(self.show_job_folder)
        queue.show_error_requested.connect(self.show_job_error)

    # -- persistence -------------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._fit_default_size()
        for key, splitter in (("window/main_splitter", self.main_splitter),
                              ("window/center_splitter", self.center_splitter)):
            state = settings.value(key)
            if state is not None:
                splitter.restoreState(state)

    def _fit_default_size(self) -> None:
        """First start: the preferred size, shrunk to 90 % of the screen so no panel is cut off."""
        width, height = DEFAULT_SIZE
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry()
            width = min(width, int(available.width() * 0.9))
            height = min(height, int(available.height() * 0.9))
        self.resize(max(width, MIN_SIZE[0]), max(height, MIN_SIZE[1]))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_busy():
            answer = QMessageBox.question(
                self, "Stop the running work?",
                "A render or preparation is running. Stop it and quit? Unfinished files are removed; "
                "the render stays in the queue as cancelled and can be retried.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Save the window state, cancel and wait for every background task, close the queue (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/main_splitter", self.main_splitter.saveState())
        settings.setValue("window/center_splitter", self.center_splitter.saveState())
        self.player.clear()  # ends QtMultimedia's decoding and audio threads now, not at some later GC
        self.scheduler.shutdown()
        for task in [*self.preparations.values(), *self._tasks]:
            task.cancel()
        for task in [*self.preparations.values(), *self._tasks]:
            task.wait()
        self.store.close()
