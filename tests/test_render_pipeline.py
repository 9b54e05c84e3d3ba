"""The streaming renderer end to end: real avatars, real ONNX Runtime / PyTorch, real ffmpeg.

Stand-in models with known outputs prove frame order, paste position, colour order and audio
sync; the real Wav2Lip with synthetic weights proves both backends deliver a complete file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.audio import frames_for_duration, load_audio
from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.media.probe import probe_media
from avatar_studio.model.backends.onnx_backend import OnnxBackend
from avatar_studio.progress import CancelToken
from avatar_studio.render.pipeline import render_video
from avatar_studio.render.schedule import source_frame
from avatar_studio.render.settings import RenderSettings
from render_media import BEEP_TRACK_S, expected_loudness, ffmpeg, lag_of_best_match, psnr, read_frames, write_beeps
from standin_models import write_identity_model, write_loudness_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def standins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("standins")
    return {
        "identity": write_identity_model(folder / "identity.onnx"),
        "loudness": write_loudness_model(folder / "loudness.onnx"),
    }


@pytest.fixture(scope="session")
def beeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beeps(tmp_path_factory.mktemp("audio") / "beeps.wav")


def _mouth(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The middle of the lower face, where the blend mask is fully the model's image."""
    x1, y1, x2, y2 = (int(v) for v in box)
    h, w = y2 - y1, x2 - x1
    return frame[y1 + int(0.68 * h) : y1 + int(0.85 * h), x1 + int(0.3 * w) : x2 - int(0.3 * w)]


def test_identity_model_gives_back_the_avatar_frames_in_pingpong_order(
    render_avatar, standins, beeps, tmp_path: Path
) -> None:
    avatar = render_avatar("hue")  # 12 frames whose hue turns 30 degrees per frame
    output = tmp_path / "identity.mp4"
    with OnnxBackend(standins["identity"], batch_size=8) as backend:
        result = render_video(avatar, beeps, backend, output)

    n = frames_for_duration(BEEP_TRACK_S, 25)
    assert result.frame_count == n and result.output == output
    frames = read_frames(output, avatar.width, avatar.height)
    assert len(frames) == n
    stored = [avatar.read_frame(j) for j in range(avatar.frame_count)]
    for i, frame in enumerate(frames):
        j = source_frame(i, avatar.frame_count)
        box = avatar.boxes[j]
        assert psnr(frame, stored[j]) > 32, f"output frame {i} is not avatar frame {j}"
        right = psnr(_mouth(frame, box), _mouth(stored[j], box))
        assert right > 28, f"mouth of output frame {i} does not match avatar frame {j}"
        # Neighbours (what an off-by-one or an unmirrored loop would show) and the RGB order fit worse.
        wrong = {j2 for j2 in (j - 1, j + 1, i % avatar.frame_count) if 0 <= j2 < avatar.frame_count} - {j}
        for j2 in wrong:
            assert psnr(_mouth(frame, box), _mouth(stored[j2], box)) < right - 6, (i, j, j2)
        assert psnr(_mouth(frame, box), _mouth(stored[j], box)[..., ::-1]) < right - 6


@pytest.mark.parametrize(
    ("avatar_name", "fps"), [("hue", 25), ("ntsc", 30000 / 1001), ("still", 25)], ids=["25fps", "29.97fps", "still"]
)
def test_mouth_brightness_follows_the_audio_with_zero_frame_lag(
    render_avatar, standins, beeps, tmp_path: Path, avatar_name: str, fps: float
) -> None:
    avatar = render_avatar(avatar_name)
    output = tmp_path / "loudness.mp4"
    with OnnxBackend(standins["loudness"], batch_size=16) as backend:
        # The box mask covers all of `_mouth`; colour matching would turn the stand-in's grey into skin.
        settings = RenderSettings(preset="ultrafast", mask="box", color_match=False)
        render_video(avatar, beeps, backend, output, settings)

    info = probe_media(output)
    assert info.fps_fraction == avatar.fps_fraction
    frames = read_frames(output, avatar.width, avatar.height)
    assert len(frames) == frames_for_duration(BEEP_TRACK_S, fps)
    measured = np.array([
        _mouth(frame, avatar.boxes[source_frame(i, avatar.frame_count)]).mean() / 255.0
        for i, frame in enumerate(frames)
    ])  # fmt: skip
    expected = expected_loudness(len(frames), fps)
    assert lag_of_best_match(measured, expected) == 0
    assert np.corrcoef(measured, expected)[0, 1] > 0.95
    assert measured[expected < 0.001].max() < 0.1, "silence must paint (nearly) black"
    assert measured[expected > 0.999].min() > 0.6, "a window full of beep must paint bright"


