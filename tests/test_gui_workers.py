"""Background tasks and the render scheduler on real QThreads (offscreen) with a real SQLite queue.

The tasks here are small Python functions, so the tests are about the plumbing: the order of the
signals, how engine errors become messages, cancelling through the engine's token, and a shutdown
whose render outlives the wait (the store must stay open until that thread is over).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QThread

from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.gui.scheduler import RenderScheduler
from avatar_studio.gui.session import LibrarySession
from avatar_studio.gui.workers import BackgroundTask
from avatar_studio.jobs.model import Job, JobSpec, JobState
from avatar_studio.jobs.store import JobStore
from avatar_studio.progress import Progress

pytestmark = pytest.mark.timeout(60)


def record(task: BackgroundTask) -> list[object]:
    events: list[object] = []
    task.progressed.connect(lambda p: events.append(("progress", p.done)))
    task.succeeded.connect(lambda result: events.append(("succeeded", result)))
    task.failed.connect(lambda message, details: events.append(("failed", message, details)))
    task.cancelled.connect(lambda: events.append("cancelled"))
    task.finished.connect(lambda: events.append("finished"))
    return events


def run_to_end(qtbot, task: BackgroundTask) -> None:
    with qtbot.waitSignal(task.finished, timeout=20_000):
        task.start()
    assert not task.is_running


def test_progress_then_the_result_then_finished(qtbot):
    def work(progress, _cancel):
        for done in (1, 2):
            progress(Progress("Working", done, 2, 0.1))
        return 42

    task = BackgroundTask(work, name="order")
    events = record(task)
    run_to_end(qtbot, task)
    assert events == [("progress", 1), ("progress", 2), ("succeeded", 42), "finished"]
    assert task.last_progress is not None and task.last_progress.done == 2


@pytest.mark.parametrize(("error", "expected"), [
    (AvatarStudioError("The file is damaged; choose another."),
     ("failed", "The file is damaged; choose another.", "")),
    (Cancelled(), "cancelled"),
])
def test_engine_errors_become_their_message_or_a_cancel(qtbot, error, expected):
    def work(_progress, _cancel):
        raise error

    task = BackgroundTask(work)
    events = record(task)
    run_to_end(qtbot, task)
    assert events == [expected, "finished"]


def test_any_other_error_is_reported_as_a_bug_with_its_traceback(qtbot):
    def work(_progress, _cancel):
        return {}["missing"]

    task = BackgroundTask(work)
    events = record(task)
    run_to_end(qtbot, task)
    (kind, message, details), last = events
    assert (kind, last) == ("failed", "finished")
    assert "a bug" in message and "KeyError" in message
    assert "Traceback" in details and "work" in details


def test_cancel_sets_the_engine_token_the_task_polls(qtbot):
    started = threading.Event()

    def work(_progress, cancel):
        started.set()
        while True:  # ends only through the token
            cancel.raise_if_cancelled()
            threading.Event().wait(0.01)

    task = BackgroundTask(work)
    events = record(task)
    task.start()
    qtbot.waitUntil(started.is_set, timeout=10_000)
    assert task.is_running
    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.cancel()
    assert events == ["cancelled", "finished"]


def queue_one(root: Path) -> int:
    root.mkdir(parents=True, exist_ok=True)
    with JobStore.for_library(root) as store:
        return store.add(JobSpec(avatar="Anna", audio=str(root / "a.wav"), output=str(root / "a.mp4"))).id


def test_engine_notices_arrive_on_the_gui_thread(qtbot, qapp, tmp_path):
    job_id = queue_one(tmp_path)

    def runner(job, store, _root, _progress, _cancel, on_notice) -> Job:
        store.mark_running(job.id)
        on_notice("Batch size lowered to 4 after running out of memory.")
        store.mark_cancelled(job.id)
        return store.get(job.id)

    heard: list[tuple[str, bool]] = []
    session = LibrarySession(tmp_path, lambda store, root: RenderScheduler(store, root, runner=runner))
    scheduler = session.scheduler
    scheduler.notice.connect(lambda text: heard.append(
        (text, QThread.currentThread() is qapp.thread())))
    with qtbot.waitSignal(scheduler.job_finished, timeout=20_000) as finished:
        scheduler.start_next()
    assert finished.args[0].id == job_id
    assert heard == [("Batch size lowered to 4 after running out of memory.", True)]
    session.close()
    assert session.closed


def test_shutdown_keeps_the_store_open_until_a_slow_render_ends(qtbot, tmp_path):
    job_id = queue_one(tmp_path)
    started, release = threading.Event(), threading.Event()
    late_writes: list[str] = []

    def stubborn_runner(job, store, _root, _progress, cancel, _notice) -> Job:
        """Like a render stuck in a long model call: it sees the cancel only when it comes back."""
        store.mark_running(job.id)
        started.set()
        release.wait(30)
        if cancel.cancelled:
            store.mark_cancelled(job.id)  # fails if the store was closed under this thread
            late_writes.append("cancelled")
        return store.get(job.id)

    session = LibrarySession(tmp_path, lambda store, root: RenderScheduler(
        store, root, runner=stubborn_runner, shutdown_timeout_ms=100))
    session.scheduler.start_next()
    qtbot.waitUntil(started.is_set, timeout=10_000)

    session.close()  # the wait runs out while the render is still inside its "model call"
    assert not session.closed
    assert session.store.get(job_id).state is JobState.RUNNING  # still open and readable

    release.set()
    qtbot.waitUntil(lambda: session.closed, timeout=20_000)
    assert late_writes == ["cancelled"]
    qtbot.waitUntil(lambda: not BackgroundTask._running, timeout=10_000)  # Qt deleted the thread
    with JobStore.for_library(tmp_path) as store:
        assert store.get(job_id).state is JobState.CANCELLED


@pytest.mark.timeout(400)
def test_many_tasks_ending_while_widgets_are_built_never_deadlock(tmp_path):
    """In a child process, so a deadlock (which holds the GIL) fails this test instead of the run."""
    count = 1500
    child = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("worker_churn.py")), str(count)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split()[-1] == str(count)
