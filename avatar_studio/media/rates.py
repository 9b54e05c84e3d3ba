"""Frame rates as exact fractions: one rule for probing, reading, writing and the audio windows.

Frame timing is arithmetic on rationals (frame i starts at i / fps), so a rate must be exact: the
NTSC family that tools print rounded (23.976, 29.97, 59.94) is n*1000/1001, not 2997/100, or a
long video drifts off its audio by a frame every few minutes.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral

from avatar_studio.errors import AvatarStudioError

#: NTSC-family bases: n*1000/1001 frames per second for each.
NTSC_BASES = (24, 30, 48, 60, 120, 240)
#: Rates cameras and encoders use; a measured rate within 2 % of one is taken to be it.
STANDARD_RATES = tuple(
    sorted({Fraction(r) for r in (12, 15, 24, 25, 30, 48, 50, 60, 90, 100, 120, 240)}
           | {Fraction(b * 1000, 1001) for b in NTSC_BASES})
)  # fmt: skip
#: How far a decimal may be from n*1000/1001 and still mean it (23.98 and 29.97 are printed roundings).
_NTSC_TOLERANCE = 0.006
#: Denominator limit for decimals that are not NTSC: 12.5 -> 25/2, a VFR average 27.343 -> 27343/1000.
_DECIMAL_DENOMINATOR = 1001
#: Denominator limit for fractions given exactly: keeps frame-start arithmetic within int64.
_MAX_DENOMINATOR = 1_000_000


def exact_rate(fps: float | int | Fraction) -> Fraction:
    """`fps` as an exact positive fraction: 29.97 -> 30000/1001, 25 -> 25/1, 12.5 -> 25/2.

    A Fraction is kept as it is (bar absurd denominators); a float close to an NTSC rate becomes
    that rate; any other float the nearest fraction with a denominator up to 1001. Zero, negative
    and non-finite rates are an `AvatarStudioError`.
    """
    if isinstance(fps, Fraction):
        value = fps.limit_denominator(_MAX_DENOMINATOR)
    elif isinstance(fps, Integral):
        value = Fraction(int(fps))
    else:
        number = float(fps)
        if not math.isfinite(number):
            raise AvatarStudioError(f"Frame rate {fps!r} is not a number; use a positive rate such as 25.")
        value = _from_decimal(number)
    if value <= 0:
        raise AvatarStudioError(f"Frame rate {fps!r} must be positive; use a rate such as 25 or 30000/1001.")
    return value


def nearest_standard_rate(measured: Fraction, tolerance: float = 0.02) -> Fraction | None:
    """The standard rate within `tolerance` (relative) of `measured`, or None."""
    nearest = min(STANDARD_RATES, key=lambda rate: abs(float(rate / measured) - 1))
    return nearest if abs(float(nearest / measured) - 1) <= tolerance else None


def _from_decimal(number: float) -> Fraction:
    for base in NTSC_BASES:
        if abs(number - base * 1000 / 1001) < _NTSC_TOLERANCE:
            return Fraction(base * 1000, 1001)
    return Fraction(number).limit_denominator(_DECIMAL_DENOMINATOR)
