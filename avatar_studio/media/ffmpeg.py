"""The bundled ffmpeg binary and one way to run it.

Always an argument list, never a shell: file names with spaces, quotes or any Unicode pass through
untouched and can never be interpreted as commands. Every file name goes through `path_arg`
(absolute), so no name can select one of ffmpeg's protocols (`concat:`, `pipe:`, `http:`, ...)
or read as an option (`-y`). Every process is started by `start_ffmpeg`, so it dies with us, and
its argument list is logged at debug level first (as yt-dlp's --verbose does; `avatar-studio -v`
shows it), so a failing conversion can be re-run by hand.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from avatar_studio.errors import AvatarStudioError
from avatar_studio.processes import adopt_child, child_options

log = logging.getLogger(__name__)


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable shipped with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def base_args(loglevel: str = "error") -> list[str]:
    """The start of every ffmpeg command: quiet, never interactive, never asking before overwriting."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel]


def path_arg(path: Path | str) -> str:
    """`path` as an ffmpeg argument that can only mean that file: an absolute path starts with
    `/` (or a drive letter), so neither a protocol prefix nor a leading `-` survives in it."""
    return os.path.abspath(path)


def start_ffmpeg(command: Sequence[str], **popen_args: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(command)` with stdin closed unless given, and tied to this process so it
    is killed when we die (never an orphan that finishes a file nobody wants)."""
    popen_args.setdefault("stdin", subprocess.DEVNULL)
    log.debug("ffmpeg command line: %s", shlex.join(command))
    proc = subprocess.Popen(list(command), **popen_args, **child_options())
    adopt_child(proc)
    return proc


def last_error_line(stderr: bytes | str) -> str:
    """The most telling line of ffmpeg's error output (its last non-empty one)."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed without a message"


def run_ffmpeg(args: Sequence[str], *, what: str, source: Path | str | None = None) -> bytes:
    """Run ffmpeg with `args` (after `base_args()`) and return its stdout.

    `what` names the task for the error message ("decode the audio"); `source` the user's file.
    """
    proc = start_ffmpeg([*base_args(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        where = f" {Path(source).name!r}" if source is not None else ""
        raise AvatarStudioError(
            f"Could not {what}{where}: {last_error_line(stderr)}. "
            "Check that the file is a complete, readable media file."
        )
    return stdout
