"""Progress reporting and cancellation shared by every long-running engine call.

Engine functions take an optional `ProgressCallback` and an optional `CancelToken` (some also a
`NoticeCallback` for one-line notices); the CLI turns the reports into tqdm bars, the GUI into
signals. Nothing here knows about either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from avatar_studio.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """A snapshot of one stage of work: `done` of `total` units (usually frames)."""

    stage: str
    done: int
    total: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total > 0 else 0.0

    @property
    def percent(self) -> float:
        return 100.0 * self.fraction

    @property
    def rate(self) -> float:
        """Units per second so far (frames/s for frame-based stages)."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate, or None before the rate is known."""
        if self.done <= 0 or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


ProgressCallback = Callable[[Progress], None]
#: Receives one-line notices during long work ("out of memory: batch size halved to 8").
NoticeCallback = Callable[[str], None]


class CancelToken:
    """A thread-safe flag the caller sets and the worker polls between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass
class ProgressReporter:
    """Counts units for one stage and forwards throttled `Progress` snapshots to a callback.

    Reports at most every `min_interval_s` (and always the first and the final one) so a fast
    loop does not flood a GUI event queue.
    """

    stage: str
    total: int
    callback: ProgressCallback | None = None
    cancel: CancelToken | None = None
    min_interval_s: float = 0.1
    done: int = 0
    _start: float = field(default_factory=time.perf_counter)
    _last_report: float = -1.0

    def advance(self, n: int = 1) -> None:
        """Record `n` more units; raises `Cancelled` if cancellation was requested."""
        self.done += n
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        now = time.perf_counter()
        finished = self.done >= self.total
        if self.callback is not None and (finished or now - self._last_report >= self.min_interval_s):
            self._last_report = now
            self.callback(self.snapshot())

    def snapshot(self) -> Progress:
        return Progress(self.stage, self.done, self.total, time.perf_counter() - self._start)

    def check_cancelled(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
