"""Face-mesh masks and colour matching: what changes in a frame, and only there.

Compositor-level checks are exact (before the encoder) on every frame of both shared clips;
end-to-end renders with the identity and tint stand-ins go through the real pipeline and a
lossless encode, compared with the avatar's own frames encoded the same way.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.faces.landmarks import INNER_LIP_LOWER, INNER_LIP_UPPER, OUTER_LIPS
from avatar_studio.media.video_writer import VideoWriter
from avatar_studio.model.backends.onnx_backend import OnnxBackend
from avatar_studio.render.color_match import match_colors
from avatar_studio.render.frame_compositor import FrameCompositor
from avatar_studio.render.masks import box_weights
from avatar_studio.render.pipeline import render_video
from avatar_studio.render.schedule import source_frame
from avatar_studio.render.settings import RenderSettings
from render_media import psnr, read_frames, write_wav
from standin_models import TINT_LEVELS, write_identity_model, write_tint_model

pytestmark = pytest.mark.slow

#: Pixels next to the mask whose colour a 4:2:0 encode mixes with the mask's (chroma is shared
#: by 2x2 blocks and interpolated): the exactness check after the encoder starts beyond them.
CHROMA_REACH_PX = 4


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mask_models")
    return {"identity": write_identity_model(folder / "identity.onnx"), "tint": write_tint_model(folder / "tint.onnx")}


@pytest.fixture(scope="session")
def speech_second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of a tone: the stand-ins ignore the sound, the renderer needs some."""
    t = np.arange(16_000) / 16_000
    return write_wav(tmp_path_factory.mktemp("mask_audio") / "tone.wav", 0.3 * np.sin(2 * np.pi * 220 * t))


def polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def eye_mask(shape: tuple[int, int], local: np.ndarray) -> np.ndarray:
    """Both eyes: ellipses through each eye's corners, 0.6 of the eye's width tall (the opening is
    under half of it)."""
    mask = np.zeros(shape, np.uint8)
    for a, b in ((33, 133), (362, 263)):
        centre = (local[a] + local[b]) / 2
        width = float(np.linalg.norm(local[b] - local[a]))
        angle = float(np.degrees(np.arctan2(local[b, 1] - local[a, 1], local[b, 0] - local[a, 0])))
        cv2.ellipse(mask, ((float(centre[0]), float(centre[1])), (width, 0.6 * width), angle), 1, -1)
    return mask.astype(bool)


@pytest.mark.parametrize("avatar_name", ["talking", "anime"])
@pytest.mark.parametrize("kind", ["lower-face", "mouth"])
def test_mask_covers_the_lips_never_the_eyes_and_has_no_box_edge(render_avatar, avatar_name: str, kind: str) -> None:
    avatar = render_avatar(avatar_name)
    landmarks = avatar.landmarks()
    compositor = FrameCompositor(RenderSettings(mask=kind), avatar.boxes, landmarks)
    assert compositor.mask == kind
    for index in range(avatar.frame_count):
        weight = compositor.weights(index)
        x1, y1 = avatar.boxes[index][:2]
        local = landmarks[index] - (x1, y1)
        lips = polygon_mask(weight.shape, local[list(OUTER_LIPS)])
        assert weight[lips].min() > 0.95, f"frame {index}: lips not covered"
        centre = np.round((local[INNER_LIP_UPPER] + local[INNER_LIP_LOWER]) / 2).astype(int)
        assert weight[centre[1], centre[0]] == 1.0, f"frame {index}: mouth centre not fully the model's"
        assert weight[eye_mask(weight.shape, local)].max() == 0.0, f"frame {index}: the mask reaches an eye"
        border = np.concatenate([weight[0], weight[-1], weight[:, 0], weight[:, -1]])
        assert border.max() == 0.0, f"frame {index}: the mask touches the box edge"
        steps = max(np.abs(np.diff(weight, axis=0)).max(), np.abs(np.diff(weight, axis=1)).max())
        assert steps < 0.25, f"frame {index}: a hard edge (a step of {steps:.2f} between neighbours)"


