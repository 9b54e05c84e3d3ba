"""Qt-free text for the window: durations, ETAs, sizes and one-line summaries.

Kept apart from the widgets so the wording is testable without a display.
"""

from __future__ import annotations

import math

from avatar_studio.media.probe import MediaInfo
from avatar_studio.progress import Progress


def format_clock(seconds: float | None) -> str:
    """`m:ss` (or `h:mm:ss`) for player times and ETAs; '–' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def frame_at(position_ms: float, fps: float) -> int:
    """The index of the frame shown at `position_ms` of a clip at `fps` (0 without a rate)."""
    if fps <= 0 or position_ms <= 0:
        return 0
    return int(position_ms / 1000.0 * fps + 1e-6)


def format_timecode(position_ms: float, fps: float) -> str:
    """`HH:MM:SS:FF` (FF the frame within the second), as video editors show it; `HH:MM:SS` without a rate."""
    if fps <= 0:
        seconds = max(int(position_ms // 1000), 0)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    per_second = max(round(fps), 1)
    index = frame_at(position_ms, fps)
    seconds, frame = divmod(index, per_second)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frame:02d}"


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


def format_rate(rate: float | None, short: bool = False) -> str:
    """Frames per second of running work; blank before it is known. `short` ("fps") for a table
    column, whose width the job and output names need more."""
    return f"{rate:.1f} {'fps' if short else 'frames/s'}" if rate else ""


def format_progress(progress: Progress) -> str:
    """'Rendering 40 % · 12.3 frames/s · 0:07 left' for lists and the status bar."""
    parts = [f"{progress.stage} {progress.percent:.0f} %"]
    if progress.rate > 0:
        parts.append(format_rate(progress.rate))
    parts.append(eta_text(progress.eta_s, progress.estimating))
    return " · ".join(part for part in parts if part)


ESTIMATING = "estimating…"


def eta_text(eta_s: float | None, estimating: bool) -> str:
    """'0:07 left', 'estimating…' while the rate settles, '' when there is nothing to say."""
    if eta_s is not None:
        return f"{format_clock(eta_s)} left"
    return ESTIMATING if estimating else ""


def avatar_summary(duration_s: float, width: int, height: int, fps: float, frame_count: int) -> str:
    """'5.0 s · 844×844 · 25 fps' (a still image says '1 frame' instead of its duration)."""
    length = "still image" if frame_count == 1 else format_duration(duration_s)
    return f"{length} · {width}×{height} · {format_fps(fps)}"


def first_line(text: str, limit: int = 160) -> str:
    """The first line of an error, cut to fit a list cell; the full text stays available on demand."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def audio_summary(info: MediaInfo) -> str:
    """'0:12 · wav · pcm_s16le · 48000 Hz' for the render form, once a file is probed."""
    parts = [format_clock(info.duration_s) if info.duration_s >= 60 else format_duration(info.duration_s),
             info.container.split(",")[0]]
    if info.audio_codec:
        parts.append(info.audio_codec)
    if info.audio_sample_rate:
        parts.append(f"{info.audio_sample_rate} Hz")
    return " · ".join(parts)


def source_summary(info: MediaInfo) -> str:
    """'5.0 s · 844×844 · 25 fps · h264' (or 'photo · 844×844 · png') for the add-avatar dialog."""
    if info.is_still_image:
        return f"photo · {info.width}×{info.height} · {info.video_codec or info.container}"
    parts = [format_duration(info.duration_s), f"{info.width}×{info.height}", format_fps(info.fps)]
    if info.variable_frame_rate:
        parts[-1] += " (variable)"
    if info.video_codec:
        parts.append(info.video_codec)
    return " · ".join(parts)
