"""What goes into each output container: the format follows the output file's suffix.

- .mp4 / .m4v / .mkv: H.264 or H.265 (the chosen encoder, see `encoders.py`) + AAC. No alpha: a
  transparent avatar is composited over black.
- .webm: VP9 + Opus; with `alpha`, VP9's alpha plane (yuva420p), as browsers and editors read it.
- .mov: ProRes 4444 + PCM; with `alpha`, its 16-bit alpha plane (stored losslessly).

ProRes is an editing codec of fixed quality per profile: `crf`/`preset` do not apply to it. VP9
takes `crf` on its own 0-63 scale (same numbers give roughly the same quality as x264 in the
range people use, 15-35) and `preset` as libvpx's `cpu-used` speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avatar_studio.choices import ALPHA_OUTPUT_SUFFIXES, ENCODER_PRESETS, OUTPUT_FORMATS
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.encoders import (
    SOFTWARE_H264,
    encoder_threads,
    resolve_encoder,
    video_args,
)

VP9 = "libvpx-vp9"
PRORES = "prores_ks"
#: libvpx `cpu-used` per x264 preset: 0 slowest/best .. 5 fastest of the "good" deadline.
_VP9_SPEED = (5, 5, 5, 4, 3, 2, 1, 0, 0)


@dataclass(frozen=True)
class OutputFormat:
    suffix: str
    description: str

    @property
    def keeps_alpha(self) -> bool:
        return self.suffix in ALPHA_OUTPUT_SUFFIXES

    @property
    def uses_encoder_choice(self) -> bool:
        """Whether `--encoder` applies (the H.264/H.265 containers); .webm/.mov fix their codec."""
        return not self.keeps_alpha

    def video_codec_name(self, encoder: str) -> str:
        if self.suffix == ".webm":
            return VP9
        if self.suffix == ".mov":
            return PRORES
        return encoder

    def chosen_encoder(self, choice: str) -> str:
        """The concrete encoder a render with `--encoder choice` uses; trials it (cached), so an
        encoder that cannot start is refused here, before any slow work."""
        return resolve_encoder(choice) if self.uses_encoder_choice else SOFTWARE_H264

    def video_args(self, encoder: str, crf: int, preset: str, alpha: bool) -> list[str]:
        """Output options for the video stream (frames arrive as yuv420p for H.264/H.265, as
        bgr24/bgra otherwise, converted to BT.709 by the writer's filter)."""
        if self.suffix == ".webm":
            speed = _VP9_SPEED[ENCODER_PRESETS.index(preset)]
            return [
                "-c:v", VP9, "-crf", str(crf), "-b:v", "0", "-deadline", "good", "-cpu-used", str(speed),
                "-row-mt", "1", "-threads", str(encoder_threads()),
                "-pix_fmt", "yuva420p" if alpha else "yuv420p",
            ]  # fmt: skip
        if self.suffix == ".mov":
            return [
                "-c:v", PRORES, "-profile:v", "4444", "-vendor", "apl0",
                *(["-pix_fmt", "yuva444p10le", "-alpha_bits", "16"] if alpha else ["-pix_fmt", "yuv444p10le"]),
            ]  # fmt: skip
        return video_args(encoder, crf, preset)

    def audio_args(self, bitrate: str) -> list[str]:
        if self.suffix == ".webm":
            return ["-c:a", "libopus", "-b:a", bitrate]
        if self.suffix == ".mov":
            return ["-c:a", "pcm_s16le"]
        return ["-c:a", "aac", "-b:a", bitrate]

    def muxer_args(self) -> list[str]:
        # The index first, so players start before the whole file has arrived (MP4 family only).
        return ["-movflags", "+faststart"] if self.suffix in (".mp4", ".m4v", ".mov") else []


def output_format(path: Path | str) -> OutputFormat:
    """The format of an output file named `path`, or one sentence listing the supported suffixes."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        listed = "; ".join(f"{s} ({what})" for s, what in OUTPUT_FORMATS.items())
        raise AvatarStudioError(
            f"{Path(path).name!r} does not end in a video suffix this app writes; use one of: {listed}."
        )
    return OutputFormat(suffix, OUTPUT_FORMATS[suffix])
