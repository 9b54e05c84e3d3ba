"""One decoded recording with its mel spectrogram and per-frame windows: what the renderer consumes."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from avatar_studio.audio.decode import SAMPLE_RATE, decode_audio_chunks
from avatar_studio.audio.mel import MelStream, melspectrogram
from avatar_studio.audio.silence import HopEnergy, silent_stretches_of
from avatar_studio.audio.windows import MelWindows, frames_for_duration
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.probe import probe_media
from avatar_studio.progress import CancelToken


@dataclass(frozen=True, eq=False)
class AudioTrack:
    """A recording as the renderer needs it: its mel spectrogram, its short-time energy and its
    length (not its samples, which for an hour would cost 230 MB on top of the mel's 92 MB)."""

    mel: np.ndarray  # normalized mel spectrogram (80, T) float32
    energy: HopEnergy  # short-time energy, for `silent_stretches`
    source: Path | None = None
    #: NaN or infinite samples of the source, decoded as silence (the encoder must silence them too).
    invalid_samples: int = 0

    @classmethod
    def from_samples(cls, samples: np.ndarray, source: Path | None = None) -> AudioTrack:
        """A track of 16 kHz mono samples already in memory."""
        energy = HopEnergy()
        energy.feed(samples)
        return cls(melspectrogram(samples), energy, source)

    @property
    def sample_count(self) -> int:
        return self.energy.sample_count

    def silent_stretches(self) -> list[tuple[float, float]]:
        """(start, stop) seconds of the recording's silences (see `audio.silence`)."""
        return silent_stretches_of(self.energy)

    @property
    def duration_s(self) -> float:
        return self.sample_count / SAMPLE_RATE

    def frame_count(self, fps: float | Fraction) -> int:
        """Video frames that make the video exactly as long as the audio (within one frame)."""
        return frames_for_duration(self.duration_s, fps)

    def windows(self, fps: float | Fraction, n_frames: int | None = None) -> MelWindows:
        """Per-frame mel windows; by default one per frame of a video as long as the audio."""
        return MelWindows(self.mel, fps, self.frame_count(fps) if n_frames is None else n_frames)


def load_audio(path: Path | str, *, cancel: CancelToken | None = None) -> AudioTrack:
    """Decode `path` (anything ffmpeg reads) into an `AudioTrack`, computing the mel while the
    samples stream in; errors as `decode_audio`."""
    mel, energy = MelStream(expected_samples=_expected_samples(Path(path))), HopEnergy()

    def consume(samples: np.ndarray) -> None:
        mel.feed(samples)
        energy.feed(samples)

    _, invalid = decode_audio_chunks(path, consume, cancel=cancel)
    return AudioTrack(mel.finish(), energy, Path(path), invalid)


def _expected_samples(path: Path) -> int:
    """The container's duration in samples (0 when it does not say): the mel's first allocation."""
    try:
        duration_s = probe_media(path).duration_s
    except AvatarStudioError:
        return 0  # decoding reports what is wrong with the file
    return int((duration_s or 0.0) * SAMPLE_RATE)
