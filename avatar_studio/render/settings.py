"""How to render one video, validated in one place for the CLI, the job queue and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from avatar_studio.choices import (
    DEFAULT_CRF,
    DEFAULT_FEATHER,
    DEFAULT_PRESET,
    ENCODER_PRESETS,
    LOOP_MODES,
    MAX_CRF,
    MAX_FEATHER,
    MIN_CRF,
    MIN_FEATHER,
    EncoderPreset,
    LoopMode,
    check_choice,
)
from avatar_studio.errors import AvatarStudioError


@dataclass(frozen=True)
class RenderSettings:
    """Frame order, encoder quality, preview length, overwrite permission and mask softness."""

    loop: LoopMode = "pingpong"
    crf: int = DEFAULT_CRF
    preset: EncoderPreset = DEFAULT_PRESET
    #: Render only the first `seconds` of the audio (a preview); None renders all of it.
    seconds: float | None = None
    overwrite: bool = False
    #: Soft edge of the mouth mask as a fraction of the face box (see `composite.blend_mask`).
    feather: float = DEFAULT_FEATHER

    def validate(self) -> None:
        """Refuse settings that could never render, with a sentence saying what to choose."""
        check_choice("loop mode", self.loop, LOOP_MODES)
        check_choice("encoder preset", self.preset, ENCODER_PRESETS)
        if not MIN_CRF <= self.crf <= MAX_CRF:
            raise AvatarStudioError(
                f"CRF must be between {MIN_CRF} (lossless) and {MAX_CRF} (smallest), not {self.crf}."
            )
        if self.seconds is not None and not self.seconds > 0:
            raise AvatarStudioError(f"Preview length must be a positive number of seconds, not {self.seconds}.")
        if not MIN_FEATHER <= self.feather <= MAX_FEATHER:
            raise AvatarStudioError(
                f"Feather must be between {MIN_FEATHER:g} and {MAX_FEATHER:g} of the face box, not {self.feather}."
            )
