"""Helpers for long-running ffmpeg processes that stream through pipes (reader and writer).

A process whose stderr nobody reads blocks once the pipe buffer (64 KiB) is full, and then so does
whoever feeds or drains it; a process nobody waits for lingers as a zombie. These helpers make both
impossible to forget.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections import deque
from typing import IO

#: Lines ffmpeg prints after the real error, saying only that it gave up.
_BOILERPLATE = re.compile(r"Task finished with error|Terminating thread with return code|Conversion failed")
_COMPONENT_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")


def first_reason(stderr: bytes) -> str | None:
    """The first line ffmpeg printed, without its "[h264_nvenc @ 0x...]" prefixes: when an encoder
    or device cannot start, that line names the cause ("Cannot load libcuda.so.1") and the rest
    are consequences."""
    for raw in stderr.decode("utf-8", "replace").splitlines():
        line = _COMPONENT_PREFIX.sub("", raw).strip()
        if line:
            return line.rstrip(".")
    return None


def read_into(stream: IO[bytes], buffer: bytearray) -> int:
    """Fill `buffer` from `stream`; returns the bytes read (fewer only at end of stream)."""
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Kill `proc` if still running, close its pipes and reap it (no zombie, no open handle)."""
    if proc.poll() is None:
        proc.kill()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:  # stdin's buffered bytes cannot reach a killed process; that's fine
                pass
    proc.wait()


class StderrTail:
    """Reads a process's stderr to the end in a thread, keeping its last lines for messages."""

    def __init__(self, stream: IO[bytes] | None, keep: int = 20) -> None:
        self._lines: deque[str] = deque(maxlen=keep)
        self._stream = stream
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        if self._stream is None:
            return
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._lines.append(line)
        self._stream.close()

    @property
    def lines(self) -> list[str]:
        """The last lines read so far (complete once `join` has returned)."""
        return list(self._lines)

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def reason(self) -> str | None:
        """The most telling recent line: the last one that is not ffmpeg's generic sign-off,
        without its "[h264 @ 0x...]" component prefixes."""
        for line in reversed(self._lines):
            if not _BOILERPLATE.search(line):
                return _COMPONENT_PREFIX.sub("", line).strip() or None
        return None
