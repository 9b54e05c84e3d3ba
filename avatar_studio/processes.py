"""Other processes: whether one still runs, and children that cannot outlive this one.

Leftovers (staging folders, `.partial` files) carry the pid of the process that wrote them, and
the next process removes those whose writer is gone: `process_alive` is that test. A child
(ffmpeg) started through `child_options` and `adopt_child` is killed by the operating system when
this process dies, however it dies (SIGKILL included), so an orphan can never finish a file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (never signals it; os.kill would terminate it on Windows)."""
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def child_options() -> dict[str, Any]:
    """Extra `subprocess.Popen` arguments that make the child die with this process (Linux)."""
    if sys.platform.startswith("linux"):
        return {"preexec_fn": _die_with_parent(os.getpid())}
    return {}


def adopt_child(proc: subprocess.Popen[bytes]) -> None:
    """After starting `proc`: on Windows, tie it to this process's kill-on-close job object."""
    if sys.platform == "win32":
        _windows_job().assign(proc)


def _die_with_parent(parent_pid: int) -> Any:
    """The function the forked child runs before exec: ask for SIGKILL when the parent dies.

    PR_SET_PDEATHSIG fires when the thread that started the child ends; every ffmpeg here is
    started and finished by the same thread. SIGKILL, not SIGTERM: ffmpeg answers SIGTERM by
    finishing the file properly, which is exactly the playable leftover this prevents.
    """
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    pr_set_pdeathsig = 1

    def in_child() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return in_child


class _WindowsJob:
    """A job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: its handle closes when this process
    ends, and Windows then kills every process assigned to it."""

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        class BasicLimits(ctypes.Structure):
            _fields_ = [
                ("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD),
            ]  # fmt: skip

        class ExtendedLimits(ctypes.Structure):
            _fields_ = [
                ("BasicLimitInformation", BasicLimits), ("IoInfo", ctypes.c_uint64 * 6),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t),
            ]  # fmt: skip

        self._kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        self._handle = self._kernel32.CreateJobObjectW(None, None)
        limits = ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        job_object_extended_limit_information = 9
        self._kernel32.SetInformationJobObject(
            self._handle, job_object_extended_limit_information, ctypes.byref(limits), ctypes.sizeof(limits)
        )

    def assign(self, proc: subprocess.Popen[bytes]) -> None:
        self._kernel32.AssignProcessToJobObject(self._handle, int(proc._handle))  # type: ignore[attr-defined]


_job: _WindowsJob | None = None


def _windows_job() -> _WindowsJob:
    global _job
    if _job is None:
        _job = _WindowsJob()
    return _job
