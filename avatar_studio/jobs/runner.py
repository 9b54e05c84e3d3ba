"""Render one queued job and keep its row in the store truthful at every step.

The job's state is the only thing the GUI (or a later CLI `queue` command) needs to read, so the
runner records every transition itself: running as soon as it starts, the backend's description
once the model is loaded, throttled progress while rendering, and one final state. Errors never
escape as exceptions: an `AvatarStudioError` becomes a failed job with its message, an unexpected
exception a failed job with the traceback kept for "show full error", a cancel a cancelled job.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.jobs.model import Job, JobSpec
from avatar_studio.jobs.store import JobStore
from avatar_studio.progress import CancelToken, NoticeCallback, Progress, ProgressCallback
from avatar_studio.render.pipeline import RenderResult
from avatar_studio.render.request import RenderRequest, run_render_request

#: Progress reaches the database at most this often: enough for a live bar, cheap for SQLite.
STORE_PROGRESS_INTERVAL_S = 0.25


def run_job(
    job: Job,
    store: JobStore,
    library_root: Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_notice: NoticeCallback | None = None,
) -> Job:
    """Render `job` (which must be queued) and return it as it ended: done, failed or cancelled.

    `progress` receives every report of the render (the store gets a throttled copy). Raises only
    when the job cannot be claimed, i.e. it is no longer queued (cancelled or removed meanwhile).
    """
    store.mark_running(job.id)
    if cancel is not None and cancel.cancelled:
        return store.mark_cancelled(job.id)
    recorder = _ProgressRecorder(store, job.id, progress)
    try:
        result = _render(
            job.spec, Path(library_root), recorder, cancel, on_notice,
            on_backend_ready=lambda description: store.set_device_description(job.id, description),
        )
    except Cancelled:
        return store.mark_cancelled(job.id)
    except AvatarStudioError as error:
        if cancel is not None and cancel.cancelled:  # Ctrl+C reaches ffmpeg too: its failure is the cancel
            return store.mark_cancelled(job.id)
        return store.mark_failed(job.id, str(error), str(error))
    except Exception as error:  # noqa: BLE001 - a bug: keep the traceback for the user to report
        summary = f"Unexpected error ({type(error).__name__}: {error}); show the full error to report it."
        return store.mark_failed(job.id, summary, traceback.format_exc())
    return store.mark_done(job.id, result.output, result.elapsed_s, fps=result.frames_per_second)


def _render(
    spec: JobSpec,
    library_root: Path,
    progress: ProgressCallback,
    cancel: CancelToken | None,
    on_notice: NoticeCallback | None,
    on_backend_ready: NoticeCallback,
) -> RenderResult:
    """The same steps as `avatar-studio render`, with the job's stored settings."""
    return run_render_request(render_request_for(spec), library_root, progress, cancel, on_notice, on_backend_ready)


def render_request_for(spec: JobSpec) -> RenderRequest:
    """The render a job's stored settings ask for (also what a cluster node renders for a row)."""
    return RenderRequest(
        avatar=spec.avatar, avatar_id=spec.avatar_id, audio=Path(spec.audio), output=Path(spec.output),
        settings=spec.render_settings(), model=spec.model or None, backend=spec.backend,
        device=spec.device, precision=spec.precision, batch_size=spec.batch_size,
    )


class _ProgressRecorder:
    """Forwards every report to the caller and writes at most one per interval to the store."""

    def __init__(self, store: JobStore, job_id: int, forward: ProgressCallback | None,
                 interval_s: float = STORE_PROGRESS_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._job_id = job_id
        self._forward = forward
        self._interval_s = interval_s
        self._clock = clock
        self._last_write = float("-inf")

    def __call__(self, report: Progress) -> None:
        if self._forward is not None:
            self._forward(report)
        now = self._clock()
        if report.done >= report.total or now - self._last_write >= self._interval_s:
            self._last_write = now
            self._store.update_progress(self._job_id, report.fraction, report.rate, report.eta_s)
