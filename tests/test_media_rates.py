"""media.rates.exact_rate: the one float-to-fraction rule behind probing, reading, writing and the mel windows."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from avatar_studio.audio import MelWindows
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.rates import exact_rate, nearest_standard_rate


@pytest.mark.parametrize(
    ("given", "exact"),
    [
        (23.976, Fraction(24000, 1001)),
        (23.98, Fraction(24000, 1001)),  # another common rounding of the same rate
        (24000 / 1001, Fraction(24000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (30000 / 1001, Fraction(30000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (25, Fraction(25, 1)),
        (25.0, Fraction(25, 1)),
        (np.int64(30), Fraction(30, 1)),
        (12.5, Fraction(25, 2)),
        (Fraction(30000, 1001), Fraction(30000, 1001)),
    ],
)
def test_common_rates_become_their_exact_fraction(given: float, exact: Fraction) -> None:
    assert exact_rate(given) == exact


def test_variable_rate_averages_stay_what_was_measured() -> None:
    # An average over a VFR clip is no standard rate: it is kept to a millisecond-sized fraction,
    # never snapped to a far-away NTSC rate, and an exact average (frames / duration) is kept as it is.
    assert exact_rate(27.343) == Fraction(27343, 1000)
    assert exact_rate(Fraction(1000, 37)) == Fraction(1000, 37)
    assert exact_rate(29.5) == Fraction(59, 2)
    assert nearest_standard_rate(Fraction(27343, 1000)) is None
    assert nearest_standard_rate(Fraction(2990, 100)) == Fraction(30000, 1001)


def test_the_mel_windows_and_the_video_agree_on_29_97() -> None:
    """Before one function served both, audio/windows read 29.97 as 2997/100 and the video 30000/1001."""
    windows = MelWindows(np.zeros((80, 80 * 60), np.float32), 29.97)
    assert windows.fps == Fraction(30000, 1001)


@pytest.mark.parametrize("bad", [0, -25, 0.0, float("nan"), float("inf"), Fraction(-1, 2)])
def test_unusable_rates_are_one_sentence(bad: float) -> None:
    with pytest.raises(AvatarStudioError, match=r"^Frame rate .* (must be positive|is not a number); use .*\.$"):
        exact_rate(bad)
