"""The render queue, kept in SQLite in the library folder so jobs survive restarts and crashes.

One `JobStore` may be shared by the GUI thread and its render worker: a single connection guarded
by a lock. Another process on the same file (a CLI `queue` command) is handled by SQLite itself:
WAL mode lets readers carry on beside a writer and `busy_timeout` makes a writer wait its turn.
Every change is committed on its own (autocommit), so a crash can lose at most the change in
flight. Whoever claims a job (`mark_running`) holds its lock file (`avatar_studio.locks`) until
the job ends, and the operating system drops it if that process dies; `recover_interrupted()` turns
only jobs whose lock nobody holds into `interrupted`, so a render still going on in another
process (a second app, a batch run) is left alone.

The table layout is versioned with SQLite's `user_version`: `_MIGRATIONS[i]` upgrades a file from
version i to i+1, and a file from a newer version of the app is refused rather than misread.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

from filelock import FileLock

from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs.model import FINISHED_STATES, RETRYABLE_STATES, Job, JobSpec, JobState
from avatar_studio.locks import LOCKS_DIR, job_lock, release_and_remove, try_acquire

JOBS_DB_NAME = "jobs.sqlite3"
BUSY_TIMEOUT_S = 10.0
INTERRUPTED_SUMMARY = "The app stopped while this job was running; retry it to render again."


def _create_schema_v1(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            spec TEXT NOT NULL,
            state TEXT NOT NULL,
            position INTEGER NOT NULL,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            progress REAL NOT NULL DEFAULT 0,
            fps REAL,
            eta_s REAL,
            error TEXT NOT NULL DEFAULT '',
            error_summary TEXT NOT NULL DEFAULT '',
            output_path TEXT NOT NULL DEFAULT '',
            device_description TEXT NOT NULL DEFAULT '',
            elapsed_s REAL
        )
        """
    )
    db.execute("CREATE INDEX jobs_by_state_position ON jobs (state, position)")


def _add_group_v2(db: sqlite3.Connection) -> None:
    """Jobs queued from a batch manifest carry its name, so the queue can show them together."""
    db.execute("ALTER TABLE jobs ADD COLUMN group_name TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX jobs_by_group ON jobs (group_name)")


#: `_MIGRATIONS[i]` brings a database from schema version i to i + 1 (version 0 = empty file).
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_schema_v1, _add_group_v2)
SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = (
    "id, spec, state, position, created_at, started_at, finished_at, progress, fps, eta_s, "
    "error, error_summary, output_path, device_description, elapsed_s, group_name"
)


_NUMBER_COLUMNS = ("created_at", "started_at", "finished_at", "progress", "fps", "eta_s", "elapsed_s")
_TEXT_COLUMNS = ("error", "error_summary", "output_path", "device_description", "group_name")


def _job_from_row(row: tuple) -> Job:
    """The job a row holds; a row this version cannot read (edited by hand, written by a buggy or
    newer version) becomes a `damaged` job saying why, so reading the queue never fails."""
    values = dict(zip(_COLUMNS.split(", "), row, strict=True))
    try:
        return _readable_job(values)
    except (ValueError, TypeError, KeyError, AttributeError, AvatarStudioError) as error:
        summary = f"This queue entry cannot be read ({error}); remove it."
        return Job(
            id=values["id"], spec=JobSpec(avatar="", audio="", output=""), state=JobState.DAMAGED,
            position=values["position"] if isinstance(values["position"], int) else 0,
            created_at=values["created_at"] if isinstance(values["created_at"], (int, float)) else 0.0,
            error=summary, error_summary=summary,
        )  # fmt: skip


def _readable_job(values: dict) -> Job:
    """The job of a row whose every column has the type and range this version writes."""
    data = json.loads(values["spec"]) if isinstance(values["spec"], str) else None
    if not isinstance(data, dict):
        raise ValueError("its settings are not a JSON object")
    spec = JobSpec.from_dict(data)
    spec.validate()
    if not isinstance(values["position"], int):
        raise ValueError(f"position {values['position']!r} is not a number")
    for column in _NUMBER_COLUMNS:
        value = values[column]
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise ValueError(f"{column} {value!r} is not a number")
    for column in _TEXT_COLUMNS:
        if not isinstance(values[column], str):
            raise ValueError(f"{column} is not text")
    state = values["state"]
    if state == JobState.DAMAGED.value or state not in {item.value for item in JobState}:
        raise ValueError(f"unknown state {state!r}")
    fields = {key: value for key, value in values.items() if key != "group_name"}
    return Job(**{**fields, "spec": spec, "state": JobState(state), "group": values["group_name"]})


