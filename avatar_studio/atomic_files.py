"""Files that appear complete or not at all: the write-beside-then-rename pattern in one place.

Everything the app writes under a name the user (or a later run) relies on goes to a hidden
temporary file in the same folder, is flushed to disk, and is renamed onto its name only when
complete. A crash, a cancel or a full disk leaves the old file (or none), never half of a new one,
and the temporary file is removed on every failure (`media.temp_files` names it after the writing
process, so what a killed process left can be cleared later).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from avatar_studio.media.temp_files import reserve_temp_beside


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed onto `path` (after an fsync) when the block ends.

    If the block raises (a failed write, a full disk, a cancel), or the flush or rename fails, the
    temporary file is removed and `path` is left as it was.
    """
    temp = reserve_temp_beside(path)
    try:
        yield temp
        _flush_to_disk(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)  # gone already after a successful rename
    _flush_folder(path.parent)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, all or nothing."""
    with atomic_output(path) as temp:
        temp.write_bytes(data)


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8), all or nothing."""
    write_bytes_atomically(path, text.encode("utf-8"))


def _flush_to_disk(path: Path) -> None:
    """Make the file's bytes durable before it takes the real name (so a power cut cannot leave it empty)."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows (POSIX folders can be fsynced)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
