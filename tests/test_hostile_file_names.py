"""File names that look like ffmpeg protocols or options reach ffmpeg only as the file they name.

Each name is a real file in the current folder next to a decoy that the protocol would read
instead (`concat:voice.wav` -> `voice.wav`, `file:voice.wav` -> `voice.wav`); the decoy has a
different length, so reading the wrong file shows in the result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.audio.decode import SAMPLE_RATE, decode_audio
from avatar_studio.media.probe import probe_media
from avatar_studio.media.video_reader import VideoFrameSource
from avatar_studio.media.video_writer import VideoWriter
from media_clips import pattern_clip
from render_media import write_wav

NAMED_S = 0.5
DECOY_S = 1.5
HOSTILE_PREFIXES = ("concat:", "file:", "pipe:", "http:", "-")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return 0.3 * np.sin(2 * np.pi * 440.0 * t)


@pytest.mark.parametrize("prefix", HOSTILE_PREFIXES)
def test_audio_named_like_a_protocol_is_decoded_from_that_file(in_tmp: Path, prefix: str) -> None:
    write_wav(in_tmp / "voice.wav", _tone(DECOY_S))
    write_wav(in_tmp / f"{prefix}voice.wav", _tone(NAMED_S))
    samples = decode_audio(Path(f"{prefix}voice.wav"))
    assert samples.size == pytest.approx(NAMED_S * SAMPLE_RATE, abs=200)
    assert probe_media(Path(f"{prefix}voice.wav")).duration_s == pytest.approx(NAMED_S, abs=0.05)


@pytest.mark.parametrize("prefix", HOSTILE_PREFIXES)
def test_output_named_like_a_protocol_is_written_under_that_name(in_tmp: Path, prefix: str) -> None:
    write_wav(in_tmp / f"{prefix}voice.wav", _tone(NAMED_S))
    output = Path(f"{prefix}video.mp4")
    with VideoWriter(output, 32, 32, 25, audio=Path(f"{prefix}voice.wav"), preset="ultrafast") as writer:
        for _ in range(5):
            writer.write(np.full((32, 32, 3), 100, np.uint8))
    info = probe_media(in_tmp / output)
    assert info.frame_count == 5 and info.has_audio
    assert sorted(p.name for p in in_tmp.iterdir()) == sorted([output.name, f"{prefix}voice.wav"])


def test_video_source_named_like_a_protocol_is_read_from_that_file(in_tmp: Path) -> None:
    pattern_clip(in_tmp / "clip.mp4", size="64x48", seconds=1.0)
    pattern_clip(in_tmp / "concat:clip.mp4", size="32x24", seconds=0.2)
    source = VideoFrameSource(probe_media(Path("concat:clip.mp4")))
    frames = list(source.frames())
    assert (source.width, source.height) == (32, 24)
    assert len(frames) == 5
