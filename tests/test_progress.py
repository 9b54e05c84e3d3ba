"""The ETA: smoothed over recent reports, ignoring the warm-up, and withheld until it is steady."""

from __future__ import annotations

import pytest

from avatar_studio.progress import Progress, ProgressReporter


class FakeClock:
    """Time that moves only when the test says so (no sleeping, no wall-clock dependence)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_no_eta_until_the_rate_is_steady_then_the_recent_rate_not_the_warm_up():
    clock = FakeClock()
    reports: list[Progress] = []
    reporter = ProgressReporter("Rendering", 1000, reports.append, clock=clock)
    clock.now = 12.0  # loading the model: 12 s before the first frame
    reporter.advance()
    for _ in range(4):  # then 10 frames/s, one report every 0.2 s
        clock.now += 0.2
        reporter.advance(2)
    assert all(report.estimating and report.eta_s is None for report in reports)
    for _ in range(20):
        clock.now += 0.2
        reporter.advance(2)
    last = reports[-1]
    assert not last.estimating
    remaining = 1000 - last.done
    assert last.eta_s == pytest.approx(remaining / 10.0, rel=0.01)
    # The plain average since the start would still count the warm-up (about 3x too long).
    assert remaining / last.rate > 2.5 * last.eta_s


def test_a_rate_change_moves_the_eta_smoothly_and_the_final_report_is_not_estimating():
    clock = FakeClock()
    reports: list[Progress] = []
    reporter = ProgressReporter("Rendering", 300, reports.append, clock=clock)
    for _ in range(30):
        clock.now += 0.2
        reporter.advance(2)  # 10 frames/s
    before = reports[-1].recent_rate
    clock.now += 0.2
    reporter.advance(4)  # one burst at 20 frames/s
    after = reports[-1].recent_rate
    assert before == pytest.approx(10.0) and 10.0 < after < 20.0
    while reporter.done < reporter.total:
        clock.now += 0.2
        reporter.advance(2)
    assert not reports[-1].estimating and reports[-1].eta_s == 0.0


def test_a_snapshot_without_a_recent_rate_falls_back_to_the_average():
    assert Progress("Rendering", 40, 100, 4.0).eta_s == pytest.approx(6.0)
    assert Progress("Rendering", 40, 100, 4.0, estimating=True).eta_s is None
