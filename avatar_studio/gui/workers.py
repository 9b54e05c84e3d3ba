"""Run one engine call on a QThread and hear about it on the GUI thread.

Every long task (preparation, conversion, rendering) is a function taking `(progress, cancel)`.
`BackgroundTask` runs it in its own thread and re-emits its progress, result or error as signals
that arrive on the GUI thread, so widgets can connect plain slots or lambdas to them safely.
Errors become readable messages: an `AvatarStudioError` is shown as it is, anything else as a
one-line summary with the traceback kept as details.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.progress import CancelToken, Progress, ProgressCallback

log = logging.getLogger(__name__)

Task = Callable[[ProgressCallback, CancelToken], Any]


class _Worker(QObject):
    """Lives on the worker thread; runs the task once and reports how it ended."""

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, task: Task, token: CancelToken) -> None:
        super().__init__()
        self._task = task
        self._token = token

    @Slot()
    def run(self) -> None:
        try:
            result = self._task(self.progressed.emit, self._token)
        except Cancelled:
            self.cancelled.emit()
        except AvatarStudioError as error:
            self.failed.emit(str(error), "")
        except Exception as error:
            log.exception("background task failed")
            self.failed.emit(f"Unexpected error: {type(error).__name__}: {error}", traceback.format_exc())
        else:
            if self._token.cancelled:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            # Hand this object back to the GUI thread, which will delete it: a QObject must not be
            # destroyed from a thread other than its own, and this thread is about to end.
            self.moveToThread(_application().thread())
            self.done.emit()


class BackgroundTask(QObject):
    """A task on its own QThread; its signals are delivered on the thread that created it.

    Signals: `progressed(Progress)`, `succeeded(result)`, `failed(message, details)`,
    `cancelled()`, then always `finished()`.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    finished = Signal()

    _running: ClassVar[set[BackgroundTask]] = set()

    def __init__(self, task: Task, name: str = "task") -> None:
        super().__init__()
        self.name = name
        self.token = CancelToken()
        self.last_progress: Progress | None = None
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker(task, self.token)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # Connections to slots of this GUI-thread object are queued across threads.
        self._worker.progressed.connect(self._on_progress)
        self._worker.succeeded.connect(self.succeeded)
        self._worker.failed.connect(self.failed)
        self._worker.cancelled.connect(self.cancelled)
        # Direct: the thread must end even while the GUI thread is blocked in wait() at shutdown
        # (a queued quit would only be delivered by the GUI thread's event loop).
        self._worker.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> BackgroundTask:
        # Held here until the thread ends so neither Python nor Qt deletes a running thread.
        BackgroundTask._running.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the thread ends (used when the window closes)."""
        return self._thread.wait(timeout_ms)

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        self.progressed.emit(progress)

    @Slot()
    def _on_thread_finished(self) -> None:
        # `finished` is emitted from the thread just *before* it ends; wait for the end so that
        # dropping the last reference never destroys a QThread that is still running (abort).
        self._thread.wait()
        self.finished.emit()
        # Release later, not here: dropping the last reference inside this object's own slot
        # would delete it while Qt is still delivering the event to it.
        QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        BackgroundTask._running.discard(self)


def _application() -> QCoreApplication:
    """The running application (a worker only exists while one does)."""
    app = QCoreApplication.instance()
    assert app is not None, "a BackgroundTask needs a running QApplication"
    return app
