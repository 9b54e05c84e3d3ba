"""Frame order: ping-pong without doubled turning frames, plain loop, one-frame avatars."""

from __future__ import annotations

import itertools

import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.render.schedule import FIRST_BATCH_FRAMES, frame_schedule, model_batches, source_frame


def test_pingpong_turns_without_repeating_the_end_frames() -> None:
    assert list(frame_schedule(13, 4)) == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0]


def test_pingpong_neighbours_always_differ_by_one() -> None:
    order = list(frame_schedule(500, 7))
    assert all(abs(a - b) == 1 for a, b in itertools.pairwise(order))
    assert set(order) == set(range(7))


def test_loop_restarts_at_the_first_frame() -> None:
    assert list(frame_schedule(9, 4, "loop")) == [0, 1, 2, 3, 0, 1, 2, 3, 0]


@pytest.mark.parametrize("mode", ["pingpong", "loop"])
def test_one_frame_avatar_shows_its_only_frame(mode: str) -> None:
    assert list(frame_schedule(5, 1, mode)) == [0] * 5


def test_two_frame_pingpong_alternates() -> None:
    assert list(frame_schedule(5, 2)) == [0, 1, 0, 1, 0]


def test_schedule_matches_single_lookups_far_into_a_long_render() -> None:
    order = list(frame_schedule(20_000, 251))
    assert order[15_000] == source_frame(15_000, 251)
    assert max(order) == 250 and min(order) == 0


def test_rejects_empty_avatars_and_unknown_modes() -> None:
    with pytest.raises(ValueError):
        source_frame(0, 0)
    with pytest.raises(AvatarStudioError, match="Unknown loop mode 'bounce'; choose one of pingpong, loop."):
        source_frame(0, 3, "bounce")  # type: ignore[arg-type]


@pytest.mark.parametrize("n_frames, batch_size", [(0, 16), (1, 16), (2, 16), (3, 16), (40, 16), (40, 1), (5, 2)])
def test_model_batches_cover_every_frame_once_with_a_small_first_call(n_frames: int, batch_size: int) -> None:
    batches = list(model_batches(n_frames, batch_size))
    covered = [i for start, stop in batches for i in range(start, stop)]
    assert covered == list(range(n_frames))
    assert all(0 < stop - start <= batch_size for start, stop in batches)
    if batches:
        assert batches[0][1] - batches[0][0] == min(FIRST_BATCH_FRAMES, batch_size, n_frames)
        assert all(stop - start == batch_size for start, stop in batches[1:-1])