@pytest.mark.parametrize("backend_kind", ["torch", "onnx"])
def test_synthetic_wav2lip_renders_a_complete_video(
    render_avatar, synthetic_model_files, shared_media: Path, tmp_path: Path, backend_kind: str
) -> None:
    from avatar_studio.model.backends.base import BackendSettings
    from avatar_studio.model.backends.factory import open_backend

    avatar = render_avatar("talking")
    speech = tmp_path / "speech.m4a"
    ffmpeg("-i", str(shared_media / "speech_48k_stereo.wav"), "-t", "1.3", "-c:a", "aac", str(speech))
    audio_s = load_audio(speech).duration_s
    output = tmp_path / "synthetic.mp4"
    settings = BackendSettings(synthetic_model_files[backend_kind], backend=backend_kind, device="cpu", batch_size=8)
    # `_mouth` is the box mask's core; colour matching would pull the synthetic noise towards skin.
    render_settings = RenderSettings(preset="ultrafast", mask="box", color_match=False)
    with open_backend(settings) as backend:
        result = render_video(avatar, speech, backend, output, render_settings)

    info = probe_media(output)
    assert (info.width, info.height) == (avatar.width, avatar.height)
    assert info.fps_fraction == 25 and info.video_codec == "h264"
    assert info.has_audio and info.audio_codec == "aac"
    assert info.frame_count == result.frame_count == frames_for_duration(audio_s, 25)
    assert abs(info.duration_s - audio_s) <= 1 / 25 + 0.025  # one frame, plus AAC's frame rounding
    frames = read_frames(output, avatar.width, avatar.height)
    stored = avatar.read_frame(0)
    x1, y1, x2, y2 = avatar.boxes[0]
    assert psnr(frames[0][:y1], stored[:y1]) > 30, "above the face the frame stays the avatar's"
    assert psnr(_mouth(frames[0], avatar.boxes[0]), _mouth(stored, avatar.boxes[0])) < 25, "the mouth is the model's"


def test_preview_renders_only_the_first_seconds_with_audio_cut_to_match(
    render_avatar, standins, shared_media: Path, tmp_path: Path
) -> None:
    avatar = render_avatar("hue")
    output = tmp_path / "preview.mp4"
    with OnnxBackend(standins["identity"]) as backend:
        result = render_video(
            avatar, shared_media / "speech_en_22k_mono.wav", backend, output,
            RenderSettings(seconds=1.0, preset="ultrafast"),
        )  # fmt: skip
    info = probe_media(output)
    assert result.frame_count == info.frame_count == 25
    assert abs(info.duration_s - 1.0) <= 0.05 and info.has_audio


def test_cancel_midway_leaves_the_output_folder_as_it_was(
    render_avatar, standins, shared_media: Path, tmp_path: Path
) -> None:
    avatar = render_avatar("hue")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    cancel = CancelToken()
    seen: list[int] = []

    def on_progress(progress) -> None:
        seen.append(progress.done)
        if progress.done >= 20:
            cancel.cancel()

    with OnnxBackend(standins["identity"], batch_size=4) as backend, pytest.raises(Cancelled):
        render_video(
            avatar, shared_media / "speech_en_22k_mono.wav", backend, folder / "video.mp4",
            progress=on_progress, cancel=cancel,
        )  # fmt: skip
    assert seen and max(seen) < frames_for_duration(10.0, 25)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


class _FailingBackend(OnnxBackend):
    """The real backend, made to fail on its third model call (a device error mid-render)."""

    calls = 0

    def _run_chunk(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("device lost")
        return super()._run_chunk(mel, face)


def test_a_failing_stage_stops_the_render_and_removes_the_partial_file(
    render_avatar, standins, beeps, tmp_path: Path
) -> None:
    avatar = render_avatar("hue")
    with _FailingBackend(standins["identity"], batch_size=4) as backend, pytest.raises(RuntimeError, match="device lost"):
        render_video(avatar, beeps, backend, tmp_path / "video.mp4")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_refused_untouched_unless_overwrite(
    render_avatar, standins, beeps, tmp_path: Path
) -> None:
    avatar = render_avatar("still")
    output = tmp_path / "video.mp4"
    output.write_bytes(b"precious")
    with OnnxBackend(standins["identity"]) as backend:
        with pytest.raises(AvatarStudioError, match="exists"):
            render_video(avatar, beeps, backend, output)
        assert output.read_bytes() == b"precious"
        render_video(avatar, beeps, backend, output, RenderSettings(overwrite=True, preset="ultrafast"))
    assert probe_media(output).frame_count == frames_for_duration(BEEP_TRACK_S, 25)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]


@pytest.mark.parametrize("problem", ["missing", "not audio", "no audio track"])
def test_bad_audio_is_refused_before_anything_is_written(
    render_avatar, standins, tmp_path: Path, problem: str
) -> None:
    avatar = render_avatar("still")
    audio = tmp_path / "voice.wav"
    if problem == "not audio":
        audio.write_text("this is not a recording\n" * 100)
    elif problem == "no audio track":
        audio = tmp_path / "silent.mp4"
        ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:d=1", str(audio))
    before = sorted(p.name for p in tmp_path.iterdir())
    with OnnxBackend(standins["identity"]) as backend, pytest.raises(AvatarStudioError):
        render_video(avatar, audio, backend, tmp_path / "video.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_unwritable_output_folder_is_refused(render_avatar, standins, beeps, tmp_path: Path) -> None:
    avatar = render_avatar("still")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with OnnxBackend(standins["identity"]) as backend, pytest.raises(AvatarStudioError, match="folder"):
        render_video(avatar, beeps, backend, blocker / "video.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
