"""Aligning a real face to an enhancer's template, restoring it and pasting it back: the round trip
is faithful, and a brightening stand-in changes only the pixels of the chosen region."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.faces.align import TEMPLATES, alignment_matrix, crop_mask, five_points
from avatar_studio.model.enhancers import FaceEnhancer
from avatar_studio.render.enhance import FrameRestorer
from avatar_studio.render.frame_compositor import FrameCompositor
from avatar_studio.render.settings import RenderSettings
from render_media import psnr
from standin_enhancers import write_brightening_enhancer, write_identity_enhancer

pytestmark = pytest.mark.slow


def mesh_from_five(points: np.ndarray) -> np.ndarray:
    """A (468, 2) face-mesh array whose eye corners, nose tip and mouth corners give `points`
    (the subject's right eye, on the image's left, holds mesh points 33/133)."""
    mesh = np.zeros((468, 2), np.float32)
    (left_eye, right_eye, nose, left_mouth, right_mouth) = points
    spread = np.float32([0.04, 0.0]) * (right_eye[0] - left_eye[0]) * 10
    mesh[33], mesh[133] = left_eye - spread, left_eye + spread
    mesh[362], mesh[263] = right_eye - spread, right_eye + spread
    mesh[1], mesh[61], mesh[291] = nose, left_mouth, right_mouth
    return mesh


def face_points(box: np.ndarray, degrees: float = 8.0) -> np.ndarray:
    """Five plausible points inside a face box, the face tilted by `degrees`."""
    x1, y1, x2, y2 = box.astype(np.float32)
    side = min(x2 - x1, y2 - y1)
    centre = np.float32([(x1 + x2) / 2, y1 + 0.45 * (y2 - y1)])
    angle = np.radians(degrees)
    rotation = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offsets = (TEMPLATES["ffhq_512"] - np.float32([0.5, 0.55])) * side * 0.9
    return (offsets @ rotation.T + centre).astype(np.float32)


@pytest.fixture(scope="module")
def face(render_avatar):
    """A real frame, its face box and a face mesh for it."""
    avatar = render_avatar("still")
    frame = avatar.read_frame(0).copy()
    box = avatar.boxes[0]
    return frame, box, mesh_from_five(face_points(box))


def restorer_for(enhancer: FaceEnhancer, mesh: np.ndarray, box: np.ndarray, **settings) -> FrameRestorer:
    """A restorer for one frame whose lip sync was blended through the box mask (the synthetic mesh
    has only the five alignment points, too few for the face-mesh masks)."""
    compositor = FrameCompositor(RenderSettings(mask="box", **settings), box[None], mesh[None])
    return FrameRestorer(enhancer, mesh[None], box[None], compositor)


def restore(tmp_path: Path, model: Path, frame: np.ndarray, box: np.ndarray, mesh: np.ndarray, **settings) -> np.ndarray:
    out = frame.copy()
    with FaceEnhancer(model, device="cpu") as enhancer:
        restorer_for(enhancer, mesh, box, **settings).restore([out], [0], [0])
    return out


def test_five_points_are_ordered_by_the_image_not_the_subject():
    points = np.float32([[10, 20], [40, 21], [25, 35], [14, 48], [36, 47]])
    mesh = mesh_from_five(points)
    mesh[[33, 133, 362, 263]] = mesh[[362, 263, 33, 133]]  # a mirrored mesh: the eyes swapped
    mesh[[61, 291]] = mesh[[291, 61]]
    np.testing.assert_allclose(five_points(mesh), points, atol=1e-4)


def test_alignment_puts_the_points_on_the_template(face):
    _frame, _box, mesh = face
    points = five_points(mesh)
    # The test face's points are a tilted, scaled copy of the ffhq template: a similarity maps them exactly.
    matrix = alignment_matrix(points, "ffhq_512", 1024)
    mapped = np.c_[points, np.ones(5)] @ matrix.T
    np.testing.assert_allclose(mapped, TEMPLATES["ffhq_512"] * 1024, atol=0.5)


def test_identity_round_trip_reproduces_the_face(face, tmp_path):
    frame, box, mesh = face
    out = restore(tmp_path, write_identity_enhancer(tmp_path / "id.onnx"), frame, box, mesh,
                  enhancer_region="face", enhancer_blend=1.0)  # fmt: skip
    x1, y1, x2, y2 = box
    assert psnr(out[y1:y2, x1:x2], frame[y1:y2, x1:x2]) >= 38
    assert not np.array_equal(out, frame)  # the face really went through the model and back


def footprint(matrix: np.ndarray, size: int, shape: tuple[int, ...]) -> np.ndarray:
    """The frame pixels the pasted crop can reach (its soft mask, warped back, above 0)."""
    back = cv2.warpAffine(crop_mask(size), cv2.invertAffineTransform(matrix), (shape[1], shape[0]))
    return back > 0


def band(box: np.ndarray, top: float, bottom: float, side: float) -> tuple[slice, slice]:
    """Rows top..bottom of the box (fractions of its height), inset by `side` of its width."""
    x1, y1, x2, y2 = (int(v) for v in box)
    h, w = y2 - y1, x2 - x1
    return slice(y1 + int(top * h), y1 + int(bottom * h)), slice(x1 + int(side * w), x2 - int(side * w))


@pytest.mark.parametrize("region", ["mouth", "face"])
def test_brightening_changes_only_pixels_inside_the_region(face, tmp_path, region):
    frame, box, mesh = face
    model = write_brightening_enhancer(tmp_path / "bright.onnx", delta=0.5)  # about +64 levels
    out = frame.copy()
    with FaceEnhancer(model, device="cpu") as enhancer:
        restorer = restorer_for(enhancer, mesh, box, enhancer_region=region, enhancer_blend=1.0)
        restorer.restore([out], [0], [0])
    brighter = out.astype(float) - frame.astype(float)
    changed = np.abs(brighter).max(axis=2) > 0

    limit = restorer.lipsync_region(0, 0)
    inside_mask = np.zeros(frame.shape[:2], bool)
    rows, cols = limit.weight.shape
    inside_mask[limit.y : limit.y + rows, limit.x : limit.x + cols] = limit.weight > 0
    inside_crop = footprint(alignment_matrix(five_points(mesh), "ffhq_512", 512), 512, frame.shape)
    mouth, eyes = band(box, 0.58, 0.66, 0.4), band(box, 0.25, 0.35, 0.3)

    assert brighter[mouth].mean() > 40  # the restored (brightened) face shows over the mouth
    assert not changed[~inside_crop].any(), "pixels the aligned crop does not cover changed"
    if region == "mouth":
        assert not changed[~inside_mask].any(), "pixels outside the lip-sync region changed"
        assert not changed[eyes].any()
    else:
        assert brighter[eyes].mean() > 40
        assert changed.sum() > inside_mask.sum()


def test_blend_scales_the_restored_face(face, tmp_path):
    frame, box, mesh = face
    model = write_brightening_enhancer(tmp_path / "bright.onnx", delta=0.5)
    mouth = band(box, 0.58, 0.66, 0.4)
    gains = {}
    for blend in (0.0, 0.5, 1.0):
        out = restore(tmp_path, model, frame, box, mesh, enhancer_region="face", enhancer_blend=blend)
        gains[blend] = float((out.astype(float) - frame.astype(float))[mouth].mean())
    assert gains[0.0] == 0.0 and 0.4 < gains[0.5] / gains[1.0] < 0.6
