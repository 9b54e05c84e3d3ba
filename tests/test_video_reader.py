"""open_video / VideoFrameSource: real decoding through one ffmpeg pipe per pass."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.media import video_reader
from avatar_studio.media.image_io import read_image
from avatar_studio.media.video_reader import open_video
from avatar_studio.progress import CancelToken
from media_clips import ffmpeg, marker_frame, pattern_clip, raw_clip, vfr_clip, with_display_rotation


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen]:
    """Every ffmpeg process the reader starts, to check that each one was reaped."""
    processes: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(args, *rest, **kwargs):
        proc = real_popen(args, *rest, **kwargs)
        if "rawvideo" in args:  # the frame pipes, not the probe's short runs
            processes.append(proc)
        return proc

    monkeypatch.setattr(video_reader.subprocess, "Popen", recording_popen)
    return processes


def _all_reaped(processes: list[subprocess.Popen]) -> bool:
    return bool(processes) and all(p.returncode is not None for p in processes)


def test_reads_every_frame_of_shared_clip(shared_media: Path, started) -> None:
    with open_video(shared_media / "talking_man_25fps_844x844.mp4") as source:
        assert (source.width, source.height, source.fps, source.frame_count) == (844, 844, 25.0, 125)
        count = 0
        for frame in source.frames():
            assert frame.shape == (844, 844, 3) and frame.dtype == np.uint8
            count += 1
        assert frame.flags.writeable  # callers composite into frames in place
    assert count == 125
    assert len(started) == 1 and _all_reaped(started)


def test_downscale_keeps_aspect_and_even_size(shared_media: Path, started) -> None:
    clip = shared_media / "anime_portrait_25fps_704x1216.mp4"
    with open_video(clip, max_height=361) as small, open_video(clip) as full:
        assert (small.width, small.height) == (208, 360)  # 704 * 360 / 1216 = 208.4
        first_small = next(iter(small.frames()))
        first_full = next(iter(full.frames()))
    reference = cv2.resize(first_full, (208, 360), interpolation=cv2.INTER_AREA)
    assert first_small.shape == (360, 208, 3)
    assert np.abs(first_small.astype(int) - reference).mean() < 3
    assert len(started) == 2 and _all_reaped(started)  # left after one frame: killed and reaped


def test_never_upscales(tmp_path: Path) -> None:
    source = open_video(pattern_clip(tmp_path / "small.mp4", seconds=0.2), max_height=1080)
    assert (source.width, source.height) == (160, 96)


@pytest.mark.parametrize(("ccw", "turns_clockwise"), [(-90, 1), (90, 3), (180, 2)])
def test_rotation_metadata_gives_upright_frames(tmp_path: Path, ccw: int, turns_clockwise: int) -> None:
    stored = marker_frame(96, 64)
    coded = raw_clip(tmp_path / "coded.mp4", [stored] * 4)
    phone = with_display_rotation(coded, tmp_path / "phone.mp4", ccw)
    expected = np.rot90(stored, -turns_clockwise)  # what a player shows
    with open_video(phone) as source:
        assert (source.height, source.width) == expected.shape[:2]
        frames = list(source.frames())
    assert len(frames) == 4
    assert np.abs(frames[0].astype(int) - expected).mean() < 4
    # Downscaling applies to the upright picture (ffmpeg rotates before the scale filter).
    with open_video(phone, max_height=expected.shape[0] // 2) as half:
        small = next(iter(half.frames()))
    assert small.shape == (expected.shape[0] // 2, expected.shape[1] // 2, 3)
    reference = cv2.resize(expected, small.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - reference).mean() < 4


def test_variable_frame_rate_becomes_constant(tmp_path: Path) -> None:
    source = open_video(vfr_clip(tmp_path / "vfr.mp4"))
    assert source.source_info.variable_frame_rate
    assert source.fps_fraction == Fraction(30)
    frames = list(source.frames())
    # 30 frames in the first second, then 10 frames each shown for 3/30 s: 58 frames at 30 fps
    # (the last source frame lasts one 1/30 s interval).
    assert len(frames) == source.frame_count == 58
    first_second = frames[:30]
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(first_second))
    later = frames[30:]  # 28 frames: nine source frames three times each, then the last one once
    for i in range(0, 27, 3):
        assert np.array_equal(later[i], later[i + 1]) and np.array_equal(later[i], later[i + 2])
        assert not np.array_equal(later[i], later[i + 3])


@pytest.mark.parametrize(("fps", "expected"), [(Fraction(30000, 1001), 60), (12.5, 25), (50, 100)])
def test_rate_conversion(tmp_path: Path, fps, expected: int) -> None:
    source = open_video(pattern_clip(tmp_path / "clip.mp4", seconds=2.0), fps=fps)
    assert source.frame_count == expected
    assert sum(1 for _ in source.frames()) == expected


def test_still_image_is_one_frame(tmp_path: Path) -> None:
    path = tmp_path / "portrait.png"
    cv2.imwrite(str(path), marker_frame(90, 120))
    source = open_video(path, max_height=60)
    assert (source.width, source.height, source.frame_count, source.fps) == (44, 60, 1, 25.0)
    frames = list(source.frames())
    assert len(frames) == 1
    reference = cv2.resize(read_image(path), (44, 60), interpolation=cv2.INTER_AREA)
    assert np.array_equal(frames[0], reference)
    assert open_video(path, fps=30).fps == 30.0


def test_colour_order_is_bgr(tmp_path: Path) -> None:
    clip = raw_clip(tmp_path / "marker.mp4", [marker_frame(64, 64)] * 2)
    frame = next(iter(open_video(clip).frames()))
    assert frame[4, 4].tolist() == pytest.approx([0, 0, 255], abs=6)  # red block, top-left
    assert frame[-4, 4].tolist() == pytest.approx([255, 0, 0], abs=6)  # blue block, bottom-left


def test_cancel_stops_and_reaps(tmp_path: Path, started) -> None:
    token = CancelToken()
    source = open_video(pattern_clip(tmp_path / "clip.mp4", seconds=2.0))
    seen = 0
    with pytest.raises(Cancelled):
        for _ in source.frames(cancel=token):
            seen += 1
            if seen == 3:
                token.cancel()
    assert seen == 3
    assert _all_reaped(started)


def test_close_kills_a_pass_left_open(tmp_path: Path, started) -> None:
    source = open_video(pattern_clip(tmp_path / "clip.mp4", seconds=2.0))
    frames = source.frames()
    next(frames)
    source.close()
    assert _all_reaped(started)
    frames.close()


def test_close_from_another_thread_ends_the_pass_quietly(tmp_path: Path, started) -> None:
    source = open_video(pattern_clip(tmp_path / "clip.mp4", seconds=2.0))
    seen: list[int] = []
    failures: list[BaseException] = []
    first = threading.Event()

    def consume() -> None:
        try:
            for _ in source.frames():
                seen.append(1)
                first.set()
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    worker = threading.Thread(target=consume)
    worker.start()
    assert first.wait(10)
    source.close()
    worker.join(10)
    assert not worker.is_alive() and failures == []
    assert 0 < len(seen) < 50 and _all_reaped(started)


def test_each_pass_starts_from_the_first_frame(tmp_path: Path) -> None:
    source = open_video(pattern_clip(tmp_path / "clip.mp4", seconds=0.4))
    first = list(source.frames())
    second = list(source.frames())
    assert len(first) == len(second) == 10
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_damaged_file_fails_mid_stream(tmp_path: Path) -> None:
    clip = tmp_path / "noisy.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x72:rate=25:duration=2,noise=alls=60:allf=t",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
           str(clip))  # fmt: skip
    data = clip.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    source = open_video(truncated)  # the header is intact, so probing succeeds
    seen = 0
    with pytest.raises(AvatarStudioError) as error:
        for _ in source.frames():
            seen += 1
    assert 0 < seen < 50
    assert "truncated.mp4" in str(error.value) and "\n" not in str(error.value)


def test_audio_only_is_refused(shared_media: Path) -> None:
    with pytest.raises(AvatarStudioError, match="no picture"):
        open_video(shared_media / "speech_48k_stereo.wav")


@pytest.mark.parametrize("bad", [{"fps": 0}, {"fps": 1000}, {"max_height": 4}])
def test_bad_settings(tmp_path: Path, bad) -> None:
    clip = pattern_clip(tmp_path / "clip.mp4", seconds=0.2)
    with pytest.raises(AvatarStudioError):
        open_video(clip, **bad)
