"""How to render one video, validated in one place for the CLI, the job queue and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from avatar_studio.choices import (
    DEFAULT_COLOR_MATCH,
    DEFAULT_CRF,
    DEFAULT_ENCODER,
    DEFAULT_ENHANCER_BLEND,
    DEFAULT_ENHANCER_REGION,
    DEFAULT_ENHANCER_WEIGHT,
    DEFAULT_FEATHER,
    DEFAULT_MASK,
    DEFAULT_MASK_BLUR,
    DEFAULT_MOUTH_DILATE,
    DEFAULT_PRESET,
    DEFAULT_SILENCE,
    ENCODER_PRESETS,
    ENHANCER_REGIONS,
    LOOP_MODES,
    MASK_BLUR_RANGE,
    MASK_KINDS,
    MAX_CRF,
    MAX_FEATHER,
    MIN_CRF,
    MIN_FEATHER,
    MOUTH_DILATE_RANGE,
    SILENCE_MODES,
    VIDEO_ENCODERS,
    EncoderPreset,
    EnhancerRegion,
    LoopMode,
    MaskKind,
    SilenceMode,
    VideoEncoderChoice,
    check_choice,
)
from avatar_studio.errors import AvatarStudioError


@dataclass(frozen=True)
class RenderSettings:
    """Frame order, encoder quality, preview length, overwrite permission, mask and mouth quality."""

    loop: LoopMode = "pingpong"
    crf: int = DEFAULT_CRF
    preset: EncoderPreset = DEFAULT_PRESET
    #: Render only the first `seconds` of the audio (a preview); None renders all of it.
    seconds: float | None = None
    overwrite: bool = False
    #: Soft edge of the mouth mask as a fraction of the face box (see `composite.blend_mask`).
    feather: float = DEFAULT_FEATHER
    #: Where the mouth is blended in (see `render.masks`); avatars without landmarks use "box".
    mask: MaskKind = DEFAULT_MASK
    #: Gaussian edge of the face-mesh masks as a fraction of the face size.
    mask_blur: float = DEFAULT_MASK_BLUR
    #: The `mouth` mask's reach beyond the lips as a fraction of the face size.
    mouth_dilate: float = DEFAULT_MOUTH_DILATE
    #: Match the model output's colour to the face around it (see `render.color_match`).
    color_match: bool = DEFAULT_COLOR_MATCH
    #: What silent stretches show (see `audio.silence`).
    silence: SilenceMode = DEFAULT_SILENCE
    #: Face-restoration model run after compositing (a path or a name in the models folder); None = off.
    enhancer: str | None = None
    #: Where the restored face shows: "mouth" (the lip-sync region only) or "face".
    enhancer_region: EnhancerRegion = DEFAULT_ENHANCER_REGION
    #: Share of the restored face over the composited one, 0..1.
    enhancer_blend: float = DEFAULT_ENHANCER_BLEND
    #: CodeFormer's fidelity, 0 (strongest restoration) .. 1 (closest to the input); others ignore it.
    enhancer_weight: float = DEFAULT_ENHANCER_WEIGHT
    #: H.264/H.265 encoder for .mp4/.m4v/.mkv ("auto": a hardware one that starts here, else libx264).
    encoder: VideoEncoderChoice = DEFAULT_ENCODER

    def validate(self) -> None:
        """Refuse settings that could never render, with a sentence saying what to choose."""
        check_choice("loop mode", self.loop, LOOP_MODES)
        check_choice("encoder preset", self.preset, ENCODER_PRESETS)
        if not MIN_CRF <= self.crf <= MAX_CRF:
            raise AvatarStudioError(
                f"CRF must be between {MIN_CRF} (lossless) and {MAX_CRF} (smallest), not {self.crf}."
            )
        check_choice("encoder", self.encoder, VIDEO_ENCODERS)
        if self.seconds is not None and not self.seconds > 0:
            raise AvatarStudioError(f"Preview length must be a positive number of seconds, not {self.seconds}.")
        if not MIN_FEATHER <= self.feather <= MAX_FEATHER:
            raise AvatarStudioError(
                f"Feather must be between {MIN_FEATHER:g} and {MAX_FEATHER:g} of the face box, not {self.feather}."
            )
        check_choice("mask", self.mask, MASK_KINDS)
        if not MASK_BLUR_RANGE[0] <= self.mask_blur <= MASK_BLUR_RANGE[1]:
            raise AvatarStudioError(
                f"Mask blur must be between {MASK_BLUR_RANGE[0]:g} and {MASK_BLUR_RANGE[1]:g} of the face size, "
                f"not {self.mask_blur}."
            )
        if not MOUTH_DILATE_RANGE[0] <= self.mouth_dilate <= MOUTH_DILATE_RANGE[1]:
            raise AvatarStudioError(
                f"Mouth dilation must be between {MOUTH_DILATE_RANGE[0]:g} and {MOUTH_DILATE_RANGE[1]:g} of the "
                f"face size, not {self.mouth_dilate}."
            )
        check_choice("silence handling", self.silence, SILENCE_MODES)
        check_choice("enhancer region", self.enhancer_region, ENHANCER_REGIONS)
        for label, value in (("Enhancer blend", self.enhancer_blend), ("Enhancer weight", self.enhancer_weight)):
            if not 0.0 <= value <= 1.0:
                raise AvatarStudioError(f"{label} must be between 0 and 1, not {value}.")
