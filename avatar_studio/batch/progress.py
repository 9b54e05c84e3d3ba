"""Progress of a whole batch: rows done and failed, frames/s over the batch and its ETA, and the
row that reported last, fed by however many renders run at once (threads here or Ray tasks)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from avatar_studio.progress import Progress


@dataclass(frozen=True)
class BatchProgress:
    """A snapshot of the batch. Frame totals of rows not started yet are estimates (audio length
    times the avatar's frame rate); a row's own report replaces its estimate once it starts."""

    rows_total: int
    rows_done: int
    rows_failed: int
    frames_done: int
    frames_total: int
    elapsed_s: float
    #: The row that reported last and its own progress (None before any row started).
    row: int | None = None
    row_progress: Progress | None = None

    @property
    def rows_finished(self) -> int:
        return self.rows_done + self.rows_failed

    @property
    def rate(self) -> float:
        """Frames per second over the whole batch so far."""
        return self.frames_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.frames_done <= 0 or self.rate <= 0:
            return None
        return max(0.0, (self.frames_total - self.frames_done) / self.rate)


BatchProgressCallback = Callable[[BatchProgress], None]


def estimated_frames(duration_s: float, fps: float) -> int:
    return max(1, math.ceil(duration_s * fps))


class BatchTracker:
    """Collects per-row reports from any thread and hands a `BatchProgress` to `callback`."""

    def __init__(self, frame_estimates: dict[int, int], callback: BatchProgressCallback | None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._lock = threading.Lock()
        self._totals = dict(frame_estimates)  # row -> frames
        self._done = dict.fromkeys(frame_estimates, 0)
        self._finished: dict[int, bool] = {}  # row -> succeeded
        self._callback = callback
        self._clock = clock
        self._started = clock()

    def row_progress(self, row: int, progress: Progress) -> None:
        with self._lock:
            self._totals[row] = progress.total
            self._done[row] = progress.done
            snapshot = self._snapshot(row, progress)
        self._emit(snapshot)

    def row_finished(self, row: int, succeeded: bool) -> None:
        with self._lock:
            self._finished[row] = succeeded
            if succeeded:
                self._done[row] = self._totals[row]
            else:  # a failed row will never render its frames: drop them from the total
                self._totals[row] = self._done[row]
            snapshot = self._snapshot(None, None)
        self._emit(snapshot)

    def snapshot(self) -> BatchProgress:
        with self._lock:
            return self._snapshot(None, None)

    def _snapshot(self, row: int | None, progress: Progress | None) -> BatchProgress:
        succeeded = sum(self._finished.values())
        return BatchProgress(
            rows_total=len(self._totals), rows_done=succeeded, rows_failed=len(self._finished) - succeeded,
            frames_done=sum(self._done.values()), frames_total=sum(self._totals.values()),
            elapsed_s=self._clock() - self._started, row=row, row_progress=progress,
        )

    def _emit(self, snapshot: BatchProgress) -> None:
        if self._callback is not None:
            self._callback(snapshot)
