"""The output file name the render form proposes: readable, safe on every OS, never an existing file."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection
from os import PathLike
from pathlib import Path

OUTPUT_SUFFIX = ".mp4"
FALLBACK_STEM = "render"
# Room for " (999)" and the suffix inside the usual 255-byte file-name limit, with multi-byte names.
MAX_STEM_BYTES = 180

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')  # forbidden on Windows or in paths anywhere
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)


def default_output_path(
    output_dir: str | PathLike[str],
    avatar_name: str,
    audio_path: str | PathLike[str],
    taken: Collection[str | PathLike[str]] = (),
) -> Path:
    """`<output_dir>/<avatar>_<audio stem>.mp4`, or `... (2).mp4`, `... (3).mp4` when that exists.

    `taken` lists outputs already promised to queued jobs that have not written them yet, so two
    jobs queued with the same avatar and audio do not get the same file.
    """
    folder = Path(output_dir)
    stem = safe_file_stem(avatar_name, Path(audio_path).stem)
    reserved = {Path(path) for path in taken}
    candidate = folder / f"{stem}{OUTPUT_SUFFIX}"
    number = 2
    while candidate.exists() or candidate in reserved:
        candidate = folder / f"{stem} ({number}){OUTPUT_SUFFIX}"
        number += 1
    return candidate


def safe_file_stem(*parts: str) -> str:
    """A file name stem made of `parts` joined by "_" that every OS accepts (never empty)."""
    cleaned = (_safe_part(part) for part in parts)
    stem = _truncate_utf8("_".join(part for part in cleaned if part), MAX_STEM_BYTES).rstrip(" .")
    if not stem:
        stem = FALLBACK_STEM
    if _WINDOWS_RESERVED.match(stem):
        stem = f"{stem}_{FALLBACK_STEM}"
    return stem


def _safe_part(text: str) -> str:
    """`text` with path separators and characters some OS forbid replaced, runs of spaces collapsed."""
    cleaned = _UNSAFE.sub("_", text)
    return " ".join(cleaned.split()).strip(" .")


def _truncate_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def is_writable_folder(folder: str | PathLike[str]) -> bool:
    """Whether `folder` exists as a folder this process may create files in."""
    path = Path(folder)
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def writable_output_folder(preferred: str | PathLike[str]) -> Path:
    """`preferred` when files can be written there, else ~/Videos, else the home folder, else the
    temporary folder: a proposed output must never point where the render is bound to fail."""
    for candidate in (Path(preferred), Path.home() / "Videos", Path.home()):
        if is_writable_folder(candidate):
            return candidate
    return Path(tempfile.gettempdir())
