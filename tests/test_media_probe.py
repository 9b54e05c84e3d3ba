"""probe_media and image_io against the real clips and small synthetic media made with the bundled ffmpeg."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.image_io import exif_rotation, read_image, write_jpeg, write_png
from avatar_studio.media.probe import media_duration, probe_media
from avatar_studio.media.video_reader import open_video
from media_clips import (
    exif_jpeg,
    ffmpeg,
    ffmpeg_header,
    marker_frame,
    pattern_clip,
    raw_clip,
    vfr_clip,
    with_display_rotation,
)


@pytest.mark.parametrize(
    ("name", "size", "duration", "frames", "audio"),
    [
        ("talking_man_25fps_844x844.mp4", (844, 844), 5.0, 125, "aac"),
        ("anime_portrait_25fps_704x1216.mp4", (704, 1216), 10.7, 268, None),
    ],
)
def test_shared_clips(shared_media: Path, name, size, duration, frames, audio) -> None:
    info = probe_media(shared_media / name)
    assert (info.width, info.height) == size
    assert info.fps_fraction == Fraction(25) and info.fps == 25.0
    assert info.duration_s == pytest.approx(duration, abs=0.05)
    assert info.frame_count == frames
    assert info.has_video and info.video_codec == "h264" and info.pixel_format == "yuv420p"
    assert info.has_audio == (audio is not None) and info.audio_codec == audio
    assert info.rotation == 0 and not info.variable_frame_rate and not info.is_still_image


def test_audio_only_file(shared_media: Path) -> None:
    info = probe_media(shared_media / "speech_48k_stereo.wav")
    assert info.has_audio and not info.has_video
    assert info.audio_codec == "pcm_s16le" and info.audio_sample_rate == 48000
    assert info.duration_s == pytest.approx(5.0, abs=0.05)
    assert media_duration(shared_media / "speech_zh_44k_stereo.mp3") == pytest.approx(15.4, abs=0.05)


def test_cover_art_is_not_video(tmp_path: Path) -> None:
    cover = write_png(tmp_path / "cover.png", marker_frame(64, 64))
    song = tmp_path / "voice memo.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", "-i", str(cover), "-map", "0:a", "-map", "1:v",
           "-c:v", "mjpeg", "-disposition:v", "attached_pic", str(song))  # fmt: skip
    assert "attached pic" in ffmpeg_header(song)
    info = probe_media(song)
    assert info.has_audio and not info.has_video and info.audio_codec == "mp3"


def test_ntsc_rate_is_exact(tmp_path: Path) -> None:
    info = probe_media(pattern_clip(tmp_path / "ntsc.mkv", rate="30000/1001", seconds=1.0))
    assert info.fps_fraction == Fraction(30000, 1001)
    assert info.frame_count == 30
    assert not info.variable_frame_rate


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".bmp"])
def test_still_images(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"still{suffix}"
    assert cv2.imwrite(str(path), marker_frame(90, 60))
    info = probe_media(path)
    assert info.is_still_image and info.has_video and not info.has_audio
    assert (info.width, info.height) == (90, 60)
    assert info.frame_count == 1 and info.fps == 0.0 and info.fps_fraction is None


@pytest.mark.parametrize(("orientation", "clockwise"), [(6, 90), (3, 180), (8, 270), (1, 0)])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, clockwise: int) -> None:
    upright = marker_frame(96, 64)
    # The viewer turns the stored picture `clockwise` degrees to show it, so store it turned back.
    stored = np.rot90(upright, clockwise // 90).copy()
    path = exif_jpeg(tmp_path / "phone.jpg", stored, orientation)
    image = read_image(path)
    assert image.shape == upright.shape
    assert np.abs(image.astype(int) - upright).mean() < 3
    assert exif_rotation(path) == clockwise
    info = probe_media(path)
    assert (info.width, info.height, info.rotation) == (96, 64, clockwise)


@pytest.mark.parametrize(("ccw", "clockwise"), [(-90, 90), (90, 270), (180, 180)])
def test_display_rotation_swaps_size(tmp_path: Path, ccw: int, clockwise: int) -> None:
    coded = raw_clip(tmp_path / "coded.mp4", [marker_frame(96, 64)] * 3)
    info = probe_media(with_display_rotation(coded, tmp_path / "phone.mp4", ccw))
    assert info.rotation == clockwise
    expected = (64, 96) if clockwise in (90, 270) else (96, 64)
    assert (info.width, info.height) == expected


def test_variable_frame_rate_is_detected(tmp_path: Path) -> None:
    info = probe_media(vfr_clip(tmp_path / "vfr.mp4"))
    assert info.variable_frame_rate
    assert info.frame_count == 40
    assert info.fps_fraction == Fraction(30)  # the base rate, what the reader normalises to
    assert info.video_duration_s == pytest.approx(1.9 + 1 / 30)  # last frame at 1.9 s, lasting 1/30 s
    assert info.average_fps == pytest.approx(40 / info.video_duration_s)
    assert info.average_fps < 25


def test_clip_cut_between_key_frames_counts_shown_frames(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=128x72:rate=25:duration=3", "-c:v", "libx264",
           "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", str(whole))  # fmt: skip
    cut = tmp_path / "cut.mp4"
    ffmpeg("-ss", "1.3", "-i", str(whole), "-c", "copy", str(cut))  # starts mid-GOP: an edit list
    info = probe_media(cut)
    shown = sum(1 for _ in open_video(cut).frames())
    assert info.frame_count == shown < 75
    assert not info.variable_frame_rate


def test_matroska_remux_of_vfr_is_detected(tmp_path: Path) -> None:
    # The remux prints "20.69 fps, 20.69 tbr": only the packet timestamps give it away.
    mp4 = vfr_clip(tmp_path / "vfr.mp4")
    mkv = tmp_path / "vfr.mkv"
    ffmpeg("-i", str(mp4), "-c", "copy", str(mkv))
    info = probe_media(mkv)
    assert info.variable_frame_rate and info.frame_count == 40


def test_unicode_path_with_spaces(tmp_path: Path) -> None:
    folder = tmp_path / "Präsentation 2024 – 日本"
    folder.mkdir()
    clip = pattern_clip(folder / "clip 'quoted' ü.mp4", seconds=0.4, audio=True)
    info = probe_media(clip)
    assert info.frame_count == 10 and info.has_audio
    image = write_png(folder / "bild ß.png", marker_frame(30, 20))
    assert read_image(image).shape == (20, 30, 3)


def test_image_writers_are_atomic_and_readable(tmp_path: Path) -> None:
    frame = marker_frame(40, 30)
    jpg = write_jpeg(tmp_path / "thumb.jpg", frame, quality=90)
    png = write_png(tmp_path / "thumb.png", frame)
    assert np.array_equal(read_image(png), frame)
    assert np.abs(read_image(jpg).astype(int) - frame).mean() < 4
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def _assert_one_sentence(error: pytest.ExceptionInfo[AvatarStudioError], *words: str) -> None:
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    for word in words:
        assert word in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AvatarStudioError) as error:
        probe_media(tmp_path / "nothing here.mp4")
    _assert_one_sentence(error, "does not exist")


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(AvatarStudioError) as error:
        probe_media(tmp_path)
    _assert_one_sentence(error, "folder")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(AvatarStudioError) as error:
        probe_media(tmp_path / "empty.mp4")
    _assert_one_sentence(error, "empty.mp4", "empty")


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AvatarStudioError) as error:
        probe_media(path)
    _assert_one_sentence(error, "notes.mp4", "not a media file")


def test_file_without_video_or_audio(tmp_path: Path) -> None:
    subtitles = tmp_path / "captions.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n", encoding="utf-8")
    with pytest.raises(AvatarStudioError) as error:
        probe_media(subtitles)
    _assert_one_sentence(error, "captions.srt", "neither video nor audio")


def test_unreadable_image(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(AvatarStudioError) as error:
        read_image(path)
    _assert_one_sentence(error, "broken.png")


def test_copy_of_shared_clip_keeps_facts(shared_media: Path, tmp_path: Path) -> None:
    # The probe reads content, not names: a renamed clip gives the same answer.
    copy = tmp_path / "renamed.mov"
    shutil.copy(shared_media / "talking_man_25fps_844x844.mp4", copy)
    info = probe_media(copy)
    assert (info.width, info.height, info.frame_count) == (844, 844, 125)
