"""The main window: lays out the panels and holds the open library; the actions do the work.

`LibrarySession` is the open library folder (avatars, queue, settings, scheduler);
`AvatarActions`, `RenderActions` and `ModelActions` are what the buttons, menus (`menus.py`) and
drops call. The window itself only arranges widgets, routes drops, opens the Settings and About
dialogs, remembers its geometry and shuts everything down once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.app_log import log_path
from avatar_studio.gui.avatar_actions import AvatarActions
from avatar_studio.gui.banner import MessageBanner
from avatar_studio.gui.file_kinds import FileKind, file_kind
from avatar_studio.gui.frame_preview import FramePreviewActions
from avatar_studio.gui.job_form import JobForm
from avatar_studio.gui.library_choice import choose_library
from avatar_studio.gui.library_panel import LibraryPanel
from avatar_studio.gui.menus import build_menus
from avatar_studio.gui.model_actions import ModelActions
from avatar_studio.gui.player_panel import create_player
from avatar_studio.gui.queue_actions import QueueActions
from avatar_studio.gui.queue_panel import QueuePanel
from avatar_studio.gui.render_actions import RenderActions
from avatar_studio.gui.scheduler import RenderScheduler
from avatar_studio.gui.session import LibrarySession
from avatar_studio.locks import AppLock
from avatar_studio.paths import library_dir, remember_library
from avatar_studio.settings import EngineSettings
from avatar_studio.system_info import device_availability

DEFAULT_SIZE = (1440, 900)
MIN_SIZE = (1000, 640)

T = TypeVar("T")


class MainWindow(QMainWindow):
    def __init__(self, library: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Avatar Studio")
        self.setMinimumSize(*MIN_SIZE)
        self.setAcceptDrops(True)
        self._shut_down = False

        self.banner = MessageBanner()
        self.library_panel = LibraryPanel()
        self.player = create_player()
        self.form = JobForm()
        self.form.set_device_availability(device_availability())
        self.queue = QueuePanel()
        self._build_layout()
        self.avatars = AvatarActions(self)
        self.renders = RenderActions(self)
        self.queue_actions = QueueActions(self)
        self.models = ModelActions(self)
        self.frame_previews = FramePreviewActions(self)
        self.menu_actions = build_menus(self)
        self._activity = QLabel("Idle")
        self._device = QLabel()
        self._device.setToolTip("The backend, device or ONNX Runtime provider of the latest render")
        self.statusBar().addWidget(self._activity, 1)
        self.statusBar().addPermanentWidget(self._device)

        self.session: LibrarySession[RenderScheduler]
        self._open_library(choose_library(library))
        self._restore_geometry()

    # -- library folder ----------------------------------------------------------------------------

    def _open_library(self, root: Path) -> None:
        """Open (or switch to) a library folder: its avatars, queue and engine settings."""
        self.session = LibrarySession(root, lambda store, folder: RenderScheduler(store, folder, self))
        self.renders.attach(self.session.scheduler)
        self.setWindowTitle(f"Avatar Studio — {root}")
        self.avatars.refresh()
        self.models.refresh()
        self.form.apply_settings(self.session.settings, self.session.output_dir)
        self.renders.refresh()
        self.show_device(self.session.last_device_description())
        if self.session.interrupted:
            self.banner.show_message(
                f"{self.session.interrupted} render(s) were interrupted when the app last closed; select one "
                "and press Retry to queue it again.", error=False)
        self.session.scheduler.start_next()

    def switch_library(self, root: Path) -> bool:
        """Use another library folder; refused while work is running in this one."""
        if self.is_busy():
            self.show_error("Finish or cancel the running work before switching the library folder.")
            return False
        try:  # another window on that library: refuse now, while this one is still open
            AppLock(library_dir(root)).acquire().release()
        except AvatarStudioError as error:
            self.show_error(str(error))
            return False
        self.session.close()
        self.session.scheduler.deleteLater()
        remember_library(root)
        self._open_library(library_dir(root))
        return True

    def is_busy(self) -> bool:
        return (bool(self.avatars.preparations) or self.session.scheduler.running_job_id is not None
                or bool(self.models.tasks) or bool(self.frame_previews.tasks()))

    # -- drops -------------------------------------------------------------------------------------

    def handle_dropped_paths(self, paths: list[Path]) -> None:
        """Route dropped files: videos/photos become avatars, models are imported, one audio
        file fills the form and several are queued as one job each with the form's settings."""
        unknown, audio = [], []
        for path in paths:
            kind = file_kind(path)
            if kind is FileKind.AVATAR:
                self.avatars.add_from_file(path)
            elif kind is FileKind.AUDIO:
                audio.append(path)
            elif kind is FileKind.MODEL:
                self.models.import_file(path)
            else:
                unknown.append(path.name)
        if len(audio) == 1:
            self.form.set_audio(audio[0])
        elif audio:
            self.renders.queue_for_audio_files(audio)
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

        session = self.session
        SettingsDialog(session.root, session.settings, self.models.refresh(), self, apply=self.apply_settings).exec()

    def apply_settings(self, library_root: Path, settings: EngineSettings) -> bool:
        """The Settings dialog's Apply/OK: switch the library, or save and use the engine settings."""
        if library_root != self.session.root:
            # The other settings live in the library: the new folder brings its own.
            return self.switch_library(library_root)
        try:
            self.session.save_settings(settings)
        except OSError as error:
            self.show_error(f"The settings could not be saved in {self.session.root} ({error.strerror or error}); "
                            "check that the library folder can be written.")
            return False
        self.banner.clear_error()
        self.models.refresh()
        self.form.apply_settings(self.session.settings, self.session.output_dir)
        return True

    def open_log(self) -> None:
        """Help → Open log: the file the app's messages go to (see `app_log`)."""
        path = log_path(self.session.root)
        if not path.is_file():
            self.banner.show_message(f"There is no log yet ({path}); it is written while the app runs.",
                                     error=False)
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.show_error(f"No program opens the log here; its path is {path}")

    def open_about(self) -> None:
        from avatar_studio.gui.about_dialog import AboutDialog

        AboutDialog(self.session.root, self).exec()

    # -- feedback ----------------------------------------------------------------------------------

    def show_error(self, message: str, details: str = "") -> None:
        self.banner.show_message(message, details, error=True)

    def run_instant(self, action: Callable[[], T]) -> T | None:
        """Run a quick engine call on the GUI thread; its error becomes a banner, not a traceback."""
        try:
            return action()
        except AvatarStudioError as error:
            self.show_error(str(error))
            return None

    def update_activity(self) -> None:
        """The status bar's summary of everything running (renders, preparations, imports)."""
        parts = [*self.renders.activity(), *self.avatars.activity(), *self.models.activity(),
                 *self.frame_previews.activity()]
        self._activity.setText("   |   ".join(parts) if parts else "Idle")

    def show_device(self, description: str) -> None:
        settings = self.session.settings
        self._device.setText(description or
                             f"backend {settings.backend} · device {settings.device} · {settings.precision}")

    # -- construction and persistence --------------------------------------------------------------

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
        self.center_splitter.setSizes([540, 640])  # the queue's names need the width more than the picture
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.library_panel)
        self.main_splitter.addWidget(self.center_splitter)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([250, 1190])
        self.library_panel.setMinimumWidth(220)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.main_splitter, 1)
        self.setCentralWidget(central)
        self.banner.float_over(central)  # over the panels: a message never pushes them down

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
        if not self._shut_down and self.is_busy():
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
        """Save the window state, cancel and wait for every background task, close the library (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/main_splitter", self.main_splitter.saveState())
        settings.setValue("window/center_splitter", self.center_splitter.saveState())
        self.player.clear()  # ends QtMultimedia's decoding and audio threads now, not at some later GC
        tasks = [*self.avatars.preparations.values(), *self.models.tasks, *self.frame_previews.tasks()]
        for task in tasks:
            task.cancel()
        self.session.close()
        for task in tasks:
            task.wait()
