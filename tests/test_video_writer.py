"""VideoWriter: real libx264/AAC encodes read back with the probe and the reader."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.probe import probe_media
from avatar_studio.media.video_reader import open_video
from avatar_studio.media.video_writer import VideoWriter
from media_clips import ffmpeg_header, marker_frame, sine_wav

W, H = 64, 48


def _frames(n: int, width: int = W, height: int = H):
    """Distinct frames (a moving bar over the marker) so the encoder cannot collapse them."""
    base = marker_frame(width, height)
    for i in range(n):
        frame = base.copy()
        frame[:, (i * 3) % width] = 255
        yield frame


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sine_wav(tmp_path_factory.mktemp("audio") / "tone 1.3s.wav", 1.3)


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30000, 1001)])
def test_frames_and_audio_round_trip(tmp_path: Path, speech: Path, fps: Fraction) -> None:
    audio_s = probe_media(speech).duration_s
    n = math.ceil(audio_s * fps)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, W, H, fps, audio=speech, preset="ultrafast") as writer:
        for frame in _frames(n):
            writer.write(frame)
    info = probe_media(out)
    assert info.fps_fraction == fps
    assert info.frame_count == n
    assert abs(info.duration_s - audio_s) <= 1 / float(fps) + 0.03  # AAC frames are 23 ms
    assert info.has_audio and info.audio_codec == "aac"
    assert info.video_codec == "h264" and info.pixel_format == "yuv420p"
    assert "yuv420p(tv, smpte170m/bt709/bt709" in ffmpeg_header(out)  # what OpenCV's I420 conversion is
    assert _leftovers(tmp_path) == []
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600


def test_audio_is_not_cut_when_video_is_shorter(tmp_path: Path, speech: Path) -> None:
    out = tmp_path / "short video.mp4"
    with VideoWriter(out, W, H, 25, audio=speech, preset="ultrafast") as writer:
        for frame in _frames(5):  # 0.2 s of video against 1.3 s of audio: no -shortest
            writer.write(frame)
    assert probe_media(out).duration_s == pytest.approx(1.3, abs=0.05)


def test_preview_cuts_the_audio(tmp_path: Path, speech: Path) -> None:
    out = tmp_path / "preview.mp4"
    with VideoWriter(out, W, H, 25, audio=speech, preset="ultrafast", audio_duration_s=0.5) as writer:
        for frame in _frames(13):
            writer.write(frame)
    assert probe_media(out).duration_s == pytest.approx(0.52, abs=0.04)


def test_colours_survive(tmp_path: Path) -> None:
    out = tmp_path / "colours.mp4"
    blue = np.zeros((H, W, 3), np.uint8)
    blue[..., 0] = 255
    grey = np.full((H, W, 3), 128, np.uint8)
    with VideoWriter(out, W, H, 25) as writer:
        writer.write(blue)
        writer.write(grey)
        writer.write(marker_frame(W, H))
    decoded = list(open_video(out).frames())
    assert np.abs(decoded[0].reshape(-1, 3).mean(0) - (255, 0, 0)).max() < 4  # blue stays blue
    assert np.abs(decoded[1].reshape(-1, 3).mean(0) - 128).max() < 2
    marker = decoded[2]
    assert marker[3, 3].tolist() == pytest.approx([0, 0, 255], abs=8)  # red block top-left
    assert marker[-3, 3].tolist() == pytest.approx([255, 0, 0], abs=8)  # blue block bottom-left


def test_real_footage_colours_round_trip_without_bias(tmp_path: Path, shared_media: Path) -> None:
    """yuv420p is made here (BT.601, tagged so) and decoded by ffmpeg from the tags: a frame of
    real footage must come back with no colour shift, as close as 4:2:0 at CRF 18 allows."""
    frame = next(iter(open_video(shared_media / "talking_man_25fps_844x844.mp4", max_height=240).frames()))
    out = tmp_path / "real.mp4"
    with VideoWriter(out, frame.shape[1], frame.shape[0], 25) as writer:
        writer.write(frame)
    error = next(iter(open_video(out).frames())).astype(int) - frame
    # Measured: 2.09 (ffmpeg converting bgr24 itself: 2.05); tagged BT.709 instead: 2.6.
    assert np.abs(error).mean() < 2.3
    assert np.abs(error.reshape(-1, 3).mean(0)).max() < 0.2  # no channel drifts (measured 0.08)


def test_lossless_bgr_storage_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(3)]
    out = tmp_path / "store.mkv"
    with VideoWriter(out, W, H, 25, crf=0, preset="ultrafast", pix_fmt="bgr24") as writer:
        for frame in frames:
            writer.write(frame)
    decoded = list(open_video(out).frames())
    assert all(np.array_equal(a, b) for a, b in zip(frames, decoded, strict=True)) and len(decoded) == 3


def test_odd_size_is_padded_with_edge_pixels(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    frame = marker_frame(63, 47)
    frame[:, -1] = (0, 200, 0)  # a green last column, repeated into the padding
    with VideoWriter(out, 63, 47, 25) as writer:
        assert writer.encoded_size == (64, 48)
        writer.write(frame)
    decoded = next(iter(open_video(out).frames()))
    assert decoded.shape == (48, 64, 3)
    assert np.abs(decoded[:47, -1].astype(int) - (0, 200, 0)).mean() < 8
    # Saturated blocks with hard edges against grey: 4:2:0 chroma costs ~3 levels on average here.
    assert np.abs(decoded[:47, :63].astype(int) - frame).mean() < 3.5


def test_existing_file_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "keep me.mp4"
    out.write_bytes(b"user data")
    with pytest.raises(AvatarStudioError, match="exists; pass --overwrite or choose another name"):
        VideoWriter(out, W, H, 25)
    assert out.read_bytes() == b"user data"
    assert _leftovers(tmp_path) == []


def test_overwrite_replaces_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "again.mp4"
    out.write_bytes(b"old render")
    writer = VideoWriter(out, W, H, 25, overwrite=True)
    writer.write(next(_frames(1)))
    assert out.read_bytes() == b"old render"  # still the old file while encoding
    writer.close()
    assert probe_media(out).frame_count == 1


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "aborted.mp4", W, H, 25)
    for frame in _frames(5):
        writer.write(frame)
    assert writer.temp_path.exists()
    writer.abort()
    assert _leftovers(tmp_path) == [] and not (tmp_path / "aborted.mp4").exists()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_in_block_leaves_nothing(tmp_path: Path, error: type[BaseException]) -> None:
    out = tmp_path / "failed.mp4"
    with pytest.raises(error):
        with VideoWriter(out, W, H, 25) as writer:
            for frame in _frames(3):
                writer.write(frame)
            raise error()
    assert not out.exists() and _leftovers(tmp_path) == []
    assert writer._proc.returncode is not None  # ffmpeg was reaped


def test_forgotten_writer_cleans_up(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "forgotten.mp4", W, H, 25)
    writer.write(next(_frames(1)))
    proc = writer._proc
    del writer  # never closed nor aborted: the finalizer stops ffmpeg and removes the temp file
    assert proc.returncode is not None
    assert _leftovers(tmp_path) == [] and not (tmp_path / "forgotten.mp4").exists()


def test_unwritable_folder(tmp_path: Path) -> None:
    regular_file = tmp_path / "not a folder"
    regular_file.write_text("x")
    with pytest.raises(AvatarStudioError, match="choose a writable folder"):
        VideoWriter(regular_file / "out.mp4", W, H, 25)
    with pytest.raises(AvatarStudioError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", W, H, 25)


def test_ffmpeg_dying_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "crash.mp4"
    writer = VideoWriter(out, W, H, 25)
    writer._proc.kill()  # stands in for ffmpeg crashing or the disk filling up mid-render
    writer._proc.wait()
    with pytest.raises(AvatarStudioError, match="Encoding 'crash.mp4' failed"):
        for frame in _frames(200):  # a pipe buffers some frames before the break shows
            writer.write(frame)
    assert not out.exists() and _leftovers(tmp_path) == []


def test_wrong_frames_are_rejected(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "shape.mp4", W, H, 25) as writer:
        with pytest.raises(ValueError, match=r"\(48, 64, 3\) uint8"):
            writer.write(np.zeros((H, W + 2, 3), np.uint8))
        with pytest.raises(ValueError):
            writer.write(np.zeros((H, W, 3), np.float32))
        writer.write(next(_frames(1)))
    assert probe_media(tmp_path / "shape.mp4").frame_count == 1


def test_no_frames_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(AvatarStudioError, match="No frames"):
        with VideoWriter(tmp_path / "empty.mp4", W, H, 25):
            pass
    assert not (tmp_path / "empty.mp4").exists() and _leftovers(tmp_path) == []


def test_audio_file_without_sound_is_refused(tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    with VideoWriter(silent, W, H, 25) as writer:
        writer.write(next(_frames(1)))
    with pytest.raises(AvatarStudioError, match="no audio track"):
        VideoWriter(tmp_path / "out.mp4", W, H, 25, audio=silent)
    assert not (tmp_path / "out.mp4").exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("bad", [{"crf": 60}, {"preset": "warp"}, {"fps": 0}])
def test_bad_encoder_settings(tmp_path: Path, bad) -> None:
    settings = {"fps": 25, **bad}
    with pytest.raises(AvatarStudioError):
        VideoWriter(tmp_path / "out.mp4", W, H, settings.pop("fps"), **settings)
    assert not (tmp_path / "out.mp4").exists() and _leftovers(tmp_path) == []
