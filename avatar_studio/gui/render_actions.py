"""Rendering and the queue: queue the form's job, quick preview, and the actions on queued jobs.

Every change goes to the `JobStore` (the single source of truth for job states) and then the
queue panel re-reads it; the scheduler renders one job at a time and reports back here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from avatar_studio.gui.batch_import_dialog import MANIFEST_FILTER, BatchImportDialog
from avatar_studio.gui.formatting import format_progress
from avatar_studio.gui.queue_panel import job_title
from avatar_studio.gui.scheduler import RenderScheduler
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.jobs.naming import safe_file_stem
from avatar_studio.progress import Progress

if TYPE_CHECKING:
    from avatar_studio.gui.main_window import MainWindow
    from avatar_studio.gui.session import LibrarySession

PREVIEWS_FOLDER = "previews"


class RenderActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._preview_jobs: set[int] = set()
        window.form.queue_requested.connect(self.queue_render)
        window.form.preview_requested.connect(self.quick_preview)
        queue = window.queue
        queue.cancel_requested.connect(self.cancel_job)
        queue.retry_requested.connect(self.retry_job)
        queue.remove_requested.connect(self.remove_job)
        queue.move_requested.connect(self.move_job)
        queue.play_requested.connect(self.play_job)
        queue.show_folder_requested.connect(self.show_job_folder)
        queue.show_error_requested.connect(self.show_job_error)

    def attach(self, scheduler: RenderScheduler) -> None:
        """Listen to the scheduler of a newly opened library."""
        scheduler.job_changed.connect(lambda _id: self.refresh())
        scheduler.job_progress.connect(self._on_progress)
        scheduler.job_finished.connect(self._on_finished)
        scheduler.notice.connect(lambda text: self._window.banner.show_message(text, error=False))

    @property
    def _session(self) -> LibrarySession[RenderScheduler]:
        return self._window.session

    def refresh(self) -> None:
        """Re-read the queue into the panel; outputs of waiting jobs are taken for the form."""
        jobs = self._session.store.list()
        self._window.queue.set_jobs(jobs)
        self._window.form.set_taken_outputs(
            [job.spec.output for job in jobs if job.state in (JobState.QUEUED, JobState.RUNNING)])
        self._window.update_activity()

    def activity(self) -> list[str]:
        scheduler = self._session.scheduler
        if scheduler.running_job_id is None:
            return []
        progress = scheduler.last_progress
        return [f"Job #{scheduler.running_job_id}: "
                + (format_progress(progress) if progress else "loading the model…")]

    # -- queueing ---------------------------------------------------------------------------------

    def queue_render(self) -> Job | None:
        """Queue the form's job (Ctrl+R) and start it if the device is free."""
        if self._refuse_form_audio():
            return None
        spec = self._window.form.spec()
        if spec.output and Path(spec.output).exists() and not spec.overwrite:
            answer = QMessageBox.question(self._window, "Replace the file?",
                                          f"{spec.output} exists. Replace it when the render finishes?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
            spec = replace(spec, overwrite=True)
        job = self._window.run_instant(lambda: self._session.store.add(spec))
        if job is None:
            return None
        self._window.banner.clear_error()  # the form's earlier mistake is fixed
        self._window.form.job_queued()
        self.refresh()
        self._window.queue.select(job.id)
        self._session.scheduler.start_next()
        return job

    def quick_preview(self) -> Job | None:
        """Render the first seconds of the form's settings ahead of the queue, then play them."""
        if self._refuse_form_audio():
            return None
        store = self._session.store
        folder = self._session.root / PREVIEWS_FOLDER
        folder.mkdir(exist_ok=True)
        output = folder / f"{safe_file_stem(self._window.form.avatar.currentText(), 'preview')}.mp4"
        job = self._window.run_instant(lambda: store.add(self._window.form.spec(preview_output=output)))
        if job is None:
            return None
        self._preview_jobs.add(job.id)
        self._window.run_instant(lambda: store.move_to(job.id, 0))  # a preview is for right now
        self.refresh()
        self._session.scheduler.start_next()
        return job

    def import_batch(self) -> int:
        """Render → Import batch…: choose a CSV/JSON manifest and queue its rows as one group."""
        path, _ = QFileDialog.getOpenFileName(self._window, "Import a batch manifest", "", MANIFEST_FILTER)
        return self.import_batch_file(Path(path)) if path else 0

    def import_batch_file(self, manifest: Path) -> int:
        """Check `manifest` in the import dialog; returns how many rows were queued (0 if none)."""
        dialog = BatchImportDialog(manifest, self._session.root, self._session.store, self._window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return 0
        self.refresh()
        self._session.scheduler.start_next()
        return dialog.queued_count

    def _refuse_form_audio(self) -> bool:
        """Say why and return True when the form's audio was probed and refused (Ctrl+R included)."""
        problem = self._window.form.audio_problem
        if problem:
            self._window.show_error(f"Cannot queue this render: {problem}")
        return bool(problem)

    # -- scheduler reports ------------------------------------------------------------------------

    def _on_progress(self, job_id: int, progress: Progress) -> None:
        queue = self._window.queue
        shown = queue.job(job_id)
        if shown is None or shown.state is not JobState.RUNNING or not shown.device_description:
            self.refresh()  # the runner has marked it running (and named its device) meanwhile
            shown = queue.job(job_id)
            if shown is not None and shown.device_description:
                self._window.show_device(shown.device_description)
        queue.show_progress(job_id, progress)
        self._window.update_activity()

    def _on_finished(self, job: Job) -> None:
        window = self._window
        window.show_device(job.device_description)
        if job.state is JobState.DONE:
            window.statusBar().showMessage(f"Finished: {job_title(job)}", 8000)
            if job.id in self._preview_jobs:
                window.player.show_file(Path(job.output_path), f"Preview: {job_title(job)}", autoplay=True)
        elif job.state is JobState.FAILED:
            window.show_error(f"Render #{job.id} failed: {job.error_summary}",
                              job.error if job.error != job.error_summary else "")
        self._preview_jobs.discard(job.id)

    # -- actions on one job -----------------------------------------------------------------------

    def cancel_job(self, job_id: int) -> None:
        self._window.run_instant(lambda: self._session.scheduler.cancel(job_id))

    def retry_job(self, job_id: int) -> None:
        self._window.run_instant(lambda: self._session.store.retry(job_id))
        self.refresh()
        self._session.scheduler.start_next()

    def remove_job(self, job_id: int) -> None:
        self._window.run_instant(lambda: self._session.store.remove(job_id))
        self.refresh()

    def move_job(self, job_id: int, delta: int) -> None:
        self._window.run_instant(lambda: self._session.store.move(job_id, delta))
        self.refresh()

    def play_job(self, job_id: int) -> None:
        job = self._session.store.get(job_id)
        if job.output_path and Path(job.output_path).is_file():
            self._window.player.show_file(Path(job.output_path), f"Render: {job_title(job)}", autoplay=True)
        else:
            self._window.show_error(
                f"The output of job #{job_id} is gone ({job.output_path}); retry the job to render it again.")

    def show_job_folder(self, job_id: int) -> None:
        job = self._session.store.get(job_id)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(job.output_path or job.spec.output).parent)))

    def show_job_error(self, job_id: int) -> None:
        job = self._session.store.get(job_id)
        box = QMessageBox(QMessageBox.Icon.Warning, f"Job #{job_id} {job.state.value}",
                          job.error_summary or job.error, parent=self._window)
        if job.error and job.error != job.error_summary:
            box.setDetailedText(job.error)
        box.exec()