def test_blur_and_dilation_are_settable(render_avatar) -> None:
    avatar = render_avatar("talking")

    def weights(**settings: float | str) -> np.ndarray:
        return FrameCompositor(RenderSettings(**settings), avatar.boxes, avatar.landmarks()).weights(10)  # type: ignore[arg-type]

    soft, sharp = weights(mask="mouth", mask_blur=0.08), weights(mask="mouth", mask_blur=0.0)
    assert set(np.unique(sharp)) <= {0.0, 1.0}  # no blur: a hard mask
    assert ((soft > 0) & (soft < 1)).sum() > 0
    assert weights(mask="mouth", mouth_dilate=0.25).sum() > 1.5 * weights(mask="mouth", mouth_dilate=0.05).sum()


@pytest.mark.parametrize("color_match", [False, True])
@pytest.mark.parametrize("kind", ["lower-face", "mouth", "box"])
def test_only_pixels_inside_the_mask_change_and_its_core_is_the_models(render_avatar, kind: str, color_match: bool) -> None:
    """Exact, before the encoder: weight 0 keeps the source pixel, weight 1 is the model's."""
    avatar = render_avatar("talking")
    compositor = FrameCompositor(RenderSettings(mask=kind, color_match=color_match), avatar.boxes, avatar.landmarks())
    for index in (0, 40, 87):
        source = avatar.read_frame(index)
        x1, y1, x2, y2 = avatar.boxes[index]
        mouth = 255 - avatar.crops[index]  # unlike the source everywhere
        frame = source.copy()
        compositor.paste(frame, mouth, index, 0)
        weight = np.zeros(source.shape[:2], np.float32)
        weight[y1:y2, x1:x2] = compositor.weights(index)
        assert np.array_equal(frame[weight == 0], source[weight == 0])
        assert (frame[weight > 0.5] != source[weight > 0.5]).any(axis=-1).mean() > 0.9
        if not color_match:
            resized = cv2.resize(mouth, (int(x2 - x1), int(y2 - y1)), interpolation=cv2.INTER_LINEAR)
            core = compositor.weights(index) == 1.0
            assert core.sum() > 100 and np.array_equal(frame[y1:y2, x1:x2][core], resized[core])


def test_an_avatar_without_landmarks_uses_todays_box_mask(render_avatar) -> None:
    avatar = render_avatar("talking")
    compositor = FrameCompositor(RenderSettings(mask="lower-face"), avatar.boxes, None)
    x1, y1, x2, y2 = avatar.boxes[3]
    assert compositor.mask == "box"
    assert np.array_equal(compositor.weights(3), box_weights(int(y2 - y1), int(x2 - x1), RenderSettings().feather))


def test_colour_matching_takes_a_red_tint_out_of_the_mouth(render_avatar) -> None:
    """The tint stand-in's image (reference face, red + 64) at compositor level, on and off."""
    avatar = render_avatar("talking")
    landmarks = avatar.landmarks()
    for index in (0, 60, 120):
        source = avatar.read_frame(index)
        tinted = avatar.crops[index].astype(np.int16)
        tinted[..., 2] += TINT_LEVELS
        tinted = np.clip(tinted, 0, 255).astype(np.uint8)
        lips = polygon_mask(source.shape[:2], landmarks[index][list(OUTER_LIPS)])
        means = {}
        for on in (False, True):
            frame = source.copy()
            FrameCompositor(RenderSettings(color_match=on), avatar.boxes, landmarks).paste(frame, tinted, index, 0)
            means[on] = frame[lips].mean(axis=0) - source[lips].mean(axis=0)
        assert np.abs(means[True]).max() < 3, means
        assert means[False][2] > 25, means  # off: the tint shows


def test_colour_matching_leaves_a_matching_image_alone() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(60, 200, (40, 50, 3), dtype=np.uint8)
    weight = np.zeros((40, 50), np.float32)
    weight[10:30, 10:40] = cv2.GaussianBlur(np.ones((20, 30), np.float32), (0, 0), 3)
    assert np.abs(match_colors(image, image, weight).astype(int) - image).max() <= 1
    assert match_colors(image, image, np.zeros_like(weight)) is image  # nothing blended: nothing to do


def encode_and_decode(frames: list[np.ndarray], path: Path, settings: RenderSettings) -> np.ndarray:
    """The frames through the renderer's encoder with its settings, read back."""
    height, width = frames[0].shape[:2]
    with VideoWriter(path, width, height, 25, crf=settings.crf, preset=settings.preset) as writer:
        for frame in frames:
            writer.write(frame)
    return read_frames(path, width, height)


