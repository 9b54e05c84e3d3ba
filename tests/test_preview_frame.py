# ruff: noqa: F811 - pytest fixtures imported from render_media are "redefined" as test arguments
"""One previewed frame is the frame a render with the same settings writes at that time."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.render.preview_frame import render_preview_frame
from avatar_studio.render.request import RenderRequest, run_render_request
from avatar_studio.render.settings import RenderSettings
from render_media import psnr, read_frames, render_avatar, render_library, write_beeps  # noqa: F401 - fixtures
from standin_enhancers import write_brightening_enhancer
from standin_models import write_loudness_model

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(render_avatar, render_library: Path, tmp_path: Path):
    avatar = render_avatar("hue")
    models = tmp_path / "models"
    models.mkdir()
    write_loudness_model(models / "loudness.onnx")
    write_brightening_enhancer(models / "bright.onnx", delta=0.5)
    shutil.copy(models / "loudness.onnx", tmp_path / "loudness.onnx")
    audio = write_beeps(tmp_path / "beeps.wav")
    return avatar, render_library, audio, tmp_path


def request(avatar, audio: Path, out: Path, tmp_path: Path, **settings) -> RenderRequest:
    return RenderRequest(
        avatar=avatar.name, audio=audio, output=out, model=str(tmp_path / "loudness.onnx"), device="cpu",
        settings=RenderSettings(crf=0, preset="ultrafast", seconds=0.6, overwrite=True, **settings),
    )  # fmt: skip


@pytest.mark.parametrize("enhancer", [None, "bright"])
def test_preview_frame_equals_the_rendered_frame_at_the_playhead(setup, monkeypatch, enhancer):
    avatar, library, audio, tmp_path = setup
    monkeypatch.setenv("AVATAR_STUDIO_MODELS", str(tmp_path / "models"))
    chosen = request(avatar, audio, tmp_path / "full.mp4", tmp_path, enhancer=enhancer, enhancer_region="face")
    # 0.34 s = output frame 8: inside the first beep (0.30-0.55 s), so the loudness stand-in paints it bright.
    frame = render_preview_frame(chosen, library, position_s=0.34)
    assert (frame.output_index, frame.source_index) == (8, 8)
    np.testing.assert_array_equal(frame.original, avatar.read_frame(8))
    assert ("enhancer bright.onnx" in frame.description) == (enhancer is not None)
    assert not (tmp_path / "full.mp4").exists()  # a preview writes nothing

    run_render_request(chosen, library)
    rendered = read_frames(tmp_path / "full.mp4", avatar.width, avatar.height)[8]
    x1, y1, x2, y2 = avatar.boxes[8]
    assert psnr(frame.rendered[y1:y2, x1:x2], rendered[y1:y2, x1:x2]) > 35  # yuv420p costs the render a little
    rows, cols = frame.mask.weight.shape
    assert (frame.mask.x, frame.mask.y, rows, cols) == (x1, y1, y2 - y1, x2 - x1)  # the mask covers the face box
    change = np.abs(frame.rendered.astype(float) - frame.original.astype(float)).mean(axis=2)[y1:y2, x1:x2]
    assert change[frame.mask.weight > 0.99].mean() > 5  # the model's mouth really shows inside the mask
    if enhancer is None:  # (the face-region enhancer also restores pixels outside the lip-sync mask)
        assert change[frame.mask.weight == 0].max() == 0  # nothing outside the mask changed


def test_preview_frame_refuses_bad_settings_before_loading_anything(setup):
    avatar, library, audio, tmp_path = setup
    with pytest.raises(AvatarStudioError, match="Enhancer blend"):
        render_preview_frame(request(avatar, audio, tmp_path / "x.mp4", tmp_path, enhancer_blend=2.0), library, 0.0)
