"""Every ffmpeg process starts through media.ffmpeg, which logs its argument list at debug level."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import pytest

from avatar_studio.audio import decode_audio
from avatar_studio.media.probe import probe_media
from media_clips import sine_wav


def _command_lines(caplog: pytest.LogCaptureFixture) -> list[list[str]]:
    prefix = "ffmpeg command line: "
    return [
        shlex.split(record.getMessage()[len(prefix):])
        for record in caplog.records
        if record.name == "avatar_studio.media.ffmpeg" and record.getMessage().startswith(prefix)
    ]


def test_probe_and_decode_log_each_command_as_an_argument_list(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = sine_wav(tmp_path / "voice with spaces.wav", seconds=1.0)
    with caplog.at_level(logging.DEBUG, logger="avatar_studio.media.ffmpeg"):
        probe_media(source)
        samples = decode_audio(source)
    assert samples.size > 0
    commands = _command_lines(caplog)
    assert len(commands) >= 2
    # Quoted for a shell only in the log: the name with spaces comes back as one argument.
    assert all(str(source) in command for command in commands)
    assert any("pcm_f32le" in command for command in commands)  # the decoder's command


def test_nothing_is_logged_above_debug(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = sine_wav(tmp_path / "voice.wav", seconds=1.0)
    with caplog.at_level(logging.INFO, logger="avatar_studio.media.ffmpeg"):
        decode_audio(source)
    assert _command_lines(caplog) == []
