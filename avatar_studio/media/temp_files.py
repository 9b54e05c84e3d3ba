"""Temporary files beside their destination: the write-then-rename pattern that never leaves a
half-written file under the user's name."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from avatar_studio.errors import AvatarStudioError


def reserve_temp_beside(output: Path) -> Path:
    """Create an empty hidden file next to `output` to write into before renaming it onto `output`.

    Same folder, so the final `os.replace` is an atomic rename; same suffix, so ffmpeg and OpenCV
    pick the right format from the name. An unwritable folder fails here, before any work.

    Created with mode 0o666 (minus the umask) so the finished file gets ordinary permissions,
    which `tempfile.mkstemp`'s private 0o600 would not.
    """
    folder = output.parent
    for _ in range(100):
        temp = folder / f".{output.stem}.{secrets.token_hex(4)}.partial{output.suffix}"
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
    raise AvatarStudioError(
        f"Cannot create a temporary file in {str(folder)!r}; delete the .partial files left there."
    )
