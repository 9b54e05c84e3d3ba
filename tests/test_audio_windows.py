"""Per-frame mel windows: the original's chunk starts exactly, a video as long as the audio, lazily."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from avatar_studio.audio import (
    AudioTrack,
    MelWindows,
    chunk_start,
    frames_for_duration,
    melspectrogram,
    original_frame_count,
)
from avatar_studio.audio.mel import SILENCE_VALUE
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.rates import exact_rate

FIXTURE_RATES = {
    "chunk_starts_fps25": [25, 25.0, Fraction(25)],
    "chunk_starts_fps30": [30, 30.0],
    "chunk_starts_fps29_97": [Fraction(30000, 1001), 30000 / 1001],
}


def original_chunk_starts(n_columns: int, fps: Fraction) -> list[int]:
    """The original inference loop, transcribed (with exact arithmetic for the index multiplier)."""
    starts, i = [], 0
    while True:
        start = math.floor(i * 80 / fps)
        if start + 16 > n_columns:
            starts.append(n_columns - 16)
            return starts
        starts.append(start)
        i += 1


@pytest.mark.parametrize("key", FIXTURE_RATES)
def test_chunk_starts_identical_to_the_fixture(reference_mel: dict[str, np.ndarray], key: str) -> None:
    expected = reference_mel[key].tolist()
    n_columns = reference_mel["mel"].shape[1]
    for fps in FIXTURE_RATES[key]:
        assert original_frame_count(n_columns, fps) == len(expected)
        assert [chunk_start(i, fps, n_columns) for i in range(len(expected))] == expected
        windows = MelWindows(reference_mel["mel"], fps)
        assert len(windows) == len(expected)
        assert windows.starts(0, len(windows)).tolist() == expected


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), 24, 12.5, 50, Fraction(60000, 1001), 7, 1, 0.5, 120, 33.3])
@pytest.mark.parametrize("n_columns", [16, 17, 95, 270, 1001])
def test_frame_count_and_starts_follow_the_original_loop(fps: float | Fraction, n_columns: int) -> None:
    expected = original_chunk_starts(n_columns, exact_rate(fps))
    assert original_frame_count(n_columns, fps) == len(expected)
    windows = MelWindows(np.zeros((80, n_columns), np.float32), fps)
    assert windows.starts(0, len(windows)).tolist() == expected


@pytest.mark.parametrize("bad", [0, -25, 0.0, float("nan"), float("inf"), Fraction(-1, 2)])
def test_bad_fps_is_a_clear_error(bad: float) -> None:
    with pytest.raises(AvatarStudioError, match="rate"):
        MelWindows(np.zeros((80, 40), np.float32), bad)


@pytest.mark.parametrize(
    ("seconds", "fps", "frames"),
    [
        (3.0, 25, 75),
        (3.37, 25, 85),  # 84.25 frames: the last quarter frame still needs a frame
        (0.1 * 3, 30, 9),  # 0.30000000000000004 s: float noise must not add a frame
        (10.0, Fraction(30000, 1001), 300),  # 299.7
        (1001 / 30000 * 7, 30000 / 1001, 7),
        (0.01, 25, 1),
    ],
)
def test_frames_for_duration(seconds: float, fps: float | Fraction, frames: int) -> None:
    assert frames_for_duration(seconds, fps) == frames


@pytest.mark.parametrize("fps", [25, 30, Fraction(30000, 1001), 24, 12.5])
@pytest.mark.parametrize("n_samples", [3200, 53920, 16000 * 7 + 123])
def test_video_is_as_long_as_the_audio_unlike_the_original(fps: float | Fraction, n_samples: int) -> None:
    seconds = Fraction(n_samples, 16000)
    frames = frames_for_duration(float(seconds), fps)
    assert seconds <= frames / exact_rate(fps) < seconds + 1 / exact_rate(fps)
    n_columns = 1 + n_samples // 200
    # The original stops early: its video is shorter than the audio by up to ~0.2 s.
    assert original_frame_count(n_columns, fps) <= frames


def test_windows_are_views_and_batches_are_fresh_model_input(reference_mel: dict[str, np.ndarray]) -> None:
    mel = reference_mel["mel"]
    windows = MelWindows(mel, 25, n_frames=90)  # 9 frames past the original's 81
    assert len(windows) == 90
    first = windows[0]
    assert first.shape == (80, 16) and np.shares_memory(first, mel) and not first.flags.writeable
    np.testing.assert_array_equal(windows[10], mel[:, 32:48])
    for i in range(80, 90):
        np.testing.assert_array_equal(windows[i], mel[:, -16:])
    np.testing.assert_array_equal(windows[-1], windows[89])
    with pytest.raises(IndexError):
        windows[90]
    batch = windows.batch(75, 90)
    assert batch.shape == (15, 1, 80, 16) and batch.dtype == np.float32
    assert batch.flags.c_contiguous and not np.shares_memory(batch, mel)
    np.testing.assert_array_equal(batch[:, 0], np.stack([windows[i] for i in range(75, 90)]))
    assert sum(len(b) for b in windows.batches(16)) == 90
    np.testing.assert_array_equal(np.concatenate(list(windows.batches(16))), windows.batch(0, 90))
    assert list(windows) and len(list(windows)) == 90


def test_fewer_frames_than_the_original_for_previews(reference_mel: dict[str, np.ndarray]) -> None:
    windows = MelWindows(reference_mel["mel"], 25, n_frames=10)
    assert len(windows) == 10 and windows.batch(0, 10).shape[0] == 10


def test_audio_shorter_than_one_window_is_padded_with_silence() -> None:
    """A 0.1 s clip (9 columns) still renders: its window is the clip followed by silence."""
    rng = np.random.default_rng(3)
    track = AudioTrack.from_samples(rng.uniform(-0.3, 0.3, 1600).astype(np.float32))
    assert track.mel.shape == (80, 9)
    windows = track.windows(25)
    assert len(windows) == 3  # 0.1 s * 25 fps = 2.5 -> 3 frames
    window = windows[2]
    np.testing.assert_array_equal(window[:, :9], track.mel)
    assert (window[:, 9:] == SILENCE_VALUE).all()


def test_track_windows_cover_the_whole_audio() -> None:
    track = AudioTrack.from_samples(np.zeros(53920, np.float32))
    assert track.duration_s == 3.37
    assert len(track.windows(25)) == 85
    assert len(track.windows(25, n_frames=12)) == 12
    np.testing.assert_array_equal(track.mel, melspectrogram(np.zeros(53920, np.float32)))


def test_low_level_helpers_reject_impossible_input() -> None:
    with pytest.raises(ValueError):
        chunk_start(0, 25, 15)
    with pytest.raises(ValueError):
        chunk_start(-1, 25, 100)
    with pytest.raises(ValueError):
        frames_for_duration(0.0, 25)
    with pytest.raises(ValueError):
        MelWindows(np.zeros((80, 0), np.float32), 25)
    with pytest.raises(TypeError):
        MelWindows(np.zeros((80, 40), np.float32), 25)[0:3]
