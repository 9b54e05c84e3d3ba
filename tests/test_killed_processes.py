"""A render killed mid-way: ffmpeg dies with it, nothing finished-looking stays, leftovers go.

A real `python -m avatar_studio render` child renders a minute of silence (long enough to be
caught in the middle) and is killed once its hidden `.partial.mp4` has data in it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.probe import probe_media
from avatar_studio.media.temp_files import remove_dead_partials
from render_media import write_wav
from standin_models import write_identity_model

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")]

HANG_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_model(tmp_path_factory.mktemp("killed_models") / "identity.onnx")


@pytest.fixture(scope="module")
def long_silence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("killed_audio") / "silence.wav", np.zeros(60 * 16000))


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.partial*"))


def _start_render(library: Path, audio: Path, model: Path, output: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "avatar_studio", "render", "--library", str(library), "--avatar", "still",
        "--audio", str(audio), "--model", str(model), "-o", str(output), "--preset", "ultrafast", *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _render_until_encoding(render_avatar, render_library, long_silence, identity_model, out: Path):
    render_avatar("still")
    out.mkdir()
    proc = _start_render(render_library, long_silence, identity_model, out / "video.mp4")
    _wait_for(lambda: any(p.stat().st_size > 0 for p in _partials(out)) or proc.poll() is not None,
              "the render to write video data")  # fmt: skip
    assert proc.poll() is None, proc.stderr.read().decode()
    ffmpegs = _children(proc.pid)
    assert ffmpegs, "the render runs no ffmpeg child"
    return proc, ffmpegs


def test_sigkill_takes_ffmpeg_along_and_the_next_render_removes_the_leftover(
    render_avatar, render_library: Path, long_silence: Path, identity_model: Path, tmp_path: Path
) -> None:
    proc, ffmpegs = _render_until_encoding(
        render_avatar, render_library, long_silence, identity_model, tmp_path / "out"
    )
    proc.kill()
    proc.wait()
    for pid in ffmpegs:
        _wait_for(lambda pid=pid: _gone(pid), f"ffmpeg {pid} to die with its parent")
    out = tmp_path / "out"
    (leftover,) = _partials(out)
    with pytest.raises(AvatarStudioError):
        probe_media(leftover)  # killed mid-stream: not a playable video
    assert not (out / "video.mp4").exists()

    again = _start_render(render_library, long_silence, identity_model, out / "again.mp4", "--seconds", "0.2")
    assert again.wait(HANG_TIMEOUT_S) == 0, again.stderr.read().decode()
    assert not leftover.exists()
    assert sorted(p.name for p in out.iterdir()) == ["again.mp4"]


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(
    render_avatar, render_library: Path, long_silence: Path, identity_model: Path, tmp_path: Path,
    signal_number: int,
) -> None:  # fmt: skip
    proc, ffmpegs = _render_until_encoding(
        render_avatar, render_library, long_silence, identity_model, tmp_path / "out"
    )
    proc.send_signal(signal_number)
    assert proc.wait(HANG_TIMEOUT_S) == 130
    assert "interrupted" in proc.stderr.read().decode()
    for pid in ffmpegs:
        _wait_for(lambda pid=pid: _gone(pid), f"ffmpeg {pid} to stop")
    assert list((tmp_path / "out").iterdir()) == []


def test_only_partials_of_dead_processes_are_removed(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".video.{finished.pid}-0123abcd.partial.mp4"
        alive = tmp_path / f".video.{running.pid}-0123abcd.partial.mp4"
        ours = tmp_path / f".model.{os.getpid()}-0123abcd.partial.onnx"
        user_files = [tmp_path / "notes.partial.txt", tmp_path / f".x.{finished.pid}-nothex00.partial.mp4"]
        for path in (dead, alive, ours, *user_files):
            path.write_bytes(b"x")
        remove_dead_partials(tmp_path)
        assert not dead.exists()
        assert alive.exists() and ours.exists() and all(path.exists() for path in user_files)
    finally:
        running.kill()
        running.wait()
