"""Compositing: the mouth image lands inside the box, blends softly and leaves the rest alone."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_studio.render.composite import blend_mask, paste_mouth
from avatar_studio.render.model_io import face_batch, predictions_to_images

BOX = np.array([100, 40, 260, 240], np.int32)  # x1, y1, x2, y2: 160 wide, 200 high


def _paste(feather: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    frame = np.full((300, 400, 3), 10, np.uint8)
    before = frame.copy()
    paste_mouth(frame, BOX, np.full((96, 96, 3), 250, np.uint8), feather)
    return before, frame


def test_nothing_outside_the_box_or_in_the_upper_face_changes() -> None:
    before, after = _paste()
    changed = np.any(after != before, axis=2)
    ys, xs = np.nonzero(changed)
    x1, y1, x2, y2 = BOX
    assert xs.min() >= x1 and xs.max() < x2 and ys.max() < y2
    assert ys.min() >= y1 + 0.4 * (y2 - y1), "the upper face must stay the original pixels"


def test_mouth_centre_is_fully_replaced() -> None:
    _, after = _paste()
    x1, y1, x2, y2 = BOX
    centre = after[int(y1 + 0.75 * (y2 - y1)), (x1 + x2) // 2]
    assert np.all(centre == 250)


def test_edges_are_feathered_not_a_hard_rectangle() -> None:
    _, after = _paste()
    x1, y1, x2, y2 = BOX
    row = after[int(y1 + 0.75 * (y2 - y1)), x1:x2, 0].astype(int)
    # From the box edge inwards the value climbs over several pixels instead of jumping.
    assert row[0] < 60 and 60 < row[8] < 240 and row[len(row) // 2] == 250
    assert np.all(np.abs(np.diff(row)) < 60), "no single-pixel step from frame to mouth"
    column = after[y1:y2, (x1 + x2) // 2, 0].astype(int)
    assert column[-1] < 60, "the mask fades out before the bottom edge of the box"
    assert np.all(np.abs(np.diff(column)) < 60)


def test_feather_width_is_settable() -> None:
    soft = blend_mask(200, 160, 0.3).weight
    hard = blend_mask(200, 160, 0.02).weight
    middle = soft.shape[0] // 2
    assert (soft[middle] > 0.99).sum() < (hard[middle] > 0.99).sum()
    with pytest.raises(ValueError):
        blend_mask(200, 160, 0.8)


def test_masks_are_cached_per_box_size() -> None:
    assert blend_mask(120, 100, 0.15) is blend_mask(120, 100, 0.15)
    assert blend_mask(120, 100, 0.15) is not blend_mask(121, 100, 0.15)


def test_model_input_masks_the_lower_half_and_keeps_bgr_order() -> None:
    crops = np.zeros((2, 96, 96, 3), np.uint8)
    crops[..., 0] = 255  # pure blue in BGR
    crops[1, :, :, 2] = 51
    batch = face_batch(crops)
    assert batch.shape == (2, 6, 96, 96) and batch.dtype == np.float32
    assert np.all(batch[:, 3] == 1.0) and np.allclose(batch[1, 5], 0.2)
    assert np.all(batch[:, :3, 48:] == 0.0)
    assert np.array_equal(batch[:, :3, :48], batch[:, 3:, :48])


def test_predictions_round_trip_to_bgr_images() -> None:
    crops = np.random.default_rng(0).integers(0, 256, (3, 96, 96, 3), dtype=np.uint8)
    assert np.array_equal(predictions_to_images(face_batch(crops)[:, 3:]), crops)
