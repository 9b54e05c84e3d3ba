"""StageGroup: errors surface in the caller, and background stages yield the CPU to the model's."""

from __future__ import annotations

import os
import queue
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.media.video_writer import VideoWriter
from avatar_studio.processes import BACKGROUND_NICENESS
from avatar_studio.render.stages import END, StageGroup

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")


def _nice_of(thread_or_process_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_or_process_id)


@linux_only
def test_background_stages_and_their_threads_run_below_the_foreground_ones() -> None:
    seen: dict[str, int] = {}

    def record(name: str) -> None:
        seen[name] = _nice_of(threading.get_native_id())
        child = threading.Thread(target=lambda: seen.__setitem__(f"{name} child", _nice_of(threading.get_native_id())))
        child.start()
        child.join()

    stages = StageGroup()
    stages.start("model", lambda: record("model"))
    stages.start("light", lambda: record("light"), background=True)
    stages.wait()
    caller = _nice_of(threading.get_native_id())
    assert seen["model"] == seen["model child"] == caller
    assert seen["light"] == seen["light child"] == min(19, caller + BACKGROUND_NICENESS)


def test_wait_raises_the_first_stage_error_after_every_stage_stopped() -> None:
    channel: queue.Queue = queue.Queue(1)
    stopped = threading.Event()

    def consumer() -> None:
        try:
            while stages.get(channel) is not END:
                pass
        finally:
            stopped.set()

    def failing() -> None:
        raise ValueError("broken stage")

    stages = StageGroup()
    stages.start("consumer", consumer, background=True)
    stages.start("failing", failing)
    with pytest.raises(ValueError, match="broken stage"):
        stages.wait()
    assert stopped.is_set()


@linux_only
def test_the_encoder_process_runs_below_the_caller(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "out.mp4", 64, 48, 25)
    try:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        ffmpeg_nice = _nice_of(writer._proc.pid)  # the one ffmpeg process this writer feeds
    finally:
        writer.abort()
    assert ffmpeg_nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICENESS)
