"""The face-enhancer stage in real renders: real avatar with its face mesh, real ONNX Runtime, real
ffmpeg (lossless H.264, so two renders can be compared pixel for pixel), and the command line."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.cli.main import main
from avatar_studio.jobs.model import JobSpec
from avatar_studio.model.backends.onnx_backend import OnnxBackend
from avatar_studio.model.enhancers import FaceEnhancer
from avatar_studio.progress import Progress
from avatar_studio.render.enhance import lipsync_region
from avatar_studio.render.frame_compositor import FrameCompositor
from avatar_studio.render.pipeline import render_video
from avatar_studio.render.schedule import source_frame
from avatar_studio.render.settings import RenderSettings
from render_media import psnr, read_frames, write_beeps
from standin_enhancers import level_of, write_brightening_enhancer, write_codeformer_enhancer, write_identity_enhancer
from standin_models import write_identity_model

pytestmark = pytest.mark.slow

SECONDS = 0.6  # 15 frames: enough to cross the hue clip's 12 frames and come back


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("enhancer_models")
    return {
        "lipsync": write_identity_model(folder / "identity.onnx"),
        "identity": write_identity_enhancer(folder / "restore_identity.onnx"),
        "bright": write_brightening_enhancer(folder / "restore_bright.onnx", delta=0.5, fixed_batch=1),
        "codeformer": write_codeformer_enhancer(folder / "restore_codeformer.onnx"),
    }


@pytest.fixture(scope="module")
def beeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beeps(tmp_path_factory.mktemp("enhancer_audio") / "beeps.wav")


def render(avatar, audio: Path, models: dict[str, Path], out: Path, enhancer: str | None = None,
           progress: list | None = None, **settings) -> np.ndarray:  # fmt: skip
    """Render SECONDS losslessly with the identity lip sync (and `enhancer`); the decoded frames."""
    chosen = RenderSettings(seconds=SECONDS, crf=0, preset="ultrafast", overwrite=True, **settings)
    with OnnxBackend(models["lipsync"], device="cpu", batch_size=8) as backend:
        if enhancer is None:
            render_video(avatar, audio, backend, out, chosen, progress=progress.append if progress is not None else None)
        else:
            with FaceEnhancer(models[enhancer], device="cpu", batch_size=4) as restorer:
                render_video(avatar, audio, backend, out, chosen, enhancer=restorer,
                             progress=progress.append if progress is not None else None)  # fmt: skip
    return read_frames(out, avatar.width, avatar.height)


def test_identity_enhancer_leaves_the_render_as_it_was(render_avatar, beeps, models, tmp_path):
    avatar = render_avatar("hue")
    plain = render(avatar, beeps, models, tmp_path / "plain.mp4")
    reports: list[Progress] = []
    enhanced = render(avatar, beeps, models, tmp_path / "enhanced.mp4", "identity", reports,
                      enhancer_region="face", enhancer_blend=1.0)  # fmt: skip
    assert len(enhanced) == len(plain) == 15
    for i, (a, b) in enumerate(zip(plain, enhanced, strict=True)):
        x1, y1, x2, y2 = avatar.boxes[source_frame(i, avatar.frame_count)]
        assert psnr(a[y1:y2, x1:x2], b[y1:y2, x1:x2]) >= 38, f"frame {i}: the face did not survive the round trip"
    # The enhancer's stage is part of the progress the user sees: every frame counted, with a rate.
    assert reports[-1].done == reports[-1].total == 15 and reports[-1].rate is not None


def test_brightening_enhancer_shows_only_inside_the_lip_sync_region(render_avatar, beeps, models, tmp_path):
    avatar = render_avatar("hue")
    settings = {"enhancer_region": "mouth", "enhancer_blend": 1.0}
    plain = render(avatar, beeps, models, tmp_path / "plain.mp4", **settings)
    bright = render(avatar, beeps, models, tmp_path / "bright.mp4", "bright", **settings)
    compositor = FrameCompositor(RenderSettings(**settings), avatar.boxes, avatar.landmarks())
    for i, (a, b) in enumerate(zip(plain, bright, strict=True)):
        j = source_frame(i, avatar.frame_count)
        limit = lipsync_region(compositor, avatar.boxes[j], j, i)
        rows, cols = limit.weight.shape
        region = np.zeros(a.shape[:2], np.uint8)
        region[limit.y : limit.y + rows, limit.x : limit.x + cols] = limit.weight > 0
        # yuv420p shares colour between 2x2 pixels: allow the mask's edge one pixel of spread.
        region = cv2.dilate(region, np.ones((3, 3), np.uint8)).astype(bool)
        difference = np.abs(b.astype(int) - a.astype(int)).max(axis=2)
        assert difference[~region].max() <= 2, f"frame {i}: pixels outside the lip-sync mask changed"
        core = limit.weight > 0.99
        inside = (b.astype(float) - a.astype(float))[limit.y : limit.y + rows, limit.x : limit.x + cols][core]
        assert inside.mean() > 30, f"frame {i}: the restored face does not show over the mouth"


def test_enhancer_needs_the_face_mesh(render_avatar, beeps, models, tmp_path, monkeypatch):
    from avatar_studio.errors import AvatarStudioError

    avatar = render_avatar("hue")
    monkeypatch.setattr(type(avatar), "landmarks", lambda self: None)  # an avatar prepared before landmarks
    with pytest.raises(AvatarStudioError, match="re-prepare the avatar"):
        render(avatar, beeps, models, tmp_path / "old.mp4", "identity")
    assert not (tmp_path / "old.mp4").exists()


@pytest.fixture
def cli_args(render_avatar, render_library: Path, beeps: Path, models, tmp_path: Path):
    render_avatar("still")
    folder = Path(os.environ["AVATAR_STUDIO_MODELS"])
    folder.mkdir(parents=True, exist_ok=True)
    for key in ("lipsync", "codeformer"):
        shutil.copy(models[key], folder / models[key].name)

    def args(*extra: str) -> list[str]:
        return ["render", "--library", str(render_library), "--avatar", "still", "--audio", str(beeps),
                "-o", str(tmp_path / "video.mp4"), "--model", "identity", "--seconds", "0.2", "--crf", "0",
                "--preset", "ultrafast", *extra]  # fmt: skip

    return args


def test_cli_feeds_codeformer_its_weight_over_the_whole_face(cli_args, render_avatar, tmp_path, capsys):
    argv = cli_args("--enhancer", "restore_codeformer", "--enhancer-weight", "0.9", "--enhancer-region", "face",
                    "--enhancer-blend", "1")  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert "enhancer restore_codeformer.onnx" in capsys.readouterr().out
    avatar = render_avatar("still")
    frame = read_frames(tmp_path / "video.mp4", avatar.width, avatar.height)[0]
    x1, y1, x2, y2 = avatar.boxes[0]
    h, w = y2 - y1, x2 - x1
    centre = frame[y1 + h // 3 : y1 + 2 * h // 3, x1 + w // 3 : x2 - w // 3].astype(float)
    assert abs(centre.mean() - level_of(0.9)) <= 3  # the flat image of value `weight` covers the face


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [("--enhancer-region", "eyes", "mouth, face"), ("--enhancer-blend", "1.5", "Enhancer blend"),
     ("--enhancer-weight", "-1", "Enhancer weight"), ("--enhancer", "nothing", "restore_codeformer.onnx"),
     ("--enhancer", "identity", "is a lip-sync model, not a face enhancer")],  # fmt: skip
)
def test_bad_enhancer_options_get_one_line(cli_args, tmp_path, capsys, option, value, fragment):
    assert main(cli_args("--enhancer", "restore_codeformer", option, value)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / "video.mp4").exists()


def test_job_spec_keeps_the_enhancer_settings():
    spec = JobSpec(avatar="a", audio="b.wav", output="c.mp4", enhancer="gfpgan_1.4.onnx", enhancer_region="face",
                   enhancer_blend=0.3, enhancer_weight=0.7)  # fmt: skip
    again = JobSpec.from_dict(spec.to_dict())
    settings = again.render_settings()
    assert (settings.enhancer, settings.enhancer_region, settings.enhancer_blend, settings.enhancer_weight) == (
        "gfpgan_1.4.onnx", "face", 0.3, 0.7)
    assert JobSpec(avatar="a", audio="b", output="c").render_settings().enhancer is None