def test_identity_render_changes_nothing_outside_the_mask_after_the_encoder(
    render_avatar, models, speech_second: Path, tmp_path: Path
) -> None:
    avatar = render_avatar("talking")
    settings = RenderSettings(crf=0, preset="ultrafast")  # lossless: what differs, the renderer changed
    with OnnxBackend(models["identity"], batch_size=8) as backend:
        result = render_video(avatar, speech_second, backend, tmp_path / "identity.mp4", settings)
    rendered = read_frames(tmp_path / "identity.mp4", avatar.width, avatar.height)
    schedule = [source_frame(i, avatar.frame_count) for i in range(result.frame_count)]
    sources = encode_and_decode([avatar.read_frame(j) for j in schedule], tmp_path / "source.mp4", settings)
    compositor = FrameCompositor(settings, avatar.boxes, avatar.landmarks())
    kernel = np.ones((2 * CHROMA_REACH_PX + 1,) * 2, np.uint8)
    for i, j in enumerate(schedule):
        x1, y1, x2, y2 = avatar.boxes[j]
        touched = np.zeros((avatar.height, avatar.width), np.uint8)
        touched[y1:y2, x1:x2] = compositor.weights(j) > 0
        untouched = cv2.dilate(touched, kernel) == 0
        assert untouched.mean() > 0.8
        assert np.array_equal(rendered[i][untouched], sources[i][untouched]), f"frame {i} changed outside the mask"
        # Inside: the stand-in's image (the reference crop, resized back): a blurrier copy of the face.
        lips = polygon_mask(touched.shape, avatar.landmarks()[j][list(OUTER_LIPS)])
        expected = cv2.resize(avatar.crops[j], (int(x2 - x1), int(y2 - y1)), interpolation=cv2.INTER_LINEAR)
        full = np.zeros_like(rendered[i])
        full[y1:y2, x1:x2] = expected
        assert psnr(rendered[i][lips], full[lips]) > 35


def test_tint_render_with_and_without_colour_matching(render_avatar, models, speech_second: Path, tmp_path: Path) -> None:
    avatar = render_avatar("talking")
    differences = {}
    for on in (False, True):
        settings = RenderSettings(crf=0, preset="ultrafast", color_match=on, seconds=0.4)
        output = tmp_path / f"tint_{on}.mp4"
        with OnnxBackend(models["tint"], batch_size=8) as backend:
            render_video(avatar, speech_second, backend, output, settings)
        rendered = read_frames(output, avatar.width, avatar.height)
        schedule = [source_frame(i, avatar.frame_count) for i in range(len(rendered))]
        sources = encode_and_decode([avatar.read_frame(j) for j in schedule], tmp_path / f"source_{on}.mp4", settings)
        shifts = []
        for frame, source, j in zip(rendered, sources, schedule, strict=False):
            lips = polygon_mask(frame.shape[:2], avatar.landmarks()[j][list(OUTER_LIPS)])
            shifts.append(frame[lips].mean(axis=0) - source[lips].mean(axis=0))
        differences[on] = np.mean(shifts, axis=0)
    assert np.abs(differences[True]).max() < 3, differences
    assert differences[False][2] > 25, differences


def test_an_old_avatar_renders_exactly_as_with_the_box_mask(
    render_avatar, render_library: Path, models, speech_second: Path, tmp_path: Path
) -> None:
    """An avatar folder as written before the face mesh existed (no landmark files or keys)."""
    from avatar_studio.avatars.library import Avatar

    new = render_avatar("hue")
    old_folder = tmp_path / "old"
    shutil.copytree(new.folder, old_folder)
    for name in ("landmarks.npy", "mouth_openness.npy"):
        (old_folder / name).unlink()
    meta = json.loads((old_folder / "avatar.json").read_text(encoding="utf-8"))
    del meta["landmarks"], meta["open_mouth_share"]
    (old_folder / "avatar.json").write_text(json.dumps(meta), encoding="utf-8")
    old = Avatar(old_folder)
    assert old.landmarks() is None
    with OnnxBackend(models["tint"], batch_size=8) as backend:
        render_video(old, speech_second, backend, tmp_path / "old.mp4", RenderSettings(crf=0, seconds=0.4))
        render_video(new, speech_second, backend, tmp_path / "box.mp4", RenderSettings(crf=0, seconds=0.4, mask="box"))
    old_frames = read_frames(tmp_path / "old.mp4", old.width, old.height)
    box_frames = read_frames(tmp_path / "box.mp4", new.width, new.height)
    assert np.array_equal(old_frames, box_frames)
