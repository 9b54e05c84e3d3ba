"""What the queue panel's buttons and right-click menu do to jobs: cancel, retry, move, remove,
reorder by drag, clear, pause after the current job, play, show the folder or the error."""

from __future__ import annotations

import time
from collections.abc import Collection
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from avatar_studio.gui.desktop import open_folder
from avatar_studio.gui.formatting import format_clock
from avatar_studio.gui.queue_table import job_title
from avatar_studio.gui.scheduler import RenderScheduler
from avatar_studio.jobs.model import JobState

if TYPE_CHECKING:
    from avatar_studio.gui.main_window import MainWindow
    from avatar_studio.gui.session import LibrarySession

#: A render that has run longer than this is worth a question before it is thrown away.
CONFIRM_CANCEL_AFTER_S = 5.0


class QueueActions(QObject):
    """Carries out the queue panel's requests on the library's job store and scheduler."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        queue = window.queue
        queue.cancel_requested.connect(self.cancel_jobs)
        queue.retry_requested.connect(self.retry_jobs)
        queue.remove_requested.connect(self.remove_jobs)
        queue.move_requested.connect(self.move_jobs)
        queue.reorder_requested.connect(self.reorder)
        queue.clear_requested.connect(self.clear)
        queue.pause_toggled.connect(self.set_paused)
        queue.play_requested.connect(self.play_job)
        queue.result_selected.connect(self.show_result)
        queue.show_folder_requested.connect(self.show_job_folder)
        queue.show_error_requested.connect(self.show_job_error)

    @property
    def _session(self) -> LibrarySession[RenderScheduler]:
        return self._window.session

    def _changed(self) -> None:
        self._window.renders.refresh()
        self._session.scheduler.start_next()

    def cancel_jobs(self, job_ids: list[int]) -> None:
        """Cancel queued jobs at once; the running one after a question if it has run a while."""
        scheduler = self._session.scheduler
        for job_id in job_ids:
            if job_id == scheduler.running_job_id and not self._confirm_cancel(job_id):
                continue
            self._window.run_instant(partial(scheduler.cancel, job_id))

    def _confirm_cancel(self, job_id: int) -> bool:
        job = self._session.store.get(job_id)
        ran_s = time.time() - job.started_at if job.started_at else 0.0
        if ran_s <= CONFIRM_CANCEL_AFTER_S:
            return True
        answer = QMessageBox.question(
            self._window, "Cancel the render?",
            f"“{job_title(job)}” has been rendering for {format_clock(ran_s)}. Cancel it? "
            "What it rendered so far is discarded; it can be retried later.")
        return answer == QMessageBox.StandardButton.Yes

    def retry_jobs(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self._window.run_instant(partial(self._session.store.retry, job_id))
        self._changed()

    def remove_jobs(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self._window.run_instant(partial(self._session.store.remove, job_id))
        self._window.renders.refresh()

    def move_jobs(self, job_ids: list[int], delta: int) -> None:
        """Move each job one place, keeping the selected jobs in their order among themselves."""
        for job_id in (job_ids if delta < 0 else reversed(job_ids)):
            self._window.run_instant(partial(self._session.store.move, job_id, delta))
        self._window.renders.refresh()

    def reorder(self, job_id: int, index: int) -> None:
        self._window.run_instant(lambda: self._session.store.move_to(job_id, index))
        self._window.renders.refresh()

    def clear(self, states: Collection[JobState]) -> None:
        self._window.run_instant(lambda: self._session.store.clear(states))
        self._window.renders.refresh()

    def set_paused(self, paused: bool) -> None:
        """Paused: the running job finishes; the next starts only when the queue is resumed."""
        self._window.queue.set_paused(paused)
        self._session.scheduler.set_paused(paused)

    def play_job(self, job_id: int) -> None:
        if not self._show_output(job_id, autoplay=True):
            self._window.show_error(f"The output of job #{job_id} is gone ({self._session.store.get(job_id).output_path}); "
                                    "retry the job to render it again.")

    def show_result(self, job_id: int) -> None:
        """A finished job was selected: its first frame in the player, as for a selected avatar."""
        self._show_output(job_id, autoplay=False)

    def _show_output(self, job_id: int, autoplay: bool) -> bool:
        """Load the job's output into the player; False when there is no such file (any more)."""
        job = self._session.store.get(job_id)
        if not (job.output_path and Path(job.output_path).is_file()):
            return False
        self._window.player.show_file(Path(job.output_path), f"Render: {job_title(job)}", autoplay=autoplay)
        return True

    def show_job_folder(self, job_id: int) -> None:
        job = self._session.store.get(job_id)
        folder = Path(job.output_path or job.spec.output).parent
        problem = open_folder(folder)
        if problem:
            self._window.show_error(problem, str(folder))

    def show_job_error(self, job_id: int) -> None:
        job = self._session.store.get(job_id)
        box = QMessageBox(QMessageBox.Icon.Warning, f"Job #{job_id} {job.state.value}",
                          job.error_summary or job.error, parent=self._window)
        if job.error and job.error != job.error_summary:
            box.setDetailedText(job.error)
        box.exec()
