"""Threads joined by bounded queues, stopping together when any of them fails or is cancelled.

Rendering is a chain - read inputs, run the model, decode frames, composite, encode - whose
stages spend their time in code that releases the GIL (ONNX Runtime / PyTorch kernels, OpenCV,
pipe writes to ffmpeg). Running each in its own thread lets the slowest stage set the pace
instead of the sum of all. Bounded queues keep memory flat however long the audio is: a fast
stage simply waits for the slow one.

Every blocking put/get polls a shared stop flag, so one failing stage (or a cancel) brings the
whole chain down within a fraction of a second and its exception reaches the caller unchanged.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from avatar_studio.progress import CancelToken

_POLL_S = 0.05


class StageStopped(Exception):
    """Raised inside a stage when another stage failed or the work was cancelled."""


class EndOfStream:
    """Put after a stage's last item so the next stage knows it is done."""


END = EndOfStream()


class StageGroup:
    """Starts stage threads, carries items between them and surfaces the first failure."""

    def __init__(self, cancel: CancelToken | None = None) -> None:
        self._cancel = cancel
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, name: str, work: Callable[[], None]) -> None:
        """Run `work` in a new thread; an exception it raises stops every stage."""

        def run() -> None:
            try:
                work()
            except StageStopped:
                pass
            except BaseException as error:  # noqa: BLE001 - handed over to the caller in check()
                self.fail(error)

        thread = threading.Thread(target=run, name=f"render-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def fail(self, error: BaseException) -> None:
        """Record `error` (the first one wins) and stop every stage."""
        with self._lock:
            if self._error is None:
                self._error = error
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> None:
        """Raise the first stage's error, or `Cancelled`, or `StageStopped` once stopping."""
        if self._error is not None:
            raise self._error
        if self._cancel is not None:
            self._cancel.raise_if_cancelled()
        if self._stop.is_set():
            raise StageStopped()

    def put(self, channel: queue.Queue, item: Any) -> None:
        """Hand `item` to the next stage, waiting while its queue is full."""
        while True:
            self.check()
            try:
                channel.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def get(self, channel: queue.Queue) -> Any:
        """The next item from the previous stage, waiting while there is none."""
        while True:
            self.check()
            try:
                return channel.get(timeout=_POLL_S)
            except queue.Empty:
                continue

    def join(self) -> None:
        """Wait for every stage thread to finish (they finish soon after `stop`)."""
        for thread in self._threads:
            thread.join()

    def wait(self) -> None:
        """Wait until every stage has finished, then raise the first stage's error, if any."""
        self.join()
        if self._error is not None:
            raise self._error

