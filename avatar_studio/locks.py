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
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from avatar_studio.errors import AvatarStudioError

LOCKS_DIR = ".locks"
APP_LOCK_FILE = "app.lock"


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
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return self._lock.is_locked
