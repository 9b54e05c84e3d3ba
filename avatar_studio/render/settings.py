"""How to render one video, validated in one place for the CLI, the job queue and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from avatar_studio.choices import (
    DEFAULT_CRF,
    DEFAULT_ENCODER,
    DEFAULT_FEATHER,
    DEFAULT_PRESET,
    ENCODER_PRESETS,
    LOOP_MODES,
    MAX_CRF,
    VIDEO_ENCODERS,
    EncoderPreset,
    LoopMode,
    VideoEncoderChoice,
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
    #: H.264/H.265 encoder for .mp4/.m4v/.mkv ("auto": a hardware one that starts here, else libx264).
    encoder: VideoEncoderChoice = DEFAULT_ENCODER

    def validate(self) -> None:
        """Refuse settings that could never render, with a sentence saying what to choose."""
        if self.loop not in LOOP_MODES:
            raise AvatarStudioError(f"Unknown loop mode {self.loop!r}; use one of: {', '.join(LOOP_MODES)}.")
        if self.preset not in ENCODER_PRESETS:
            raise AvatarStudioError(
                f"Unknown encoder preset {self.preset!r}; use one of: {', '.join(ENCODER_PRESETS)}."
            )
        if self.encoder not in VIDEO_ENCODERS:
            raise AvatarStudioError(f"Unknown encoder {self.encoder!r}; use one of: {', '.join(VIDEO_ENCODERS)}.")
        if not 0 <= self.crf <= MAX_CRF:
            raise AvatarStudioError(f"CRF must be between 0 (lossless) and {MAX_CRF} (smallest), not {self.crf}.")
        if self.seconds is not None and not self.seconds > 0:
            raise AvatarStudioError(f"Preview length must be a positive number of seconds, not {self.seconds}.")
        if not 0.0 <= self.feather <= 0.5:
            raise AvatarStudioError(f"Feather must be between 0 and 0.5 of the face box, not {self.feather}.")
