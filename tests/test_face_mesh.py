"""The face mesh at preparation: crop geometry, landmarks on real footage (upright and tilted),
the mouth-openness measure and the landmark track's filling and smoothing."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.faces.detector import FaceBox, FaceDetector
from avatar_studio.faces.landmarks import (
    CHIN,
    EYE_CORNERS,
    INNER_LIP_LOWER,
    INNER_LIP_UPPER,
    LANDMARK_COUNT,
    MESH_INPUT_SIZE,
    MOUTH_CORNERS,
    NOSE_TIP,
    OUTER_LIPS,
    FaceMesh,
    crop_transform,
    landmark_track,
    mouth_openness,
    open_mouth_share,
)

TALKING = "talking_man_25fps_844x844.mp4"


@pytest.fixture(scope="module")
def talking_frame(shared_media: Path) -> np.ndarray:
    from avatar_studio.media.video_reader import open_video

    with open_video(shared_media / TALKING) as video:
        return next(iter(video.frames()))


def mesh_of(frame: np.ndarray) -> tuple[FaceBox, np.ndarray]:
    with FaceDetector() as detector, FaceMesh() as mesh:
        face = detector.detect(frame)[0]
        result = mesh.landmarks(frame, face)
    assert result.found and result.points.shape == (LANDMARK_COUNT, 2) and result.points.dtype == np.float32
    return face, result.points


def test_crop_is_square_around_the_box_enlarged_and_rotated_by_the_eyes() -> None:
    angle = math.radians(30)
    eyes = ((100 - 20 * math.cos(angle), 100 - 20 * math.sin(angle)), (100 + 20 * math.cos(angle), 100 + 20 * math.sin(angle)))
    to_frame = crop_transform(FaceBox(60, 50, 140, 150, 0.9, eyes))
    centre = to_frame @ np.array([MESH_INPUT_SIZE / 2, MESH_INPUT_SIZE / 2, 1.0])
    assert centre == pytest.approx((100, 100))
    x_axis = to_frame[:, 0] * MESH_INPUT_SIZE  # one crop width along its x axis, in frame pixels
    assert np.linalg.norm(x_axis) == pytest.approx(1.5 * 100)  # 1.5 x the longer side (height 100)
    assert math.atan2(x_axis[1], x_axis[0]) == pytest.approx(angle)  # eyes level in the crop
    upright = crop_transform(FaceBox(60, 50, 140, 150, 0.9))
    assert upright[0, 1] == 0 and upright[1, 0] == 0


def test_landmarks_land_on_the_face_of_real_footage(talking_frame: np.ndarray) -> None:
    face, points = mesh_of(talking_frame)
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    width = face.x2 - face.x1
    lips = points[list(OUTER_LIPS)]
    assert np.linalg.norm(lips.mean(axis=0) - mouth) < 0.1 * width
    assert np.linalg.norm(points[NOSE_TIP] - nose) < 0.1 * width
    eye_centres = (points[[33, 133]].mean(axis=0), points[[362, 263]].mean(axis=0))
    assert min(np.linalg.norm(eye_centres[0] - e) for e in (right_eye, left_eye)) < 0.08 * width
    assert min(np.linalg.norm(eye_centres[1] - e) for e in (right_eye, left_eye)) < 0.08 * width
    assert points[list(EYE_CORNERS), 1].max() < lips[:, 1].min() < points[CHIN, 1]


def test_a_tilted_head_gets_the_same_landmarks_tilted(talking_frame: np.ndarray) -> None:
    """The crop follows the eye line: rotating the frame rotates the mesh with it."""
    _, upright = mesh_of(talking_frame)
    height, width = talking_frame.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), 25, 1.0)
    tilted_frame = cv2.warpAffine(talking_frame, rotation, (width, height), borderMode=cv2.BORDER_REPLICATE)
    face, tilted = mesh_of(tilted_frame)
    expected = upright @ rotation[:, :2].T + rotation[:, 2]
    error = np.linalg.norm(tilted - expected, axis=1)
    assert np.median(error) < 0.03 * (face.x2 - face.x1)


def test_mouth_openness_is_the_inner_gap_over_the_width() -> None:
    points = np.zeros((2, LANDMARK_COUNT, 2), np.float32)
    points[:, MOUTH_CORNERS[0]] = (40, 100)
    points[:, MOUTH_CORNERS[1]] = (80, 100)
    points[:, INNER_LIP_UPPER] = (60, 99)
    points[0, INNER_LIP_LOWER] = (60, 100)  # 1 px gap over 40 px: closed
    points[1, INNER_LIP_LOWER] = (60, 111)  # 12 px over 40: open
    openness = mouth_openness(points)
    assert openness == pytest.approx([1 / 40, 12 / 40])
    assert open_mouth_share(openness) == 0.5
    assert open_mouth_share(openness[:1]) == 0.0


def test_landmark_track_fills_gaps_like_the_boxes_and_smooths() -> None:
    base = np.random.default_rng(1).uniform(0, 100, (LANDMARK_COUNT, 2)).astype(np.float32)
    raw = np.stack([base + i for i in range(5)])
    raw[2] = np.nan
    filled, missing = landmark_track(raw, smooth_window=0)
    assert missing == 1 and filled.dtype == np.float32 and filled.shape == raw.shape
    assert filled[2] == pytest.approx(base + 2, abs=1e-4)
    jitter = raw.copy()
    jitter[2] = base + 2
    jitter[1::2] += 3.0
    smoothed, _ = landmark_track(jitter, smooth_window=3)
    assert np.ptp(smoothed[1:-1, 0, 0] - np.arange(1, 4)) < np.ptp(jitter[1:-1, 0, 0] - np.arange(1, 4))
    with pytest.raises(ValueError):
        landmark_track(np.full((2, LANDMARK_COUNT, 2), np.nan), 5)
