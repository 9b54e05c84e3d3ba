"""The render queue's scheduler: one render at a time on the inference device.

Whenever nothing is rendering (and the queue is not paused) it takes the next queued job from the
SQLite store and runs it with the engine's `run_job` in a `BackgroundTask`; when that ends it
starts the next one. The store is the single source of truth for job states, so the widgets simply
re-read it on `job_changed`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from superqt.utils import ensure_main_thread

from avatar_studio.errors import AvatarStudioError
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.jobs.store import JobStore
from avatar_studio.progress import CancelToken, NoticeCallback, Progress, ProgressCallback

#: `run_job`'s shape: (job, store, library root, progress, cancel, on_notice) -> the ended job.
JobRunner = Callable[[Job, JobStore, Path, ProgressCallback, CancelToken, NoticeCallback], Job]


def _engine_runner() -> JobRunner:
    # pulls in torch/onnxruntime: only when rendering
    from avatar_studio.jobs.runner import run_job

    return run_job


class RenderScheduler(QObject):
    job_changed = Signal(int)  # a job's state changed: re-read it from the store
    job_progress = Signal(int, object)  # job id, Progress
    job_finished = Signal(object)  # the Job as it ended (done, failed or cancelled)
    notice = Signal(str)  # e.g. "batch size lowered after out-of-memory"

    def __init__(self, store: JobStore, library_root: Path, parent: QObject | None = None,
                 runner: JobRunner | None = None, shutdown_timeout_ms: int = 30_000) -> None:
        super().__init__(parent)
        self._store = store
        self._library_root = library_root
        self._runner = runner
        self._shutdown_timeout_ms = shutdown_timeout_ms
        self._task: BackgroundTask | None = None
        self._job_id: int | None = None
        self._cancelling = False
        self._paused = False
        self._closed = False
        self._on_stopped: Callable[[], None] | None = None

    @property
    def running_job_id(self) -> int | None:
        return self._job_id

    @property
    def cancelling(self) -> bool:
        """The running job was asked to stop and has not stopped yet."""
        return self._cancelling

    @property
    def last_progress(self) -> Progress | None:
        return self._task.last_progress if self._task is not None else None

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Paused: the running job finishes, the next one waits until the queue is resumed."""
        self._paused = paused
        self.start_next()

    def start_next(self) -> None:
        """Start the next queued job unless one is rendering (call after any queue change)."""
        if self._task is not None or self._closed or self._paused:
            return
        job = self._store.next_queued()
        if job is None:
            return
        runner = self._runner or _engine_runner()
        store, library = self._store, self._library_root

        def render(progress: ProgressCallback, cancel: CancelToken) -> Job:
            return runner(job, store, library, progress, cancel, self._notice_from_render_thread)

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
            self._cancelling = True
        else:
            self._store.mark_cancelled(job_id)
        self.job_changed.emit(job_id)

    def shutdown(self, on_stopped: Callable[[], None]) -> None:
        """Cancel the running render and wait a while for it; `on_stopped` runs once no
        render thread is left (now, or later when a slow one ends: the store must outlive it).

        Afterwards the scheduler starts nothing and forwards no more signals.
        """
        self._closed = True
        self._on_stopped = on_stopped
        if self._task is None:
            self._stopped()
            return
        self._task.cancel()
        self._task.wait(self._shutdown_timeout_ms)

    def _stopped(self) -> None:
        callback, self._on_stopped = self._on_stopped, None
        if callback is not None:
            callback()

    def _notice_from_render_thread(self, message: str) -> None:
        self._forward_notice(message)

    @ensure_main_thread
    def _forward_notice(self, message: str) -> None:
        """Called by the engine on the render thread; runs on the GUI thread."""
        if not self._closed:
            self.notice.emit(message)

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
        job_id, self._job_id, self._task, self._cancelling = self._job_id, None, None, False
        if self._closed:
            self._stopped()
            return
        if job_id is not None:
            try:
                job = self._store.get(job_id)
            except AvatarStudioError:
                job = None
            self.job_changed.emit(job_id)
            if job is not None:
                self.job_finished.emit(job)
        self.start_next()
