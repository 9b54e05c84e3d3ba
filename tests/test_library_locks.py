"""Lock files with real child processes: one app per library, and only jobs whose renderer is gone
are interrupted; the operating system frees a killed process's locks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from avatar_studio.jobs.model import JobSpec, JobState
from avatar_studio.jobs.store import JobStore
from avatar_studio.locks import AppLock, LibraryInUse

_HOLD_APP_LOCK = """
import sys
from pathlib import Path
from avatar_studio.locks import AppLock
lock = AppLock(Path(sys.argv[1])).acquire()  # held while this process runs
print("locked", flush=True)
sys.stdin.read()
"""

_CLAIM_JOB = """
import sys
from pathlib import Path
from avatar_studio.jobs.store import JobStore
store = JobStore.for_library(Path(sys.argv[1]))
store.mark_running(int(sys.argv[2]))
print("claimed", flush=True)
sys.stdin.read()
"""


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running `script`, started once it has printed its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line in ("locked", "claimed"), (line, proc.poll())
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def _spec(tmp_path: Path) -> JobSpec:
    return JobSpec(avatar="Anna", audio=str(tmp_path / "a.wav"), output=str(tmp_path / "out.mp4"))


def test_a_second_app_on_the_same_library_is_told_so_until_the_first_is_gone(tmp_path: Path) -> None:
    library = tmp_path / "library"
    first = _child(_HOLD_APP_LOCK, str(library))
    try:
        with pytest.raises(LibraryInUse, match=rf"^Avatar Studio is already open on the library {library}; .*\.$"):
            AppLock(library).acquire()
        # The command line does not need the app's lock: the queue stays usable through SQLite.
        with JobStore.for_library(library) as store:
            assert store.add(_spec(tmp_path)).state is JobState.QUEUED
    finally:
        _kill(first)
    lock = AppLock(library).acquire()  # the killed process's lock was freed by the OS
    assert lock.held
    lock.release()


def test_only_a_job_whose_renderer_died_is_marked_interrupted(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    with JobStore.for_library(library) as store:
        job = store.add(_spec(tmp_path))
    renderer = _child(_CLAIM_JOB, str(library), str(job.id))
    try:
        with JobStore.for_library(library) as second_instance:
            assert second_instance.recover_interrupted() == 0
            assert second_instance.get(job.id).state is JobState.RUNNING
    finally:
        _kill(renderer)  # like a crash: no mark_done, no clean close
    with JobStore.for_library(library) as restarted:
        assert restarted.get(job.id).state is JobState.RUNNING
        assert restarted.recover_interrupted() == 1
        assert restarted.get(job.id).state is JobState.INTERRUPTED


def test_a_job_claimed_in_this_process_is_live_until_it_ends(tmp_path: Path) -> None:
    with JobStore.for_library(tmp_path) as store, JobStore.for_library(tmp_path) as other:
        job = store.add(_spec(tmp_path))
        store.mark_running(job.id)
        assert store.recover_interrupted() == 0 and other.recover_interrupted() == 0
        with pytest.raises(Exception, match="Job #.* is already"):
            other.mark_running(job.id)
        store.mark_failed(job.id, "Stopped.")
        retried = store.retry(job.id)
        other.mark_running(retried.id)  # the lock was released with the failure
        other.mark_cancelled(retried.id)
        assert other.get(retried.id).state is JobState.CANCELLED


class _IdleScheduler:
    running_job_id = None

    def start_next(self) -> None:
        pass

    def shutdown(self, on_stopped) -> None:
        on_stopped()


def test_the_app_session_holds_the_library_until_closed(tmp_path: Path) -> None:
    from avatar_studio.gui.session import LibrarySession  # Qt-free

    first = LibrarySession(tmp_path, lambda store, root: _IdleScheduler())
    with pytest.raises(LibraryInUse):
        LibrarySession(tmp_path, lambda store, root: _IdleScheduler())
    first.close()
    assert first.closed
    second = LibrarySession(tmp_path, lambda store, root: _IdleScheduler())
    second.close()
    assert second.closed
