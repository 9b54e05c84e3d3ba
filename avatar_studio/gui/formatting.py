"""Qt-free text for the window: durations, ETAs, sizes and one-line summaries.

Kept apart from the widgets so the wording is testable without a display.
"""

from __future__ import annotations

import math

from avatar_studio.progress import Progress


def format_clock(seconds: float | None) -> str:
    """`m:ss` (or `h:mm:ss`) for player times and ETAs; '–' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_duration(seconds: float | None) -> str:
    """A short human duration: '4.2 s' under a minute, else a clock."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    return f"{seconds:.1f} s" if seconds < 60 else format_clock(seconds)


def format_size(num_bytes: int) -> str:
    """Bytes as the nearest binary unit: '417.3 MiB'."""
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_fps(fps: float) -> str:
    """25 -> '25 fps', 29.97002997 -> '29.97 fps'."""
    return f"{fps:.0f} fps" if abs(fps - round(fps)) < 1e-6 else f"{fps:.2f} fps"


def format_rate(rate: float | None) -> str:
    """Frames per second of running work; blank before it is known."""
    return f"{rate:.1f} frames/s" if rate else ""


def format_progress(progress: Progress) -> str:
    """'Rendering 40 % · 12.3 frames/s · 0:07 left' for lists and the status bar."""
    parts = [f"{progress.stage} {progress.percent:.0f} %"]
    if progress.rate > 0:
        parts.append(format_rate(progress.rate))
    parts.append(eta_text(progress.eta_s, progress.estimating))
    return " · ".join(part for part in parts if part)


def eta_text(eta_s: float | None, estimating: bool) -> str:
    """'0:07 left', 'estimating…' while the rate settles, '' when there is nothing to say."""
    if eta_s is not None:
        return f"{format_clock(eta_s)} left"
    return ESTIMATING if estimating else ""


ESTIMATING = "estimating…"


def avatar_summary(duration_s: float, width: int, height: int, fps: float, frame_count: int) -> str:
    """'5.0 s · 844×844 · 25 fps' (a still image says '1 frame' instead of its duration)."""
    length = "still image" if frame_count == 1 else format_duration(duration_s)
    return f"{length} · {width}×{height} · {format_fps(fps)}"


def first_line(text: str, limit: int = 160) -> str:
    """The first line of an error, cut to fit a list cell; the full text stays available on demand."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
