"""Qt-free pieces of the GUI: wording of times and sizes, what a dropped file is, face box lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.gui.file_kinds import FileKind, file_kind
from avatar_studio.gui.formatting import (
    avatar_summary,
    first_line,
    format_clock,
    format_duration,
    format_fps,
    format_progress,
    format_size,
)
from avatar_studio.progress import Progress


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0:00"), (4.4, "0:04"), (59.6, "1:00"), (754, "12:34"), (3723, "1:02:03"), (None, "–"), (-1, "–"),
    (float("inf"), "–"),
])
def test_format_clock(seconds, text):
    assert format_clock(seconds) == text


def test_durations_sizes_rates():
    assert format_duration(4.25) == "4.2 s"
    assert format_duration(125) == "2:05"
    assert format_size(512) == "512 B"
    assert format_size(417 * 1024 * 1024 + 300 * 1024) == "417.3 MiB"
    assert format_fps(25.0) == "25 fps"
    assert format_fps(30000 / 1001) == "29.97 fps"
    assert avatar_summary(5.0, 844, 844, 25.0, 125) == "5.0 s · 844×844 · 25 fps"
    assert avatar_summary(0.04, 640, 480, 25.0, 1).startswith("still image")
    assert first_line("Bad file.\nTraceback ...") == "Bad file."
    assert len(first_line("x" * 500, 50)) == 50


def test_format_progress_shows_percent_rate_and_eta():
    text = format_progress(Progress("Rendering", 40, 100, 4.0))
    assert text == "Rendering 40 % · 10.0 frames/s · 0:06 left"
    assert format_progress(Progress("Rendering", 0, 100, 0.0)) == "Rendering 0 %"


@pytest.mark.parametrize(("name", "kind"), [
    ("clip.MP4", FileKind.AVATAR), ("face.webp", FileKind.AVATAR), ("take.mov", FileKind.AVATAR),
    ("voice.wav", FileKind.AUDIO), ("voice.M4A", FileKind.AUDIO), ("voice.opus", FileKind.AUDIO),
    ("wav2lip_gan.pth", FileKind.MODEL), ("w.onnx", FileKind.MODEL), ("notes.txt", None),
])
def test_file_kind(name, kind):
    assert file_kind(Path(name)) is kind


def test_box_at_follows_the_playback_position():
    from avatar_studio.gui.player_picture import box_at

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12]])
    assert box_at(boxes, 25.0, 0) == (0, 0, 10, 10)
    assert box_at(boxes, 25.0, 40) == (1, 1, 11, 11)  # frame 1 starts at 40 ms
    assert box_at(boxes, 25.0, 79) == (1, 1, 11, 11)
    assert box_at(boxes, 25.0, 10_000) == (2, 2, 12, 12)  # past the end: the last box
    assert box_at(None, 25.0, 0) is None
