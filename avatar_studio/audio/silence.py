"""Silent stretches of a recording, and how much lip sync each video frame gets because of them.

With `--silence original` a speaker who stops talking should look like the avatar's own footage,
not like a model mouthing room noise. Silence is decided on the recording as a whole, never per
frame: the short-time energy (20 ms windows every 10 ms) is compared with the recording's own
speech level (its 95th percentile, so a quiet and a loud recording are treated alike), and only
a stretch quieter than that level by `SILENCE_BELOW_SPEECH_DB` for at least `MIN_SILENCE_S`
counts - the pauses between words are far shorter. A video frame is silent when the whole audio
window the model would see for it (Wav2Lip's 200 ms from the frame's own time) lies inside a
silent stretch; `lipsync_weights` then fades the model's mouth out and in over a few frames at
each boundary so the mouth never jumps.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from avatar_studio.audio.decode import SAMPLE_RATE
from avatar_studio.audio.mel import MEL_COLUMNS_PER_SECOND
from avatar_studio.audio.windows import WINDOW_COLUMNS

ENERGY_WINDOW_S = 0.02
ENERGY_HOP_S = 0.01
#: The percentile of the window energies taken as the recording's speech level.
SPEECH_PERCENTILE = 95
#: Quieter than the speech level by this much counts as silence.
SILENCE_BELOW_SPEECH_DB = 30.0
#: Shorter quiet stretches are pauses within speech and keep lip sync.
MIN_SILENCE_S = 0.5
#: Frames over which the model's mouth fades out (and back in) at each silence boundary.
FADE_FRAMES = 4
#: The audio one video frame's mouth is drawn from (the model's mel window).
MODEL_WINDOW_S = WINDOW_COLUMNS / MEL_COLUMNS_PER_SECOND
_FLOOR_DB = -120.0


class HopEnergy:
    """Sums of squared samples per `ENERGY_HOP_S` hop, fed chunk by chunk as the decoder streams
    (an hour of audio gives 360 000 numbers, 3 MB, instead of keeping its 230 MB of samples); a
    20 ms window is two neighbouring hops."""

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.hop = round(ENERGY_HOP_S * rate)
        self.sample_count = 0
        self._leftover = np.empty(0, np.float64)
        self._sums: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        joined = np.concatenate([self._leftover, np.asarray(samples, np.float64)])
        whole = joined.size // self.hop * self.hop
        self._sums.append((joined[:whole] ** 2).reshape(-1, self.hop).sum(axis=1))
        self._leftover = joined[whole:]
        self.sample_count += samples.size

    def sums(self) -> np.ndarray:
        return np.concatenate(self._sums) if self._sums else np.empty(0, np.float64)


def silent_stretches(
    samples: np.ndarray, rate: int = SAMPLE_RATE, min_silence_s: float = MIN_SILENCE_S
) -> list[tuple[float, float]]:
    """(start, stop) seconds of every silent stretch at least `min_silence_s` long, in order."""
    energy = HopEnergy(rate)
    energy.feed(samples)
    return silent_stretches_of(energy, rate, min_silence_s)


def silent_stretches_of(
    energy: HopEnergy, rate: int = SAMPLE_RATE, min_silence_s: float = MIN_SILENCE_S
) -> list[tuple[float, float]]:
    """`silent_stretches` of a recording whose hop energies were gathered while it streamed."""
    hop = energy.hop
    window = 2 * hop
    size = energy.sample_count
    if size < window:
        return []
    count = 1 + (size - window) // hop
    sums = energy.sums()
    power = (sums[:count] + sums[1 : count + 1]) / window
    level = 10 * np.log10(np.maximum(power, 10 ** (_FLOOR_DB / 10)))
    speech = float(np.percentile(level, SPEECH_PERCENTILE))
    if speech <= _FLOOR_DB:
        return [(0.0, size / rate)]  # digital silence throughout
    quiet = np.concatenate([[False], level < speech - SILENCE_BELOW_SPEECH_DB, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    stretches = []
    for first, end in zip(edges[::2], edges[1::2], strict=False):
        # Window `first` covers [first*hop, first*hop + window): the stretch spans those samples.
        start_s = 0.0 if first == 0 else (first * hop + window / 2) / rate
        stop_s = size / rate if end == count else ((end - 1) * hop + window / 2) / rate
        if stop_s - start_s >= min_silence_s:
            stretches.append((float(start_s), float(stop_s)))
    return stretches


def silent_frames(stretches: list[tuple[float, float]], n_frames: int, fps: float | Fraction) -> np.ndarray:
    """(n_frames,) bool: frames whose whole model audio window lies inside one silent stretch."""
    starts = np.arange(n_frames) / float(fps)
    silent = np.zeros(n_frames, dtype=bool)
    for start, stop in stretches:
        silent |= (starts >= start) & (starts + MODEL_WINDOW_S <= stop)
    return silent


def lipsync_weights(silent: np.ndarray, fade_frames: int = FADE_FRAMES) -> np.ndarray:
    """(n,) float32 share of the model's mouth per frame: 1 at speech, 0 deep inside a silence.

    A silent frame `d` frames from the nearest speech frame gets 1 - d / (fade_frames + 1): the
    fade lies inside the silence, so every frame with sound keeps its full lip sync.
    """
    silent = np.asarray(silent, dtype=bool)
    n = silent.size
    if not silent.any():
        return np.ones(n, np.float32)
    if silent.all():
        return np.zeros(n, np.float32)
    speech = np.flatnonzero(~silent)
    index = np.arange(n)
    # Distance to the nearest speech frame, from both sides.
    after = np.searchsorted(speech, index)
    before_distance = np.where(after > 0, index - speech[np.maximum(after - 1, 0)], n)
    after_distance = np.where(after < speech.size, speech[np.minimum(after, speech.size - 1)] - index, n)
    distance = np.minimum(before_distance, after_distance)
    return np.clip(1.0 - distance / (fade_frames + 1), 0.0, 1.0).astype(np.float32)
