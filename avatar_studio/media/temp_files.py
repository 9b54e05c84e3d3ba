"""Temporary files beside their destination: the write-then-rename pattern that never leaves a
half-written file under the user's name.

A temporary name records the writer's pid (`.video.4242-1a2b3c4d.partial.mp4`), so what a killed
process left behind can be told from another process's work in progress: `remove_dead_partials`
deletes the former, the same rule the avatar library applies to its staging folders.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path

from avatar_studio.errors import AvatarStudioError
from avatar_studio.processes import process_alive

log = logging.getLogger(__name__)

_PARTIAL_NAME = re.compile(r"^\..*\.(?P<pid>\d+)-[0-9a-f]{8}\.partial(\.[^.]+)?$")


def reserve_temp_beside(output: Path) -> Path:
    """Create an empty hidden file next to `output` to write into before renaming it onto `output`.

    Same folder, so the final `os.replace` is an atomic rename; same suffix, so ffmpeg and OpenCV
    pick the right format from the name. An unwritable folder fails here, before any work.

    Created with mode 0o666 (minus the umask) so the finished file gets ordinary permissions,
    which `tempfile.mkstemp`'s private 0o600 would not.
    """
    folder = output.parent
    for _ in range(100):
        temp = folder / f".{output.stem}.{os.getpid()}-{secrets.token_hex(4)}.partial{output.suffix}"
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue
        except OSError as exc:
            reason = "it does not exist" if not folder.exists() else exc.strerror or str(exc)
            raise AvatarStudioError(
                f"Cannot write into the folder {str(folder)!r} ({reason}); choose a writable folder."
            ) from None
    raise AvatarStudioError(f"Cannot create a temporary file in {str(folder)!r}; delete the .partial files left there.")


def remove_dead_partials(folder: Path) -> None:
    """Delete the temporary files in `folder` whose writing process no longer runs.

    Called once per render or export (not per file: a frames folder holds thousands of files).
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return  # a missing or unreadable folder is reported by whoever writes into it
    for entry in entries:
        match = _PARTIAL_NAME.match(entry.name)
        if match is None:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or process_alive(pid):
            continue
        log.info("Removing what an interrupted render or export left: %s", entry)
        try:
            entry.unlink()
        except OSError:
            pass  # a folder we may read but not change: the leftover stays, nothing else is hurt
