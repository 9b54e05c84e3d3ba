"""The bundled ffmpeg binary and the one place its processes start.

Always an argument list, never a shell: file names with spaces, quotes or any Unicode pass through
untouched and can never be interpreted as commands. Every command is logged at debug level first
(`logging.getLogger("avatar_studio.media.ffmpeg")`), as yt-dlp's --verbose does, so a failing
conversion can be re-run by hand.
"""

from __future__ import annotations

import functools
import logging
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg

from avatar_studio.errors import AvatarStudioError

log = logging.getLogger(__name__)


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable shipped with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def base_args(loglevel: str = "error") -> list[str]:
    """The start of every ffmpeg command: quiet, never interactive, never asking before overwriting."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel]


def start_ffmpeg(
    command: Sequence[str], *, stdin: int | None = subprocess.DEVNULL, stdout: int | None = subprocess.PIPE,
    bufsize: int = -1,
) -> subprocess.Popen[bytes]:
    """Start `command` (an argument list from `base_args()`) with stderr piped; read it with `StderrTail`."""
    _log_command(command)
    return subprocess.Popen(list(command), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, bufsize=bufsize)


def run_ffmpeg_command(command: Sequence[str], *, timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `command` to the end, capturing stdout and stderr (raises `subprocess.TimeoutExpired`)."""
    _log_command(command)
    return subprocess.run(list(command), capture_output=True, timeout=timeout, check=False)


def _log_command(command: Sequence[str]) -> None:
    log.debug("ffmpeg command line: %s", shlex.join(command))


def last_error_line(stderr: bytes | str) -> str:
    """The most telling line of ffmpeg's error output (its last non-empty one)."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed without a message"


def run_ffmpeg(args: Sequence[str], *, what: str, source: Path | str | None = None) -> bytes:
    """Run ffmpeg with `args` (after `base_args()`) and return its stdout.

    `what` names the task for the error message ("decode the audio"); `source` the user's file.
    """
    proc = run_ffmpeg_command([*base_args(), *args])
    if proc.returncode != 0:
        where = f" {Path(source).name!r}" if source is not None else ""
        raise AvatarStudioError(
            f"Could not {what}{where}: {last_error_line(proc.stderr)}. "
            "Check that the file is a complete, readable media file."
        )
    return proc.stdout
