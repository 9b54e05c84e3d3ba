"""What a dropped or chosen file is for, judged by its suffix (Qt-free).

Videos and images become avatars, audio files fill the render form, model files are imported.
A video's sound track would also work as audio, but a dropped video means "new avatar" far more
often, so videos are never taken as audio by a drop (the audio browse dialog still accepts them).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from avatar_studio.choices import (
    AUDIO_SUFFIXES,
    IMAGE_SUFFIXES,
    MODEL_SUFFIXES,
    OUTPUT_FORMATS,
    OUTPUT_SUFFIXES,
    VIDEO_SUFFIXES,
)

AVATAR_FILTER = "Videos and photos (" + " ".join(f"*{s}" for s in VIDEO_SUFFIXES + IMAGE_SUFFIXES) + ");;All files (*)"
AUDIO_FILTER = "Audio (" + " ".join(f"*{s}" for s in AUDIO_SUFFIXES + VIDEO_SUFFIXES) + ");;All files (*)"
MODEL_FILTER = "Wav2Lip models (" + " ".join(f"*{s}" for s in MODEL_SUFFIXES) + ")"
#: One entry per output format (the first, .mp4, is the default), e.g. "VP9 with alpha + Opus (*.webm)".
OUTPUT_FILTER = ";;".join(f"{what} (*{suffix})" for suffix, what in OUTPUT_FORMATS.items())


class FileKind(Enum):
    AVATAR = "avatar"
    AUDIO = "audio"
    MODEL = "model"


def file_kind(path: Path) -> FileKind | None:
    """The kind of `path`, or None for files the app has no use for."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES or suffix in IMAGE_SUFFIXES:
        return FileKind.AVATAR
    if suffix in AUDIO_SUFFIXES:
        return FileKind.AUDIO
    if suffix in MODEL_SUFFIXES:
        return FileKind.MODEL
    return None


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def with_output_suffix(path: Path, chosen_filter: str) -> Path:
    """`path` as typed in the save dialog, given the suffix of the chosen format when it has no
    output suffix of its own (a typed ".webm" wins over the filter)."""
    if path.suffix.lower() in OUTPUT_FORMATS:
        return path
    chosen = next((s for s in OUTPUT_FORMATS if chosen_filter.endswith(f"(*{s})")), OUTPUT_SUFFIXES[0])
    return path.with_name(path.name + chosen)
