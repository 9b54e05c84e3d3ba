"""Checks of everything read from an avatar folder against the avatar's own metadata, before use.

An avatar folder is data anyone can edit or damage: one face box of [-500, -500, 99999, 99999]
made the compositor allocate 24 GB. So every value is checked where it is loaded, and anything
off is one sentence, "Avatar X is damaged (what); re-prepare it", never a numpy or OpenCV error
or a runaway allocation. A new per-frame file gets a `check_<file>` function here, called where
`Avatar` loads it.
"""

from __future__ import annotations

import unicodedata
from fractions import Fraction
from pathlib import Path

import numpy as np

from avatar_studio.avatars.metadata import AvatarMeta
from avatar_studio.choices import MAX_FPS
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.image_io import jpeg_size

#: The largest frame side an avatar may record (8K is 7680): beyond it the numbers are damage.
MAX_FRAME_SIDE = 8192
#: Frames one avatar may hold (over 11 hours at 25 fps).
MAX_FRAME_COUNT = 1_000_000


def damaged(name: str, what: str) -> AvatarStudioError:
    """The one sentence for every damage found in an avatar folder."""
    return AvatarStudioError(f"Avatar {printable(name)!r} is damaged ({what}); re-prepare it.")


def printable(text: str) -> str:
    """`text` with control and format characters escaped (ESC as \\x1b), safe to print to a terminal."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    )


def check_meta(meta: AvatarMeta, folder: Path) -> None:
    """The numbers in `avatar.json`: a name that prints safely, a sane size, count and rate."""
    name = meta.display_name if isinstance(meta.display_name, str) else folder.name
    if not isinstance(meta.display_name, str) or not meta.display_name.strip():
        raise damaged(folder.name, "its display name is empty")
    if printable(meta.display_name) != meta.display_name:
        raise damaged(name, "its display name contains control characters")
    for field, value, top in (
        ("width", meta.width, MAX_FRAME_SIDE), ("height", meta.height, MAX_FRAME_SIDE),
        ("frame_count", meta.frame_count, MAX_FRAME_COUNT),
    ):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
            raise damaged(name, f"{field} {value!r} is not a whole number from 1 to {top}")
    if not isinstance(meta.fps, (int, float)) or not 0 < meta.fps <= MAX_FPS:
        raise damaged(name, f"its frame rate {meta.fps!r} is not above 0 and up to {MAX_FPS:g}")
    if meta.fps_rational:
        try:
            rate = Fraction(meta.fps_rational)
        except (TypeError, ValueError, ZeroDivisionError):
            rate = Fraction(0)
        if not 0 < rate <= MAX_FPS:
            raise damaged(name, f"its exact frame rate {meta.fps_rational!r} is not a usable rate")


def check_frame_files(meta: AvatarMeta, first: Path, last: Path) -> None:
    """The first and last stored frames exist, and the first has the recorded size (header only)."""
    for path in (first, last):
        if not path.is_file():
            raise damaged(meta.display_name, f"its frame file {path.name} is missing")
    size = jpeg_size(first)
    if size is None:
        raise damaged(meta.display_name, f"its frame file {first.name} is not a JPEG")
    check_frame_size(meta, size, first.name)


def check_frame_size(meta: AvatarMeta, size: tuple[int, int], what: str) -> None:
    """A stored frame is (width, height) as `avatar.json` records."""
    if size != (meta.width, meta.height):
        raise damaged(meta.display_name, f"{what} is {size[0]}x{size[1]}, not the recorded {meta.width}x{meta.height}")


def check_boxes(meta: AvatarMeta, boxes: np.ndarray) -> None:
    """Each (x1, y1, x2, y2) face box is non-empty and inside the frame."""
    x1, y1, x2, y2 = boxes.T.astype(np.int64)
    bad = (x1 < 0) | (y1 < 0) | (x2 > meta.width) | (y2 > meta.height) | (x2 <= x1) | (y2 <= y1)
    if bad.any():
        index = int(np.argmax(bad))
        raise damaged(
            meta.display_name,
            f"the face box of frame {index}, {boxes[index].tolist()}, is empty or outside the "
            f"{meta.width}x{meta.height} frame",
        )


def check_landmarks(meta: AvatarMeta, landmarks: np.ndarray) -> None:
    """Face-mesh points are finite and near the frame: a point may lie a little outside it (a
    face at the edge), but not more than one frame size away, where a mask would be huge."""
    x, y = landmarks[..., 0], landmarks[..., 1]
    near = (
        np.isfinite(landmarks).all(axis=(1, 2))
        & (x >= -meta.width).all(axis=1) & (x <= 2 * meta.width).all(axis=1)
        & (y >= -meta.height).all(axis=1) & (y <= 2 * meta.height).all(axis=1)
    )  # fmt: skip
    if not near.all():
        index = int(np.argmin(near))
        raise damaged(meta.display_name, f"the face landmarks of frame {index} are far outside the frame")
