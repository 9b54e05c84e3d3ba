"""The render queue's scheduler: one render at a time on the inference device.

Whenever nothing is rendering it takes the next queued job from the SQLite store and runs it with
the engine's `run_job` in a `BackgroundTask`; when that ends it starts the next one. The store is
the single source of truth for job states, so the widgets simply re-read it on `job_changed`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.jobs.store import JobStore
from avatar_studio.progress import Progress


class RenderScheduler(QObject):
    job_changed = Signal(int)  # a job's state changed: re-read it from the store
    job_progress = Signal(int, object)  # job id, Progress
    job_finished = Signal(object)  # the Job as it ended (done, failed or cancelled)
    notice = Signal(str)  # e.g. "batch size lowered after out-of-memory"
    _notice_from_worker = Signal(str)

    def __init__(self, store: JobStore, library_root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._library_root = library_root
        self._task: BackgroundTask | None = None
        self._job_id: int | None = None
        self._closed = False
        # Emitted on the render thread, delivered (queued) on the GUI thread.
        self._notice_from_worker.connect(self._forward_notice)

    @property
    def running_job_id(self) -> int | None:
        return self._job_id

    @property
    def last_progress(self) -> Progress | None:
        return self._task.last_progress if self._task is not None else None

    def start_next(self) -> None:
        """Start the next queued job unless one is rendering (call after any queue change)."""
        if self._task is not None or self._closed:
            return
        job = self._store.next_queued()
        if job is None:
            return
        from avatar_studio.jobs.runner import (
            run_job,  # pulls in torch/onnxruntime: only when rendering
        )

        store, library = self._store, self._library_root

        def render(progress, cancel) -> Job:
            return run_job(job, store, library, progress=progress, cancel=cancel,
                           on_notice=self._notice_from_worker.emit)

        self._job_id = job.id
        self._task = BackgroundTask(render, name=f"render-{job.id}")
        self._task.progressed.connect(self._on_progress)
        self._task.failed.connect(self._on_failed)
        self._task.finished.connect(self._on_finished)
        self._task.start()
        self.job_changed.emit(job.id)

    def cancel(self, job_id: int) -> None:
        """Stop the running job (its partial output is removed by the engine) or cancel a queued one."""
        if job_id == self._job_id and self._task is not None:
            self._task.cancel()
        else:
            self._store.mark_cancelled(job_id)
            self.job_changed.emit(job_id)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel the running render and wait for it; True once no render thread is left.

        Afterwards the scheduler ignores the task's late signals: the store is about to close.
        """
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            return self._task.wait(timeout_ms)
        return True

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if self._job_id is not None and not self._closed:
            self.job_progress.emit(self._job_id, progress)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        """`run_job` records engine errors itself; this catches what escaped it (a bug)."""
        job_id = self._job_id
        if job_id is None or self._closed:
            return
        try:
            if self._store.get(job_id).state is JobState.RUNNING:
                self._store.mark_failed(job_id, message, details or message)
        except AvatarStudioError as error:
            self.notice.emit(str(error))

    @Slot()
    def _on_finished(self) -> None:
        job_id, self._job_id, self._task = self._job_id, None, None
        if job_id is not None and not self._closed:
            try:
                job = self._store.get(job_id)
            except AvatarStudioError:
                job = None
            self.job_changed.emit(job_id)
            if job is not None:
                self.job_finished.emit(job)
        self.start_next()

    @Slot(str)
    def _forward_notice(self, message: str) -> None:
        self.notice.emit(message)
