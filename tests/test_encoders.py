"""Encoder discovery by real one-frame trials, the quality/preset mapping of every encoder present
here, and the refusal of an encoder that cannot start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.choices import ENCODER_PRESETS, VIDEO_ENCODERS
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media import encoders
from avatar_studio.media.probe import probe_media
from avatar_studio.media.video_writer import VideoWriter
from media_clips import ffmpeg_header, marker_frame


@pytest.fixture
def fresh_trials():
    """Trials are cached per process; a test that changes what they see starts and ends clean."""
    encoders.trial.cache_clear()
    encoders.auto_encoder.cache_clear()
    yield
    encoders.trial.cache_clear()
    encoders.auto_encoder.cache_clear()


@pytest.mark.parametrize("name", ["libx264", "libx265"])
def test_software_encoders_pass_a_real_trial(name: str) -> None:
    assert encoders.trial(name) == encoders.EncoderOption(name, True)


def test_a_failing_trial_says_why_and_the_encoder_is_refused(fresh_trials, monkeypatch) -> None:
    """A real trial that fails: VAAPI on a render node that does not exist (the cheap device check
    is told there is one, so ffmpeg really runs and gives its reason)."""
    monkeypatch.setattr(encoders, "render_node_present", lambda: True)
    monkeypatch.setattr(encoders, "VAAPI_DEVICE", "/nonexistent/renderD999")
    option = encoders.trial("h264_vaapi")
    assert not option.usable and "/nonexistent/renderD999" in option.reason  # ffmpeg's own first line
    with pytest.raises(AvatarStudioError) as refused:
        encoders.resolve_encoder("h264_vaapi")
    message = str(refused.value)
    assert "h264_vaapi" in message and "libx264" in message and message.count(".") >= 1
    assert len(message.splitlines()) == 1


def test_a_missing_driver_is_reported_without_a_trial(fresh_trials, monkeypatch) -> None:
    monkeypatch.setattr(encoders, "nvidia_driver_present", lambda: False)
    monkeypatch.setattr(encoders, "render_node_present", lambda: False)
    assert encoders.trial("hevc_nvenc").reason == "no NVIDIA driver found"
    assert encoders.trial("h264_qsv").reason.startswith("no GPU render device")
    assert encoders.resolve_encoder("auto") in ("libx264", "h264_videotoolbox")  # only VideoToolbox is left


def test_every_choice_is_listed_once_with_a_verdict() -> None:
    options = encoders.encoder_options()
    assert [o.name for o in options] == [n for n in VIDEO_ENCODERS if n != "auto"]
    assert all(o.usable or o.reason for o in options)
    assert {"libx264", "libx265"} <= set(encoders.usable_encoders())


def test_auto_takes_a_working_hardware_h264_encoder_else_libx264() -> None:
    chosen = encoders.resolve_encoder("auto")
    usable_hardware = [n for n in encoders.AUTO_CANDIDATES if encoders.trial(n).usable]
    assert chosen == (usable_hardware[0] if usable_hardware else "libx264")


def test_the_scale_maps_to_each_encoders_own_setting() -> None:
    assert encoders.video_args("h264_nvenc", 0, "medium")[:9] == [
        "-c:v", "h264_nvenc", "-preset", "p4", "-rc", "vbr", "-cq", "1", "-b:v"]  # cq 0 would mean "auto"
    assert "-global_quality" in encoders.video_args("hevc_qsv", 20, "slow")
    assert encoders.video_args("h264_amf", 20, "ultrafast")[3:5] == ["speed", "-rc"]
    quality = [encoders.videotoolbox_quality(crf) for crf in range(52)]
    assert quality[0] == 100 and quality[-1] == 1 and quality == sorted(quality, reverse=True)
    for preset in ENCODER_PRESETS:  # every preset has a place in every table
        for name in VIDEO_ENCODERS[1:]:
            assert encoders.video_args(name, 18, preset)[:2] == ["-c:v", name]


def _frames(n: int) -> list[np.ndarray]:
    frames = []
    for i in range(n):
        frame = marker_frame(64, 48)
        frame[:, (i * 5) % 64] = 255
        frames.append(frame)
    return frames


@pytest.mark.parametrize("crf, preset", [(0, "ultrafast"), (18, "veryfast"), (51, "veryslow")])
def test_every_mapping_writes_a_valid_file_with_each_encoder_present(tmp_path: Path, crf: int, preset: str) -> None:
    present = encoders.usable_encoders()
    for name in present:
        out = tmp_path / f"{name}.mp4"
        with VideoWriter(out, 64, 48, 25, crf=crf, preset=preset, encoder=name) as writer:
            for frame in _frames(3):
                writer.write(frame)
        info = probe_media(out)
        assert info.frame_count == 3 and info.pixel_format == "yuv420p", name
        assert info.video_codec == ("hevc" if encoders.is_hevc(name) else "h264"), name
        if encoders.is_hevc(name):
            assert "hvc1" in ffmpeg_header(out)  # what Apple players need
