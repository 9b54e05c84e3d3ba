"""One decoded recording with its mel spectrogram and per-frame windows: what the renderer consumes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from avatar_studio.audio.decode import SAMPLE_RATE, decode_audio_repaired
from avatar_studio.audio.mel import melspectrogram
from avatar_studio.audio.windows import MelWindows, frames_for_duration
from avatar_studio.progress import CancelToken


@dataclass(frozen=True, eq=False)
class AudioTrack:
    """16 kHz mono float32 samples; the mel is computed on first use and kept."""

    samples: np.ndarray
    source: Path | None = None
    #: NaN or infinite samples of the source, decoded as silence (the encoder must silence them too).
    invalid_samples: int = 0

    @property
    def duration_s(self) -> float:
        return self.samples.size / SAMPLE_RATE

    @functools.cached_property
    def mel(self) -> np.ndarray:
        """Normalized mel spectrogram (80, T) float32."""
        return melspectrogram(self.samples)

    def frame_count(self, fps: float | Fraction) -> int:
        """Video frames that make the video exactly as long as the audio (within one frame)."""
        return frames_for_duration(self.duration_s, fps)

    def windows(self, fps: float | Fraction, n_frames: int | None = None) -> MelWindows:
        """Per-frame mel windows; by default one per frame of a video as long as the audio."""
        return MelWindows(self.mel, fps, self.frame_count(fps) if n_frames is None else n_frames)


def load_audio(path: Path | str, *, cancel: CancelToken | None = None) -> AudioTrack:
    """Decode `path` (anything ffmpeg reads) into an `AudioTrack`; errors as `decode_audio`."""
    samples, invalid = decode_audio_repaired(path, cancel=cancel)
    return AudioTrack(samples, Path(path), invalid)
