"""Face detection on real footage and the pure box chain (follow, fill, smooth, pad, clamp)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.boxes import (
    Pads,
    clamp_boxes,
    face_track_boxes,
    fill_missing,
    pad_boxes,
    smooth_boxes,
    track_face,
)
from avatar_studio.faces.detector import FaceBox, FaceDetector

TALKING = "talking_man_25fps_844x844.mp4"


def face(x1: float, y1: float, x2: float, y2: float, score: float = 0.9) -> FaceBox:
    return FaceBox(x1, y1, x2, y2, score)


@pytest.fixture(scope="module")
def talking_frame(shared_media: Path) -> np.ndarray:
    from avatar_studio.media.video_reader import open_video

    with open_video(shared_media / TALKING) as video:
        return next(iter(video.frames()))


def test_detector_finds_the_face_with_keypoints_inside_its_box(talking_frame: np.ndarray) -> None:
    with FaceDetector() as detector:
        faces = detector.detect(talking_frame)
    assert len(faces) == 1
    box = faces[0]
    assert box.score > 0.8
    assert 0 <= box.x1 < box.x2 <= 844 and 0 <= box.y1 < box.y2 <= 844
    assert 150 < box.x2 - box.x1 < 600  # a head-and-shoulders shot: a sizeable face
    assert len(box.keypoints) == 6
    nose, mouth = box.keypoints[2], box.keypoints[3]
    for x, y in (nose, mouth):
        assert box.x1 < x < box.x2 and box.y1 < y < box.y2
    assert nose[1] < mouth[1]  # upright: the nose is above the mouth


def test_detector_finds_nothing_in_a_blank_frame_and_closes_twice() -> None:
    detector = FaceDetector()
    assert detector.detect(np.full((240, 320, 3), 90, np.uint8)) == []
    detector.close()
    detector.close()
    with pytest.raises(RuntimeError):
        detector.detect(np.zeros((10, 10, 3), np.uint8))


def test_unknown_detector_model_is_refused() -> None:
    with pytest.raises(AvatarStudioError, match="short_range"):
        FaceDetector("full_range")  # type: ignore[arg-type]


def test_track_starts_on_the_largest_face_then_follows_the_nearest() -> None:
    small_left, big_right = face(0, 0, 40, 40), face(200, 0, 300, 100)
    detections = [
        [small_left, big_right],
        [face(205, 2, 305, 102), face(0, 0, 200, 200)],  # a bigger face appears elsewhere: ignored
        [],
        [face(0, 0, 30, 30), face(210, 4, 310, 104)],
    ]
    track = track_face(detections)
    assert track[0].tolist() == [200, 0, 300, 100]
    assert track[1].tolist() == [205, 2, 305, 102]
    assert np.isnan(track[2]).all()
    assert track[3].tolist() == [210, 4, 310, 104]


def test_fill_interpolates_between_and_repeats_at_the_ends() -> None:
    nan = [np.nan] * 4
    boxes = np.array([nan, [0, 0, 10, 10], nan, nan, [30, 30, 40, 40], nan], dtype=float)
    filled, count = fill_missing(boxes)
    assert count == 4
    assert filled[0].tolist() == [0, 0, 10, 10]
    assert filled[2].tolist() == [10, 10, 20, 20]
    assert filled[3].tolist() == [20, 20, 30, 30]
    assert filled[5].tolist() == [30, 30, 40, 40]
    with pytest.raises(ValueError):
        fill_missing(np.full((3, 4), np.nan))


def test_smoothing_is_a_centred_average_and_can_be_off() -> None:
    boxes = np.array([[i * 10.0] * 4 for i in range(7)])
    smoothed = smooth_boxes(boxes, 5)
    assert smoothed[3, 0] == pytest.approx(30.0)  # mean of 10..50
    assert smoothed[0, 0] == pytest.approx(10.0)  # mean of 0, 10, 20 at the start
    jitter = np.array([[100.0, 100, 200, 200], [104, 104, 204, 204]] * 5)
    assert np.ptp(smooth_boxes(jitter, 5)[2:-2, 0]) < np.ptp(jitter[:, 0])
    assert np.array_equal(smooth_boxes(boxes, 1), boxes)
    assert np.array_equal(smooth_boxes(boxes, 0), boxes)


def test_pads_are_fractions_of_the_box_and_clamping_keeps_boxes_inside() -> None:
    padded = pad_boxes(np.array([[100.0, 100, 200, 300]]), Pads(top=0.1, bottom=0.2, left=0.5, right=0.0))
    assert padded[0].tolist() == [50, 80, 200, 340]
    clamped = clamp_boxes(np.array([[-20.0, -5, 700, 500], [630, 470, 660, 490]]), 640, 480)
    assert clamped.dtype == np.int32
    assert clamped[0].tolist() == [0, 0, 640, 480]
    x1, y1, x2, y2 = clamped[1]
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 480 and x2 - x1 >= 2 and y2 - y1 >= 2


def test_whole_chain_counts_filled_frames() -> None:
    detections = [[face(10, 10, 50, 50)], [], [face(14, 10, 54, 50)]]
    boxes, filled = face_track_boxes(detections, 64, 64, Pads(0, 0.2, 0, 0), smooth_window=0)
    assert filled == 1
    assert boxes[1].tolist() == [12, 10, 52, 58]
    with pytest.raises(ValueError):
        face_track_boxes([[], []], 64, 64)
