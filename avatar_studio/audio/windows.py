"""Which 16 mel columns drive each video frame, without copying the spectrogram per frame.

The original picks, for frame i, the columns starting at `int(i * 80 / fps)` and stops producing
windows once a window would run past the end (the last one takes the final 16 columns). That rule
is kept exactly (`chunk_start`, `original_frame_count`) so public checkpoints see what they were
trained on. What is not kept: its frame count, which ends the video up to ~0.2 s before the audio
does. `frames_for_duration` gives the count that makes the video as long as the audio; the extra
frames reuse the final window.

fps is handled as an exact fraction: a float is read as the nearest fraction with a denominator
up to 1 000 000, so 29.97002997 is 30000/1001 and no float rounding moves a window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np

from avatar_studio.audio.mel import MEL_COLUMNS_PER_SECOND, N_MELS, SILENCE_VALUE
from avatar_studio.media.rates import exact_rate

WINDOW_COLUMNS = 16
"""Mel columns per window (200 ms of audio)."""

_DURATION_TOLERANCE_FRAMES = 1e-6


def chunk_start(i: int, fps: float | Fraction, n_columns: int) -> int:
    """First mel column of frame `i`'s window: `int(i * 80 / fps)`, never past the final window."""
    _require_window(n_columns)
    return min(_raw_start(i, exact_rate(fps)), n_columns - WINDOW_COLUMNS)


def original_frame_count(n_columns: int, fps: float | Fraction) -> int:
    """How many frames (windows) the original Wav2Lip produces for a mel of `n_columns` columns.

    It takes frames while `int(i*80/fps) + 16 <= n_columns`, then one more (the final window):
    i.e. every i < (n_columns - 15) * fps / 80, plus one.
    """
    if n_columns < 1:
        raise ValueError("a mel spectrogram has at least one column")
    rate = exact_rate(fps)
    full_windows = max(0, math.ceil((n_columns - WINDOW_COLUMNS + 1) * rate / MEL_COLUMNS_PER_SECOND))
    return full_windows + 1


def frames_for_duration(seconds: float, fps: float | Fraction) -> int:
    """Video frames needed to cover `seconds` of audio (at least one): ceil(seconds * fps).

    A product that lands within a millionth of a frame of a whole number counts as that number,
    so 3.0 s at 25 fps is 75 frames even when float noise says 75.0000000001.
    """
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"audio duration must be positive, got {seconds!r}")
    frames = seconds * exact_rate(fps)
    nearest = round(frames)
    if abs(frames - nearest) <= _DURATION_TOLERANCE_FRAMES:
        return max(1, nearest)
    return max(1, math.ceil(frames))


class MelWindows(Sequence[np.ndarray]):
    """The per-frame (80, 16) mel windows of one recording, computed on demand.

    `len()` is the number of video frames (default: the original's count); frames past the
    original's last window take the final 16 columns. Audio shorter than one window (< 0.2 s) is
    padded at its end with the value of silence, since silence is what follows the recording.
    """

    def __init__(self, mel: np.ndarray, fps: float | Fraction, n_frames: int | None = None) -> None:
        if mel.ndim != 2 or mel.shape[0] != N_MELS or mel.shape[1] == 0:
            raise ValueError(f"expected a mel spectrogram of shape (80, T>0), got {mel.shape}")
        self.fps = exact_rate(fps)
        self.mel = _pad_to_one_window(mel).view()
        self.mel.flags.writeable = False  # windows are views: nobody may edit the shared spectrogram
        self.n_columns = self.mel.shape[1]
        if n_frames is None:
            n_frames = original_frame_count(self.n_columns, self.fps)
        if n_frames < 0:
            raise ValueError(f"n_frames must not be negative, got {n_frames}")
        self.n_frames = int(n_frames)

    def __len__(self) -> int:
        return self.n_frames

    def __getitem__(self, i: int) -> np.ndarray:  # type: ignore[override]
        """The (80, 16) window of frame `i`: a read-only view into the spectrogram, no copy."""
        if not isinstance(i, (int, np.integer)):
            raise TypeError("MelWindows takes one integer frame index; use batch(start, stop) for ranges")
        if i < 0:
            i += self.n_frames
        if not 0 <= i < self.n_frames:
            raise IndexError(f"frame {i} is outside 0..{self.n_frames - 1}")
        start = self.start(int(i))
        return self.mel[:, start : start + WINDOW_COLUMNS]

    def start(self, i: int) -> int:
        """First mel column of frame `i`'s window."""
        return min(_raw_start(i, self.fps), self.n_columns - WINDOW_COLUMNS)

    def starts(self, start: int, stop: int) -> np.ndarray:
        """First columns of frames `start..stop-1` (int64), computed with exact integer arithmetic."""
        frames = np.arange(start, stop, dtype=np.int64)
        raw = (frames * (MEL_COLUMNS_PER_SECOND * self.fps.denominator)) // self.fps.numerator
        return np.minimum(raw, self.n_columns - WINDOW_COLUMNS)

    def batch(self, start: int, stop: int) -> np.ndarray:
        """Windows of frames `start..stop-1` as a fresh contiguous float32 array (n, 1, 80, 16) for a model."""
        if not 0 <= start <= stop <= self.n_frames:
            raise IndexError(f"batch {start}:{stop} is outside 0..{self.n_frames}")
        columns = self.starts(start, stop)[:, None] + np.arange(WINDOW_COLUMNS)
        windows = self.mel[:, columns]  # (80, n, 16), a copy
        return np.ascontiguousarray(windows.transpose(1, 0, 2)[:, None], dtype=np.float32)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """All windows in order, `batch_size` frames at a time (the last batch may be shorter)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        for first in range(0, self.n_frames, batch_size):
            yield self.batch(first, min(first + batch_size, self.n_frames))


def _raw_start(i: int, fps: Fraction) -> int:
    if i < 0:
        raise ValueError(f"frame index must not be negative, got {i}")
    return (i * MEL_COLUMNS_PER_SECOND * fps.denominator) // fps.numerator


def _require_window(n_columns: int) -> None:
    if n_columns < WINDOW_COLUMNS:
        raise ValueError(f"a mel of {n_columns} columns is shorter than one {WINDOW_COLUMNS}-column window")


def _pad_to_one_window(mel: np.ndarray) -> np.ndarray:
    """`mel` itself, or for audio under 0.2 s a copy padded with silence columns up to one window."""
    missing = WINDOW_COLUMNS - mel.shape[1]
    if missing <= 0:
        return mel
    return np.pad(mel, ((0, 0), (0, missing)), constant_values=SILENCE_VALUE)
