"""StageGroup: the first stage's error reaches the caller once every stage has stopped."""

from __future__ import annotations

import queue
import threading

import pytest

from avatar_studio.render.stages import END, StageGroup


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
    stages.start("consumer", consumer)
    stages.start("failing", failing)
    with pytest.raises(ValueError, match="broken stage"):
        stages.wait()
    assert stopped.is_set()
