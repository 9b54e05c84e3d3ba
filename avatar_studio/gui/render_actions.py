"""Rendering: queue the form's job (or one per audio file), quick preview, and the scheduler's reports.

Every change goes to the `JobStore` (the single source of truth for job states) and then the
queue panel re-reads it; the scheduler renders one job at a time and reports back here.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.batch_import_dialog import MANIFEST_FILTER, BatchImportDialog
from avatar_studio.gui.desktop import Notifier
from avatar_studio.gui.formatting import format_progress
from avatar_studio.gui.queue_table import job_title
from avatar_studio.gui.scheduler import RenderScheduler
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.model import Job, JobSpec, JobState
from avatar_studio.jobs.naming import default_output_path, safe_file_stem
from avatar_studio.media.video_writer import probe_audio
from avatar_studio.progress import CancelToken, Progress, ProgressCallback

if TYPE_CHECKING:
    from avatar_studio.gui.main_window import MainWindow
    from avatar_studio.gui.session import LibrarySession

PREVIEWS_FOLDER = "previews"


class RenderActions(QObject):
    queued_several = Signal(list)  # the jobs queued for several audio files at once

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._preview_jobs: set[int] = set()
        self.notifier = Notifier(window)
        window.form.queue_requested.connect(self.queue_render)
        window.form.preview_requested.connect(self.quick_preview)
        window.form.several_audio_chosen.connect(self.queue_for_audio_files)

    def attach(self, scheduler: RenderScheduler) -> None:
        """Listen to the scheduler of a newly opened library."""
        scheduler.job_changed.connect(lambda _id: self.refresh())
        scheduler.job_progress.connect(self._on_progress)
        scheduler.job_finished.connect(self._on_finished)
        scheduler.notice.connect(lambda text: self._window.banner.show_message(text, error=False))
        self._window.queue.set_paused(scheduler.paused)

    @property
    def _session(self) -> LibrarySession[RenderScheduler]:
        return self._window.session

    def refresh(self) -> None:
        """Re-read the queue into the panel; outputs of waiting jobs are taken for the form."""
        jobs = self._session.store.list()
        scheduler = self._session.scheduler
        self._window.queue.set_jobs(jobs, scheduler.running_job_id if scheduler.cancelling else None)
        self._window.form.set_taken_outputs(self._taken_outputs(jobs))
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
        self._queued(job)
        return job

    def queue_for_audio_files(self, audio_files: list[Path]) -> BackgroundTask:
        """One job per audio file, all with the form's other settings (as they are now).

        The files are probed first, in the background; those ffmpeg cannot read are named and
        left out. Outputs are named after each file in the form's output folder and never
        replace an existing file. `queued_several(jobs)` reports what was queued.
        """
        base = self._window.form.spec()

        def probe_all(progress: ProgressCallback, cancel: CancelToken) -> list[tuple[Path, str]]:
            refused = []
            for path in audio_files:
                cancel.raise_if_cancelled()
                try:
                    probe_audio(path)
                except AvatarStudioError as error:
                    refused.append((path, str(error)))
            return refused

        task = BackgroundTask(probe_all, name="probe-audio-files")
        task.succeeded.connect(lambda refused: self._queue_probed(base, audio_files, dict(refused)))
        task.start()
        return task

    def _queue_probed(self, base: JobSpec, audio_files: list[Path], refused: dict[Path, str]) -> None:
        if self._session.closed:
            return  # the window closed while the files were being probed
        folder = Path(base.output).parent if base.output else self._session.output_dir
        taken = self._taken_outputs(self._session.store.list())
        jobs: list[Job] = []
        for audio in (path for path in audio_files if path not in refused):
            output = default_output_path(folder, base.avatar, audio, taken)
            taken.append(str(output))
            spec = replace(base, audio=str(audio), output=str(output), overwrite=False)
            job = self._window.run_instant(partial(self._session.store.add, spec))
            if job is None:
                break  # the error (no avatar, no model…) would repeat for every file
            jobs.append(job)
        if refused:
            names = ", ".join(path.name for path in refused)
            self._window.show_error(f"Not queued, ffmpeg cannot read them as audio: {names}.",
                                    "\n".join(f"{path}: {reason}" for path, reason in refused.items()))
        if jobs:
            self._queued(*jobs)
        self.queued_several.emit(jobs)

    def _queued(self, *jobs: Job) -> None:
        """After adding jobs from the form: show and select them, start one if the device is free."""
        self._window.form.job_queued()
        self.refresh()
        self._window.queue.select(*(job.id for job in jobs))
        self._session.scheduler.start_next()

    def quick_preview(self) -> Job | None:
        """Render the first seconds of the form's settings next (at once when nothing runs), then play them."""
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
        self._window.run_instant(lambda: store.move_to(job.id, 0))  # ahead of every waiting render
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

    @staticmethod
    def _taken_outputs(jobs: list[Job]) -> list[str]:
        return [job.spec.output for job in jobs if job.state in (JobState.QUEUED, JobState.RUNNING)]

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
            self.notifier.notify("Render finished", f"{job_title(job)}\n{job.output_path}")
        elif job.state is JobState.FAILED:
            window.show_error(f"Render #{job.id} failed: {job.error_summary}",
                              job.error if job.error != job.error_summary else "")
            self.notifier.notify("Render failed", f"{job_title(job)}: {job.error_summary}")
        self._preview_jobs.discard(job.id)
