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
    #: Units/s over the recent reports (None: use the average since the start).
    recent_rate: float | None = None
    #: True while the rate is not steady yet: no ETA is given ("estimating…").
    estimating: bool = False

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
        """Seconds left at the recent rate, or None while it is still being estimated."""
        rate = self.recent_rate if self.recent_rate is not None else self.rate
        if self.estimating or self.done <= 0 or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)


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
class RateEstimate:
    """A smoothed units/s that ignores the warm-up before the first unit (model loading, seeking).

    Each sample is the rate between two reports; an exponential average with weight `alpha`
    smooths them. The estimate counts as steady after `min_samples` samples spanning at least
    `min_span_s` seconds of work, so the first, noisy frames give no ETA at all.
    """

    alpha: float = 0.3
    min_samples: int = 5
    min_span_s: float = 2.0
    value: float | None = None
    samples: int = 0
    span_s: float = 0.0
    _last: tuple[float, int] | None = None

    def add(self, now: float, done: int) -> None:
        if self._last is not None and now > self._last[0] and done > self._last[1]:
            then, before = self._last
            sample = (done - before) / (now - then)
            self.value = sample if self.value is None else self.alpha * sample + (1 - self.alpha) * self.value
            self.samples += 1
            self.span_s += now - then
        if self._last is None or done > self._last[1]:
            self._last = (now, done)

    @property
    def steady(self) -> bool:
        return self.samples >= self.min_samples and self.span_s >= self.min_span_s


@dataclass
class ProgressReporter:
    """Counts units for one stage and forwards throttled `Progress` snapshots to a callback.

    Reports at most every `min_interval_s` (and always the first and the final one) so a fast
    loop does not flood a GUI event queue. Each report carries the smoothed recent rate, and
    says "estimating" until that rate is steady.
    """

    stage: str
    total: int
    callback: ProgressCallback | None = None
    cancel: CancelToken | None = None
    min_interval_s: float = 0.1
    done: int = 0
    clock: Callable[[], float] = time.perf_counter
    rate_estimate: RateEstimate = field(default_factory=RateEstimate)
    _start: float = field(init=False)
    _last_report: float = -1.0

    def __post_init__(self) -> None:
        self._start = self.clock()

    def advance(self, n: int = 1) -> None:
        """Record `n` more units; raises `Cancelled` if cancellation was requested."""
        self.done += n
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        now = self.clock()
        finished = self.done >= self.total
        if finished or now - self._last_report >= self.min_interval_s:
            self._last_report = now
            self.rate_estimate.add(now, self.done)
            if self.callback is not None:
                self.callback(self.snapshot())

    def snapshot(self) -> Progress:
        estimate = self.rate_estimate
        finished = self.done >= self.total
        return Progress(self.stage, self.done, self.total, self.clock() - self._start,
                        recent_rate=estimate.value, estimating=not (estimate.steady or finished))

    def check_cancelled(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