class JobStore:
    """The persistent render queue of one library folder."""

    def __init__(self, db_path: str | PathLike[str]) -> None:
        self.path = Path(db_path)
        self._lock = threading.RLock()
        self._locks_dir = self.path.parent / LOCKS_DIR
        #: Locks of the jobs this store claimed and has not finished (see mark_running).
        self._job_locks: dict[int, FileLock] = {}
        try:
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise self._translate(error) from error
        try:
            with self._guard():
                self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                self._db.execute("PRAGMA journal_mode = WAL")
                self._check_integrity()
                self._migrate()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def for_library(cls, library: str | PathLike[str]) -> JobStore:
        """The queue stored in `library` (the folder from `avatar_studio.paths.library_dir`)."""
        return cls(Path(library) / JOBS_DB_NAME)

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            for job_id in list(self._job_locks):
                self._release_job(job_id)
            self._db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        with self._guard():
            row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise AvatarStudioError(f"There is no job #{job_id} in the queue; it may have been removed.")
        return _job_from_row(row)

    def list(self) -> list[Job]:
        """Every job in queue order (finished ones included, oldest first)."""
        with self._guard():
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY position, id").fetchall()
        return [_job_from_row(row) for row in rows]

    def in_group(self, group: str) -> builtins.list[Job]:
        """The jobs queued from one batch manifest, in queue order."""
        with self._guard():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE group_name = ? ORDER BY position, id", (group,)
            ).fetchall()
        return [_job_from_row(row) for row in rows]

    def next_queued(self) -> Job | None:
        """The job that should render next (damaged rows are passed over), or None."""
        with self._guard():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE state = ? ORDER BY position, id", (JobState.QUEUED.value,)
            ).fetchall()
        jobs = (_job_from_row(row) for row in rows)
        return next((job for job in jobs if job.state is JobState.QUEUED), None)

    # -- queue edits -----------------------------------------------------------------------------

    def add(self, spec: JobSpec, group: str = "") -> Job:
        """Queue `spec` after every existing job; `group` names the batch manifest it came from."""
        spec.validate()
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO jobs (spec, state, position, created_at, group_name) VALUES (?, ?, ?, ?, ?)",
                (json.dumps(spec.to_dict()), JobState.QUEUED.value, self._end_position(), time.time(), group),
            )
            job_id = cursor.lastrowid
        assert job_id is not None  # set by every INSERT
        return self.get(job_id)

    def retry(self, job_id: int) -> Job:
        """Queue a failed, cancelled or interrupted job again, at the end, as if new."""
        with self._transaction():
            job = self.get(job_id)
            if job.state not in RETRYABLE_STATES:
                raise AvatarStudioError(
                    f"Job #{job_id} is {job.state.value}; only failed, cancelled or interrupted jobs can be retried."
                )
            self._db.execute(
                """UPDATE jobs SET state = ?, position = ?, started_at = NULL, finished_at = NULL,
                   progress = 0, fps = NULL, eta_s = NULL, error = '', error_summary = '',
                   output_path = '', device_description = '', elapsed_s = NULL WHERE id = ?""",
                (JobState.QUEUED.value, self._end_position(), job_id),
            )
        return self.get(job_id)

    def remove(self, job_id: int) -> None:
        """Forget a job (its output video, if any, stays on disk). A running job must be cancelled first."""
        with self._transaction():
            job = self.get(job_id)
            if not job.can_remove:
                raise AvatarStudioError(f"Job #{job_id} is running; cancel it before removing it.")
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def clear(self, states: Collection[JobState]) -> int:
        """Forget every job in `states` (finished ones only) in one transaction; returns how many."""
        if not set(states) <= FINISHED_STATES:
            raise AvatarStudioError("Only finished jobs can be cleared from the queue.")
        marks = ", ".join("?" for _ in states)
        with self._transaction():
            cursor = self._db.execute(f"DELETE FROM jobs WHERE state IN ({marks})",
                                      [state.value for state in states])
        return cursor.rowcount

    def move(self, job_id: int, delta: int) -> bool:
        """Move a queued job `delta` places among the queued jobs (negative = earlier).

        Returns False when it is already at that end of the queue.
        """
        return self._place(job_id, lambda old_index: old_index + delta)

    def move_to(self, job_id: int, index: int) -> bool:
        """Put a queued job at `index` among the queued jobs (0 = renders next), in one transaction.

        Returns False when it is already there. Only the queued jobs trade places, so finished
        jobs keep their spot in the history.
        """
        return self._place(job_id, lambda _old_index: index)

    def _place(self, job_id: int, new_index_of: Callable[[int], int]) -> bool:
        with self._transaction():
            job = self.get(job_id)
            if not job.can_move:
                raise AvatarStudioError(f"Job #{job_id} is {job.state.value}; only queued jobs can be moved.")
            rows = self._db.execute(
                "SELECT id, position FROM jobs WHERE state = ? ORDER BY position, id",
                (JobState.QUEUED.value,),
            ).fetchall()
            order = [row[0] for row in rows]
            old_index = order.index(job_id)
            new_index = min(max(new_index_of(old_index), 0), len(order) - 1)
            if new_index == old_index:
                return False
            order.insert(new_index, order.pop(old_index))
            # The queued jobs keep the same set of position slots, just in a new order.
            slots = sorted(row[1] for row in rows)
            self._db.executemany(
                "UPDATE jobs SET position = ? WHERE id = ?", list(zip(slots, order, strict=True))
            )
        return True

    def rename_avatar(self, avatar_id: str, old_name: str, new_name: str) -> int:
        """Show avatar `avatar_id`'s new name in every job that renders it; returns how many changed.

        Jobs find their avatar by `avatar_id` whatever it is called; the stored name is what the
        queue shows. Jobs queued before ids existed (matched by `old_name`) get the id here too.
        """
        changed = []
        with self._transaction():
            for job in self.list():
                if job.spec.uses_avatar(avatar_id, old_name) and (
                        job.spec.avatar != new_name or job.spec.avatar_id != avatar_id):
                    spec = dataclasses.replace(job.spec, avatar=new_name, avatar_id=avatar_id)
                    changed.append((json.dumps(spec.to_dict()), job.id))
            self._db.executemany("UPDATE jobs SET spec = ? WHERE id = ?", changed)
        return len(changed)

    # -- state changes made by the runner ------------------------------------------------------

    def mark_running(self, job_id: int, device_description: str = "") -> Job:
        """Claim a queued job for rendering; fails if someone else claimed or removed it first.

        The job's lock is held from here until mark_done/failed/cancelled (or close), so other
        processes can tell this render is alive.
        """
        with self._lock:
            if job_id in self._job_locks:  # claimed by this store already: say what state it is in
                self._change_state(job_id, (JobState.QUEUED,), JobState.RUNNING, "started_at = started_at", ())
            lock = job_lock(self._locks_dir, job_id)
            if not try_acquire(lock):
                raise AvatarStudioError(f"Job #{job_id} is already being rendered by another process; let it finish.")
            try:
                self._change_state(
                    job_id, (JobState.QUEUED,), JobState.RUNNING,
                    "started_at = ?, progress = 0, fps = NULL, eta_s = NULL, device_description = ?",
                    (time.time(), device_description),
                )
            except BaseException:
                lock.release(force=True)
                raise
            self._job_locks[job_id] = lock
        return self.get(job_id)

    def set_device_description(self, job_id: int, description: str) -> None:
        """Record the backend's describe() line once the model is loaded (after mark_running)."""
        with self._guard():
            self._db.execute("UPDATE jobs SET device_description = ? WHERE id = ?", (description, job_id))

    def update_progress(
        self, job_id: int, fraction: float, fps: float | None = None, eta_s: float | None = None
    ) -> None:
        """Record how far a running job is; ignored once the job is no longer running."""
        with self._guard():
            self._db.execute(
                "UPDATE jobs SET progress = ?, fps = ?, eta_s = ? WHERE id = ? AND state = ?",
                (min(max(fraction, 0.0), 1.0), fps, eta_s, job_id, JobState.RUNNING.value),
            )

    def mark_done(self, job_id: int, output_path: str | PathLike[str], elapsed_s: float,
                  fps: float | None = None) -> Job:
        """A finished render: keep where it went, how long it took and its average frames/s."""
        self._change_state(
            job_id, (JobState.RUNNING,), JobState.DONE,
            "finished_at = ?, progress = 1, eta_s = NULL, output_path = ?, elapsed_s = ?, "
            "fps = COALESCE(?, fps)",
            (time.time(), str(output_path), elapsed_s, fps),
        )
        self._release_job(job_id)
        return self.get(job_id)

    def mark_failed(self, job_id: int, summary: str, full_text: str = "") -> Job:
        """A render that stopped on an error: a one-line summary for the list, the full text on demand."""
        now = time.time()
        self._change_state(
            job_id, (JobState.RUNNING,), JobState.FAILED,
            "finished_at = ?, eta_s = NULL, error_summary = ?, error = ?, elapsed_s = ? - started_at",
            (now, _one_line(summary), full_text or summary, now),
        )
        self._release_job(job_id)
        return self.get(job_id)

    def mark_cancelled(self, job_id: int) -> Job:
        """Cancel a waiting job, or record that a running one stopped on the user's request."""
        now = time.time()
        self._change_state(
            job_id, (JobState.QUEUED, JobState.RUNNING), JobState.CANCELLED,
            "finished_at = ?, eta_s = NULL, elapsed_s = ? - started_at",
            (now, now),
        )
        self._release_job(job_id)
        return self.get(job_id)

    def recover_interrupted(self) -> int:
        """Turn jobs left `running` by a process that is gone into `interrupted`; returns how many.

        A job whose lock is still held (its renderer runs, in this process or another) stays
        running. Call when the app starts.
        """
        recovered = 0
        with self._guard():
            running = [row[0] for row in self._db.execute(
                "SELECT id FROM jobs WHERE state = ?", (JobState.RUNNING.value,))]
            for job_id in running:
                if job_id in self._job_locks:
                    continue
                lock = job_lock(self._locks_dir, job_id)
                if not try_acquire(lock):
                    continue  # its renderer is alive
                try:
                    now = time.time()
                    cursor = self._db.execute(
                        """UPDATE jobs SET state = ?, finished_at = ?, eta_s = NULL, error_summary = ?,
                           error = ?, elapsed_s = ? - started_at WHERE id = ? AND state = ?""",
                        (JobState.INTERRUPTED.value, now, INTERRUPTED_SUMMARY, INTERRUPTED_SUMMARY, now,
                         job_id, JobState.RUNNING.value),
                    )
                    recovered += cursor.rowcount
                finally:
                    release_and_remove(lock)
        return recovered

    def _release_job(self, job_id: int) -> None:
        """Drop the lock of a job this store claimed (no-op for jobs it did not)."""
        with self._lock:
            lock = self._job_locks.pop(job_id, None)
        if lock is not None:
            release_and_remove(lock)

    # -- internals -------------------------------------------------------------------------------

    def _change_state(self, job_id: int, allowed: tuple[JobState, ...], new: JobState,
                      assignments: str, values: tuple) -> None:
        with self._transaction():
            job = self.get(job_id)
            if job.state not in allowed:
                raise AvatarStudioError(
                    f"Job #{job_id} is {job.state.value} and cannot become {new.value}; refresh the queue."
                )
            self._db.execute(
                f"UPDATE jobs SET state = ?, {assignments} WHERE id = ?", (new.value, *values, job_id)
            )

    def _end_position(self) -> int:
        (last,) = self._db.execute("SELECT COALESCE(MAX(position), 0) FROM jobs").fetchone()
        return last + 1

    def _check_integrity(self) -> None:
        (result,) = self._db.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            raise self._damaged(result)

    def _schema_version(self) -> int:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise AvatarStudioError(
                f"The job queue {self.path} was written by a newer Avatar Studio (schema {version}, "
                f"this version reads up to {SCHEMA_VERSION}); update Avatar Studio or choose another "
                "library folder."
            )
        return version

    def _migrate(self) -> None:
        if self._schema_version() == SCHEMA_VERSION:
            return
        with self._transaction():
            # Read again under the write lock: another process may have migrated meanwhile.
            for step in _MIGRATIONS[self._schema_version():]:
                step(self._db)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialise use of the connection and turn SQLite failures into messages people can act on."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as error:
                raise self._translate(error) from error

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Several statements as one change; IMMEDIATE takes the write lock up front, so two
        processes cannot both read the same end-of-queue position."""
        with self._guard():
            if self._db.in_transaction:  # nested call (e.g. get() inside retry()): join the outer one
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # SQLite may already have rolled back after an I/O error
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _translate(self, error: sqlite3.Error) -> AvatarStudioError:
        message = str(error)
        if isinstance(error, sqlite3.OperationalError):
            if "locked" in message or "busy" in message:
                return AvatarStudioError(
                    f"The job queue {self.path} is locked by another program; close other Avatar Studio "
                    "windows or commands using this library and try again."
                )
            if "unable to open" in message or "readonly" in message:
                return AvatarStudioError(
                    f"Cannot open or write the job queue {self.path} ({message}); check that the library "
                    "folder exists and is writable."
                )
        if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
            return self._damaged(message)
        return AvatarStudioError(f"The job queue {self.path} failed: {message}.")

    def _damaged(self, detail: str) -> AvatarStudioError:
        return AvatarStudioError(
            f"The job queue file {self.path} is damaged ({detail}); move it aside (e.g. rename it to "
            f"{self.path.name}.broken) to start an empty queue, or restore it from a backup."
        )


def _one_line(text: str) -> str:
    """The first non-empty line of `text`, for the job list."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "Unknown error."
