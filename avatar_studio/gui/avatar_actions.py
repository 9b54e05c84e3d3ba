"""What the user can do to avatars: add (file, drop, menu), prepare, rename, re-prepare, delete.

Adding has one path (`add_from_file`) that the button, the menu and a drop all take. Preparation
runs in a `BackgroundTask` per avatar name; the library panel shows its progress or failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from avatar_studio.avatars.library import Avatar
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.add_avatar_dialog import AddAvatarDialog
from avatar_studio.gui.desktop import open_folder
from avatar_studio.gui.file_kinds import AVATAR_FILTER
from avatar_studio.gui.formatting import format_progress
from avatar_studio.gui.queue_table import job_title
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.progress import CancelToken, Progress, ProgressCallback

if TYPE_CHECKING:
    from avatar_studio.gui.main_window import MainWindow

#: Jobs named in the delete question; more are counted.
MAX_LISTED_JOBS = 8
RENAME_FIELD_WIDTH = 420


def ask_new_name(parent: QWidget, name: str) -> str | None:
    """The rename question, with a field wide enough for long names; None when cancelled."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Rename avatar")
    dialog.setLabelText("New name:")
    dialog.setTextValue(name)
    dialog.setMinimumWidth(RENAME_FIELD_WIDTH + 60)
    field = dialog.findChild(QLineEdit)
    if field is not None:
        field.setMinimumWidth(RENAME_FIELD_WIDTH)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.textValue().strip() or None


class AvatarActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        #: Preparations running or just ended, by avatar name.
        self.preparations: dict[str, BackgroundTask] = {}
        panel = window.library_panel
        panel.add_requested.connect(self.add_dialog)
        panel.avatar_selected.connect(self._on_selected)
        panel.rename_requested.connect(self.rename)
        panel.delete_requested.connect(self.delete)
        panel.reprepare_requested.connect(self.reprepare)
        panel.show_folder_requested.connect(self.show_folder)
        panel.cancel_requested.connect(self.cancel_preparation)
        panel.dismiss_requested.connect(panel.clear_pending)

    def refresh(self) -> None:
        """Re-read the library into the panel and the form's avatar list."""
        window = self._window
        library = window.session.library
        try:
            avatars = library.list()
        except AvatarStudioError as error:
            window.show_error(str(error))
            avatars = []
        window.library_panel.set_avatars(avatars)
        window.form.set_avatars([(avatar.folder.name, avatar.name) for avatar in avatars])
        if library.skipped:
            folder, reason = library.skipped[0]
            more = f" (and {len(library.skipped) - 1} more)" if len(library.skipped) > 1 else ""
            window.show_error(f"The avatar folder “{folder.name}”{more} could not be read: {reason}")

    def activity(self) -> list[str]:
        """One status-bar entry per running preparation."""
        return [f"“{name}”: " + (format_progress(task.last_progress) if task.last_progress
                                 else "Preparing: starting…")
                for name, task in self.preparations.items()]

    # -- adding and preparing ----------------------------------------------------------------------

    def add_dialog(self) -> None:
        """File → Add avatar (Ctrl+O): choose a file, then the same path as a drop."""
        path, _ = QFileDialog.getOpenFileName(self._window, "Add an avatar from a video or photo", "",
                                              AVATAR_FILTER)
        if path:
            self.add_from_file(Path(path))

    def add_from_file(self, source: Path) -> BackgroundTask | None:
        """Ask for the name and settings, then prepare `source` in the background."""
        answer = self.ask_prepare_settings(source, self._unique_name(source.stem))
        if answer is None:
            return None
        name, settings = answer
        return self.start_preparation(source, name, settings)

    def ask_prepare_settings(self, source: Path, name: str, reprepare: bool = False
                             ) -> tuple[str, PrepareSettings] | None:
        """The add-avatar dialog; returns (name, settings) or None when cancelled."""
        dialog = AddAvatarDialog(source, name, self._window,
                                 title="Re-prepare avatar" if reprepare else "Add avatar",
                                 name_editable=not reprepare)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.name:
            return None
        return dialog.name, dialog.settings()

    def start_preparation(self, source: Path, name: str, settings: PrepareSettings,
                          reprepare: bool = False) -> BackgroundTask | None:
        if name in self.preparations:
            self._window.show_error(f"“{name}” is already being prepared; wait for it or choose another name.")
            return None
        library = self._window.session.library

        def prepare(progress: ProgressCallback, cancel: CancelToken) -> Avatar:
            if reprepare:
                return library.reprepare(name, settings, progress=progress, cancel=cancel)
            return library.prepare(source, name, settings=settings, progress=progress, cancel=cancel)

        panel = self._window.library_panel
        task = BackgroundTask(prepare, name=f"prepare-{name}")
        self.preparations[name] = task
        panel.set_pending(name, "Preparing: starting…")
        task.progressed.connect(lambda p: self._on_progress(name, p))
        task.succeeded.connect(lambda avatar: self._on_done(name, avatar))
        task.failed.connect(lambda message, details: self._on_failed(name, message, details))
        task.cancelled.connect(lambda: panel.clear_pending(name))
        task.finished.connect(lambda: self._on_finished(name))
        task.start()
        self._window.update_activity()
        return task

    def cancel_preparation(self, name: str) -> None:
        task = self.preparations.get(name)
        if task is not None:
            task.cancel()

    def _on_progress(self, name: str, progress: Progress) -> None:
        self._window.library_panel.set_pending(name, format_progress(progress))
        self._window.update_activity()

    def _on_done(self, name: str, avatar: Avatar) -> None:
        self._window.banner.clear_error()  # an earlier failure is no longer the news
        self._window.library_panel.clear_pending(name)
        self.refresh()
        self._window.library_panel.select(avatar.name)

    def _on_failed(self, name: str, message: str, details: str) -> None:
        self._window.library_panel.set_pending(name, f"Failed: {message}", failed=True)
        self._window.show_error(f"Could not prepare “{name}”: {message}", details)

    def _on_finished(self, name: str) -> None:
        self.preparations.pop(name, None)
        self._window.update_activity()

    def _unique_name(self, stem: str) -> str:
        taken = ({avatar.name.casefold() for avatar in self._window.session.library.list()}
                 | {n.casefold() for n in self.preparations})
        name, number = stem, 2
        while name.casefold() in taken:
            name, number = f"{stem} {number}", number + 1
        return name

    # -- editing ------------------------------------------------------------------------------------

    def rename(self, name: str) -> None:
        new = ask_new_name(self._window, name)
        if new is None or new == name:
            return
        session = self._window.session
        avatar = self._window.run_instant(lambda: session.library.rename(name, new))
        if avatar is None:
            return
        # Jobs find the avatar by its folder; the queue shows the new name at once.
        self._window.run_instant(lambda: session.store.rename_avatar(avatar.folder.name, name, avatar.name))
        self._window.banner.clear_error()
        self.refresh()
        self._window.renders.refresh()
        self._window.library_panel.select(avatar.name)

    def _jobs_using(self, name: str, states: frozenset[JobState]) -> list[Job]:
        """The jobs in `states` that render the avatar called `name`."""
        session = self._window.session
        avatar = session.library.find(name)
        avatar_id = avatar.folder.name if avatar is not None else ""
        return [job for job in session.store.list()
                if job.state in states and job.spec.uses_avatar(avatar_id, name)]

    def _refuse_if_rendering(self, name: str) -> bool:
        """Say so and return True when the running render reads this avatar's frames."""
        if not self._jobs_using(name, frozenset({JobState.RUNNING})):
            return False
        self._window.show_error(
            f"“{name}” is being rendered right now; wait for that render to finish or cancel it first.")
        return True

    def delete(self, name: str) -> None:
        if self._refuse_if_rendering(name):
            return
        waiting = self._jobs_using(name, frozenset({JobState.QUEUED}))
        question = f"Delete the avatar “{name}” and its prepared frames?\nThe original video file is not touched."
        if waiting:
            listed = "\n".join(f"  #{job.id} {job_title(job)}" for job in waiting[:MAX_LISTED_JOBS])
            more = f"\n  … and {len(waiting) - MAX_LISTED_JOBS} more" if len(waiting) > MAX_LISTED_JOBS else ""
            question += (f"\n\n{len(waiting)} queued render(s) use it and will fail:\n{listed}{more}\n"
                         "Remove them from the queue, or retry them with another avatar, afterwards.")
        answer = QMessageBox.question(self._window, "Delete avatar", question)
        if answer == QMessageBox.StandardButton.Yes:
            if self._window.player.avatar_name == name:
                self._window.player.clear()
            self._window.run_instant(lambda: self._window.session.library.delete(name))
            self.refresh()

    def reprepare(self, name: str) -> None:
        if self._refuse_if_rendering(name):
            return
        avatar = self._window.run_instant(lambda: self._window.session.library.get(name))
        if avatar is None:
            return
        source = Path(avatar.meta.source_file)
        answer = self.ask_prepare_settings(source, name, reprepare=True)
        if answer is not None:
            self.start_preparation(source, name, answer[1], reprepare=True)

    def show_folder(self, name: str) -> None:
        avatar = self._window.run_instant(lambda: self._window.session.library.get(name))
        problem = open_folder(avatar.folder) if avatar is not None else None
        if problem and avatar is not None:
            self._window.show_error(problem, str(avatar.folder))

    def _on_selected(self, avatar: Avatar | None) -> None:
        if avatar is not None:
            self._window.player.show_avatar(avatar)
            self._window.form.select_avatar(avatar.name)
