"""Lock files in a library's `.locks/` folder: who is working on it, and which renders are live.

The operating system holds each lock (flock on POSIX, a locked byte on Windows, through the
`filelock` package) for as long as the process that took it runs, and drops it when that process
ends, however it ends. So "is that job really rendering?" is answered by trying its lock, never by
guessing from a process id that may already belong to someone else.

* `AppLock`: one per library, held by the app window working on it; a second window is refused
  with one sentence. The CLI never takes it, so command-line renders keep working beside the app
  (SQLite arbitrates the queue).
* `job_lock`: one per running job, held by whoever claimed it (`JobStore.mark_running`), so a
  process starting up marks only jobs whose renderer is gone as interrupted.
* `hold_process_lock` / `process_holds_library`: every process that opens a library's avatars
  holds `process-<pid>.lock` until it exits, so the staging folders a dead process left (named
  with its pid) can be told from a live process's work in progress.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

from filelock import FileLock, Timeout

from avatar_studio.errors import AvatarStudioError

LOCKS_DIR = ".locks"
APP_LOCK_FILE = "app.lock"
log = logging.getLogger(__name__)
_held_process_locks: dict[Path, FileLock] = {}
_held_guard = threading.Lock()


class LibraryInUse(AvatarStudioError):
    """Another app instance already works on this library folder."""


def new_lock(path: Path) -> FileLock:
    """A lock on `path` (folder created), usable from any thread, never silently a plain marker file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # thread_local=False: a render claims its job in one thread and finishes it in another.
    # fallback_to_soft=False: a lock that merely exists as a file would outlive a crash.
    return FileLock(path, thread_local=False, fallback_to_soft=False)


def try_acquire(lock: FileLock) -> bool:
    """Take `lock` if nobody holds it; False (at once) when another process or handle does."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    return True


def release_and_remove(lock: FileLock) -> None:
    """Let go of `lock` and delete its file, so finished work leaves no lock files behind.

    Deleted while still held: whoever opens the old file meanwhile gets a lock on nothing anyone
    checks again (callers change the shared state before they let go).
    """
    with contextlib.suppress(OSError):  # Windows cannot delete an open file: it stays, harmless
        Path(lock.lock_file).unlink(missing_ok=True)
    lock.release(force=True)


def job_lock(locks_dir: Path, job_id: int) -> FileLock:
    return new_lock(locks_dir / f"job-{job_id}.lock")


class AppLock:
    """The one app window on `library`; `acquire()` raises `LibraryInUse` when another holds it."""

    def __init__(self, library: Path) -> None:
        self.library = library
        self._lock = new_lock(library / LOCKS_DIR / APP_LOCK_FILE)

    def acquire(self) -> AppLock:
        if not try_acquire(self._lock):
            raise LibraryInUse(
                f"Avatar Studio is already open on the library {self.library}; switch to that window, "
                "or start this one with another library folder (--library)."
            )
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            release_and_remove(self._lock)

    @property
    def held(self) -> bool:
        return self._lock.is_locked


def _process_lock_path(library: Path, pid: int) -> Path:
    return library / LOCKS_DIR / f"process-{pid}.lock"


def hold_process_lock(library: Path) -> None:
    """Mark `library` as used by this process until it exits (once per library per process).

    A read-only library gets no lock (nothing can be staged in it either); the lock files dead
    processes left are removed on the way.
    """
    path = _process_lock_path(library, os.getpid()).resolve()
    with _held_guard:
        if path in _held_process_locks:
            return
        try:
            lock = new_lock(path)
            lock.acquire()  # our own pid's file: only a dead earlier process can have left it
        except OSError as error:
            log.info("Not marking %s as in use (%s)", library, error)
            return
        _held_process_locks[path] = lock
    for stale in path.parent.glob("process-*.lock"):
        pid = stale.stem.removeprefix("process-")
        if pid.isdigit():
            process_holds_library(library, int(pid))  # frees (and so deletes) the file of a dead process


def process_holds_library(library: Path, pid: int) -> bool:
    """Whether process `pid` is alive and has `library` open (its lock is held)."""
    if pid == os.getpid():
        return True
    path = _process_lock_path(library, pid)
    if not path.exists():
        return False
    lock = new_lock(path)
    if try_acquire(lock):
        release_and_remove(lock)  # a dead process's marker
        return False
    return True
