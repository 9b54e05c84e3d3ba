"""Media the render tests make for themselves: short clips, beep tracks, decoded outputs.

Avatars are prepared once per test session (mediapipe detection is the slow part) into one
library shared by every render test module: import the fixtures `render_library`, `render_avatar`
and `synthetic_model_files` from here.
"""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.media.ffmpeg import base_args
from media_clips import ffmpeg  # the tests' shared ffmpeg runner (fails with ffmpeg's own message)

AUDIO_RATE = 16_000
BEEP_HZ = 1000.0
#: Beeps at irregular times (seconds) so the loudness curve correlates with itself only at lag 0.
BEEPS: tuple[tuple[float, float], ...] = ((0.30, 0.55), (0.90, 1.00), (1.40, 1.90), (2.20, 2.30))
BEEP_TRACK_S = 2.6

def make_clip(source: Path, dest: Path, *, seconds: float, fps: str = "25", height: int = 256,
              hue_step_degrees: float = 0.0) -> Path:  # fmt: skip
    """A short, small silent clip of `source`; `hue_step_degrees` rotates the hue frame by frame so
    neighbouring frames differ strongly in colour (frame order and BGR/RGB mix-ups become visible)."""
    filters = [f"fps={fps}", f"scale=-2:{height}"]
    if hue_step_degrees:
        filters.append(f"hue=h=n*{hue_step_degrees}:s=2")
    ffmpeg("-i", str(source), "-t", f"{seconds}", "-an", "-vf", ",".join(filters),
           "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", str(dest))  # fmt: skip
    return dest


def make_still(source: Path, dest: Path, *, height: int = 256) -> Path:
    ffmpeg("-ss", "1", "-i", str(source), "-frames:v", "1", "-vf", f"scale=-2:{height}", str(dest))
    return dest


def write_wav(path: Path, samples: np.ndarray, rate: int = AUDIO_RATE) -> Path:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


def write_beeps(path: Path, beeps: Sequence[tuple[float, float]] = BEEPS, seconds: float = BEEP_TRACK_S) -> Path:
    """A mono WAV of 1 kHz beeps at `beeps` (start, stop) seconds and digital silence between."""
    t = np.arange(int(round(seconds * AUDIO_RATE))) / AUDIO_RATE
    on = np.zeros_like(t, dtype=bool)
    for start, stop in beeps:
        on |= (t >= start) & (t < stop)
    return write_wav(path, np.where(on, 0.5 * np.sin(2 * np.pi * BEEP_HZ * t), 0.0))


def expected_loudness(n_frames: int, fps: float, beeps: Sequence[tuple[float, float]] = BEEPS) -> np.ndarray:
    """Per output frame, the share of its 200 ms mel window (starting at the frame's own
    timestamp, as Wav2Lip windows audio) that is beep - worked out from the beep times alone."""
    starts = np.arange(n_frames) / fps
    share = np.zeros(n_frames)
    for start, stop in beeps:
        share += np.clip(np.minimum(starts + 0.2, stop) - np.maximum(starts, start), 0.0, None)
    return share / 0.2


def read_frames(path: Path, width: int, height: int) -> np.ndarray:
    """Every frame of a video as (N, height, width, 3) uint8 BGR, decoded by the bundled ffmpeg."""
    raw = subprocess.run(
        [*base_args(), "-i", str(path), "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def lag_of_best_match(measured: np.ndarray, expected: np.ndarray, max_lag: int = 4) -> int:
    """The shift (in frames) at which `measured` correlates best with `expected`; 0 = in sync."""
    m = (measured - measured.mean()) / (measured.std() + 1e-9)
    e = (expected - expected.mean()) / (expected.std() + 1e-9)
    n = len(m)
    scores = {
        lag: float(np.mean(m[max(0, lag) : n + min(0, lag)] * e[max(0, -lag) : n - max(0, lag)]))
        for lag in range(-max_lag, max_lag + 1)
    }
    return max(scores, key=scores.get)


AVATAR_SOURCES = {
    # 12 frames whose hue turns 30 degrees per frame: neighbours differ plainly in colour.
    "hue": lambda media, out: make_clip(media / TALKING, out / "hue.mp4", seconds=0.48, hue_step_degrees=30),
    "ntsc": lambda media, out: make_clip(media / TALKING, out / "ntsc.mp4", seconds=1.0, fps="30000/1001"),
    "still": lambda media, out: make_still(media / TALKING, out / "still.png"),
    "talking": lambda media, out: media / TALKING,
    "anime": lambda media, out: media / ANIME,
}
TALKING = "talking_man_25fps_844x844.mp4"
ANIME = "anime_portrait_25fps_704x1216.mp4"
PREPARE_HEIGHT = 256

_session: dict[str, Path] = {}


@pytest.fixture(scope="session")
def render_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One library of test avatars for the whole session (import this fixture with `render_avatar`)."""
    if "library" not in _session:
        _session["library"] = tmp_path_factory.mktemp("render_library")
    return _session["library"]


@pytest.fixture(scope="session")
def render_avatar(render_library: Path, shared_media: Path, tmp_path_factory: pytest.TempPathFactory):
    """`render_avatar(name)`: a prepared test avatar ("hue", "ntsc", "still", "talking", "anime", see
    AVATAR_SOURCES), prepared at 256 lines on first use; later uses, from any module, reuse it."""
    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.avatars.prepare import PrepareSettings

    library = AvatarLibrary(render_library)

    def get(name: str):
        if library.find(name) is None:
            source = AVATAR_SOURCES[name](shared_media, tmp_path_factory.mktemp(f"clip_{name}"))
            library.prepare(source, name, PrepareSettings(max_height=PREPARE_HEIGHT))
        return library.get(name)

    return get


@pytest.fixture(scope="session")
def synthetic_model_files(synthetic_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real Wav2Lip with synthetic weights, as a checkpoint ("torch") and an ONNX export ("onnx")."""
    if "onnx" not in _session:
        from avatar_studio.model.export import export_onnx

        _session["onnx"] = export_onnx(synthetic_checkpoint, tmp_path_factory.mktemp("onnx") / "wav2lip_synthetic.onnx").path
    return {"torch": synthetic_checkpoint, "onnx": _session["onnx"]}
