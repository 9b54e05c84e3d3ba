"""Run one engine call on a QThread and hear about it on the GUI thread.

Every long task (preparation, conversion, rendering) is a function taking `(progress, cancel)`.
`BackgroundTask` runs it on a QThread with superqt's `new_worker_qthread` (a QObject worker moved
to the thread; Qt ends the thread and deletes both once the work returns) and re-emits what
happened as signals delivered on the GUI thread. `cancel()` sets the engine's `CancelToken`.
`EngineErrorsMixin` is the one place engine outcomes become messages.

One rule keeps this free of deadlocks: no Python-made QObject may be connected *into* the worker
when Qt deletes it on its thread. Qt's `~QObject` calls each sender's `disconnectNotify` while it
holds a signal-slot mutex (one of a shared pool), and a PySide sender asks Python for an override
there, which needs the GIL; meanwhile the GUI thread, holding the GIL inside any widget
constructor, waits for a mutex of that same pool. So the work starts through a queued call, not
through the thread's `started` signal.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import (
    QEventLoop,
    QMetaObject,
    QObject,
    Qt,
    QThread,
    QTimer,
    Signal,
    SignalInstance,
    Slot,
)
from superqt.utils import new_worker_qthread

from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.progress import CancelToken, Progress, ProgressCallback

log = logging.getLogger(__name__)

Task = Callable[[ProgressCallback, CancelToken], Any]


def bug_message(error: BaseException) -> str:
    """The one-line summary of an error the engine did not expect (its traceback goes in details)."""
    return f"Unexpected error (a bug, please report it): {type(error).__name__}: {error}"


class EngineErrorsMixin:
    """Runs an engine call and emits how it ended: `succeeded(result)`, `failed(message, details)`
    or `cancelled()`. An `AvatarStudioError` is shown as it is (one sentence, no details),
    `Cancelled` (or a token set meanwhile) is a cancel, anything else is a bug with its traceback."""

    succeeded: SignalInstance
    failed: SignalInstance
    cancelled: SignalInstance

    def run_reporting(self, call: Callable[[], Any], token: CancelToken) -> None:
        try:
            result = call()
        except Cancelled:
            self.cancelled.emit()
        except AvatarStudioError as error:
            self.failed.emit(str(error), "")
        except Exception as error:
            log.exception("background task failed")
            self.failed.emit(bug_message(error), traceback.format_exc())
        else:
            if token.cancelled:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)


class _Worker(EngineErrorsMixin, QObject):
    """Lives on the task's thread; `BackgroundTask.start` calls `work` once, the thread quits on
    `finished` (wired by `new_worker_qthread`)."""

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, task: Task, token: CancelToken) -> None:
        super().__init__()
        self._task = task
        self._token = token

    @Slot()
    def work(self) -> None:
        try:
            self.run_reporting(lambda: self._task(self.progressed.emit, self._token), self._token)
        finally:
            self.finished.emit()


class BackgroundTask(QObject):
    """A task on its own QThread; its signals are delivered on the thread that created it.

    Signals, in this order: `progressed(Progress)`..., then one of `succeeded(result)`,
    `failed(message, details)`, `cancelled()`, then always `finished()` once the thread is over.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    finished = Signal()

    #: Tasks whose QThread Qt has not deleted yet: Python must never be the one to delete it.
    _running: ClassVar[set[BackgroundTask]] = set()

    def __init__(self, task: Task, name: str = "task") -> None:
        super().__init__()
        self.name = name
        self.token = CancelToken()
        self.last_progress: Progress | None = None
        self._started = False
        self._ended = False
        # superqt annotates `Worker` as its own QObject class rather than a Protocol.
        worker, thread = new_worker_qthread(_Worker, task, self.token)  # type: ignore[arg-type]
        self._worker: _Worker = worker
        self._thread: QThread = thread
        self._thread.setObjectName(name)
        # See the module docstring: the QThread (a PySide object) must not stay connected into
        # the worker, or the worker's deletion on its thread can deadlock with the GUI thread.
        self._thread.started.disconnect(self._worker.work)
        # The worker emits on its thread; these connections queue onto this object's thread.
        self._worker.progressed.connect(self._on_progress)
        self._worker.succeeded.connect(self.succeeded)
        self._worker.failed.connect(self.failed)
        self._worker.cancelled.connect(self.cancelled)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.destroyed.connect(self._on_thread_destroyed)

    def start(self) -> BackgroundTask:
        BackgroundTask._running.add(self)
        self._started = True
        self._thread.start()
        # Queued to the worker's thread: runs there as soon as its event loop turns.
        QMetaObject.invokeMethod(self._worker, "work", Qt.ConnectionType.QueuedConnection)
        return self

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def is_running(self) -> bool:
        return self._started and not self._ended

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Turn the event loop until the thread has ended or `timeout_ms` passed; True if ended.

        An event loop, not `QThread.wait()`: the thread's quit and its final signals are queued
        to this thread, so blocking it would only make the wait time out.
        """
        if not self.is_running:
            return True
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        self.finished.connect(loop.quit)
        timer.start(timeout_ms)
        loop.exec()
        timer.stop()
        self.finished.disconnect(loop.quit)
        return not self.is_running

    @classmethod
    def wait_for_all(cls, timeout_ms: int = 30_000) -> bool:
        """At exit: let threads still winding down (cancelled, past a window's wait) end first."""
        return all(task.wait(timeout_ms) for task in list(cls._running))

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        self.progressed.emit(progress)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._ended = True
        self.finished.emit()

    @Slot()
    def _on_thread_destroyed(self) -> None:
        # Held until Qt has deleted the QThread itself (new_worker_qthread connects deleteLater):
        # were Python to drop the last reference while the thread is still finishing, the
        # QThread destructor would wait for it while holding the GIL, and the thread, about to
        # delete its Python worker, would wait for the GIL: a deadlock.
        QTimer.singleShot(0, lambda: BackgroundTask._running.discard(self))
