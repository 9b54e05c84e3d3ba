"""What an avatar folder says about itself, in `avatar.json`.

`format_version` guards the folder layout: this code reads versions up to `FORMAT_VERSION` and
refuses newer ones with a clear message (a newer Avatar Studio wrote them) instead of misreading.
Unknown keys are ignored so a minor addition does not need a version bump: `landmarks` and
`open_mouth_share` were added so (avatars written before them load with the defaults: no face
mesh, box mask).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from avatar_studio.errors import AvatarStudioError

FORMAT_VERSION = 1
META_FILE = "avatar.json"


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds, e.g. 2026-11-28T06:10:00+00:00."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class AvatarMeta:
    """Everything recorded about one prepared avatar."""

    display_name: str
    folder_name: str
    source_file: str
    fps: float
    fps_rational: str  # the exact rate, "25/1" or "30000/1001", for encoders that need it
    fps_choice: str  # why this rate: "source constant 25", "normalised from variable rate to 30", ...
    frame_count: int
    width: int
    height: int
    duration_s: float
    rotation: int
    detector: str
    pads: tuple[float, float, float, float]  # top, bottom, left, right as fractions of the box
    smooth_window: int
    max_height: int | None
    frames_without_face: int
    storage: str
    source_width: int = 0
    source_height: int = 0
    #: The source had an alpha channel that makes some pixels transparent (planes in `alpha/`).
    has_alpha: bool = False
    #: Whether `landmarks.npy` (the face mesh per frame) and `mouth_openness.npy` were written.
    landmarks: bool = False
    #: Share of frames whose mouth is open (see `faces.landmarks.MOUTH_OPEN_RATIO`); None without landmarks.
    open_mouth_share: float | None = None
    format_version: int = FORMAT_VERSION
    created_at: str = field(default_factory=now_iso)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AvatarMeta:
        """Parse `avatar.json`; AvatarStudioError when it is damaged or from a newer version."""
        try:
            data: dict[str, Any] = json.loads(text)
        except ValueError as error:
            raise AvatarStudioError(
                f"The avatar metadata is not valid JSON ({error}); re-prepare the avatar."
            ) from None
        if not isinstance(data, dict):
            raise AvatarStudioError("The avatar metadata is not a JSON object; re-prepare the avatar.")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise AvatarStudioError("The avatar metadata has no valid format_version; re-prepare the avatar.")
        if version > FORMAT_VERSION:
            raise AvatarStudioError(
                f"This avatar was made by a newer Avatar Studio (format {version}, this version reads up to "
                f"{FORMAT_VERSION}); update Avatar Studio to use it."
            )
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        try:
            meta = cls(**values)
        except TypeError as error:
            raise AvatarStudioError(f"The avatar metadata is incomplete ({error}); re-prepare the avatar.") from None
        meta.pads = tuple(float(p) for p in meta.pads)  # type: ignore[assignment]
        return meta
