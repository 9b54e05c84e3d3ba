"""Queue a checked manifest as one group of jobs and render them, here or through another executor.

`queue_plan` prepares the avatars given as files (once each), creates the output folders and puts
every unfinished row into the library's job queue, reusing the rows' jobs from an earlier run of
the manifest. `run_batch` renders those jobs in manifest order with an executor (`LocalExecutor`
here; `ray_runner.RayExecutor` on a cluster): a failed row never stops the others, a cancel stops
them all, and the summary lists every row's outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.batch.check import BatchPlan, PlannedRow, check_manifest
from avatar_studio.batch.manifest import read_manifest
from avatar_studio.batch.progress import BatchProgressCallback, BatchTracker, estimated_frames
from avatar_studio.choices import DEFAULT_FPS
from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.jobs.store import JobStore
from avatar_studio.progress import CancelToken, Progress, ProgressCallback

#: How often a waiting submitter wakes up to notice Ctrl+C.
_WAIT_SLICE_S = 0.2


@dataclass(frozen=True)
class QueuedRow:
    row: PlannedRow
    job: Job


@dataclass(frozen=True)
class RowOutcome:
    """How one row ended: done, skipped (finished by an earlier run), failed or cancelled."""

    number: int
    output: Path
    state: str
    message: str = ""

    @property
    def succeeded(self) -> bool:
        return self.state in ("done", "skipped")


@dataclass(frozen=True)
class BatchSummary:
    group: str
    outcomes: tuple[RowOutcome, ...]

    @property
    def succeeded(self) -> bool:
        return all(outcome.succeeded for outcome in self.outcomes)

    def count(self, state: str) -> int:
        return sum(outcome.state == state for outcome in self.outcomes)


class RowExecutor(Protocol):
    """Renders queued rows and leaves each row's job in a final state in `store`."""

    def run(self, rows: Sequence[QueuedRow], store: JobStore, library_root: Path, tracker: BatchTracker,
            cancel: CancelToken) -> None: ...  # fmt: skip


def queue_plan(
    plan: BatchPlan,
    store: JobStore,
    library_root: Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[QueuedRow]:
    """Prepare the file avatars, then queue every row that is not complete, in manifest order."""
    library = AvatarLibrary(library_root)
    sources = {row.avatar_source: row.spec.avatar for row in plan.to_render if row.avatar_source is not None}
    prepared_ids = {}
    for source, name in sources.items():
        avatar = library.find(name) or library.prepare(
            source.absolute(), name, PrepareSettings(), progress=progress, cancel=cancel
        )
        prepared_ids[source] = avatar.folder.name
    queued = []
    for planned in plan.to_render:
        row = planned
        if planned.avatar_source is not None:
            row = replace(planned, spec=replace(planned.spec, avatar_id=prepared_ids[planned.avatar_source]))
        output = Path(row.spec.output)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AvatarStudioError(
                f"Cannot create the output folder {str(output.parent)!r} (row {row.number}: "
                f"{error.strerror or error}); choose a writable folder."
            ) from None
        queued.append(QueuedRow(row, _job_for(row, store, plan.group)))
    return queued


def import_manifest(
    manifest_path: Path,
    library_root: Path,
    store: JobStore,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[QueuedRow]:
    """Check a manifest and queue its unfinished rows (the app's Import batch; the app's queue renders them)."""
    plan = check_manifest(read_manifest(manifest_path), library_root, store, overwrite=overwrite)
    return queue_plan(plan, store, library_root, progress, cancel)


def _job_for(row: PlannedRow, store: JobStore, group: str) -> Job:
    """The row's waiting job from an earlier run, queued again if it had stopped, else a new one."""
    if row.previous is not None:
        try:
            current = store.get(row.previous.id)
        except AvatarStudioError:  # removed from the queue since the check
            current = None
        if current is not None and current.spec == row.spec:
            if current.state is JobState.QUEUED:
                return current
            if current.can_retry:
                return store.retry(current.id)
    return store.add(row.spec, group=group)


def run_batch(
    plan: BatchPlan,
    queued: Sequence[QueuedRow],
    store: JobStore,
    library_root: Path,
    executor: RowExecutor | None = None,
    progress: BatchProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> BatchSummary:
    """Render the queued rows and say how every row of the plan ended.

    Ctrl+C (KeyboardInterrupt) while waiting cancels the batch like `cancel` does: the running
    renders stop, the waiting ones are cancelled, and no partial output is left.
    """
    token = cancel or CancelToken()
    tracker = BatchTracker(_frame_estimates(queued, library_root), progress)
    runner = executor or LocalExecutor()
    # The renders run on a thread of their own so that Ctrl+C (delivered to this one) can cancel them.
    # An Event, not Thread.join: a join that a KeyboardInterrupt broke may return early the next time.
    finished = threading.Event()

    def render_all() -> None:
        try:
            runner.run(queued, store, library_root, tracker, token)
        finally:
            finished.set()

    threading.Thread(target=render_all, name="batch", daemon=True).start()
    try:
        while not finished.wait(_WAIT_SLICE_S):
            pass
    except KeyboardInterrupt:
        token.cancel()
        while not finished.wait(_WAIT_SLICE_S):
            pass
    return summarize(plan, queued, store)


def summarize(plan: BatchPlan, queued: Sequence[QueuedRow], store: JobStore) -> BatchSummary:
    jobs = {entry.row.number: store.get(entry.job.id) for entry in queued}
    outcomes = []
    for row in plan.rows:
        output = Path(row.spec.output)
        job = jobs.get(row.number)
        if job is None:
            outcomes.append(RowOutcome(row.number, output, "skipped", "finished by an earlier run"))
        elif job.state is JobState.DONE:
            outcomes.append(RowOutcome(row.number, output, "done"))
        elif job.state is JobState.QUEUED:  # the executor stopped before reaching it
            outcomes.append(RowOutcome(row.number, output, "cancelled", "not started"))
        else:
            outcomes.append(RowOutcome(row.number, output, job.state.value, job.error_summary))
    return BatchSummary(plan.group, tuple(outcomes))


def _frame_estimates(queued: Sequence[QueuedRow], library_root: Path) -> dict[int, int]:
    fps = {avatar.folder.name: avatar.fps for avatar in AvatarLibrary(library_root).list()}
    return {
        entry.row.number: estimated_frames(entry.row.expected_duration_s, fps.get(entry.row.spec.avatar_id, DEFAULT_FPS))
        for entry in queued
    }


class LocalExecutor:
    """Renders on this machine, `jobs` rows at once (each render already uses several threads)."""

    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise AvatarStudioError(f"--jobs must be at least 1, not {jobs}.")
        self.jobs = jobs

    def run(self, rows: Sequence[QueuedRow], store: JobStore, library_root: Path, tracker: BatchTracker,
            cancel: CancelToken) -> None:  # fmt: skip
        from avatar_studio.jobs.runner import run_job  # the render engine: loaded only to render

        def render(entry: QueuedRow) -> None:
            number = entry.row.number
            if cancel.cancelled:
                store.mark_cancelled(entry.job.id)
                tracker.row_finished(number, False)
                return
            def on_progress(report: Progress) -> None:
                tracker.row_progress(number, report)

            try:
                ended = run_job(entry.job, store, library_root, progress=on_progress, cancel=cancel)
            except AvatarStudioError:  # claimed by another program (the app) meanwhile
                tracker.row_finished(number, False)
                return
            tracker.row_finished(number, ended.state is JobState.DONE)

        with ThreadPoolExecutor(self.jobs, thread_name_prefix="batch-row") as pool:
            list(pool.map(render, rows))
