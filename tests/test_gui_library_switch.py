"""Switching the library in Settings: refused (window intact) while another app has that library
open, remembered in config.json (where the CLI reads it) once it succeeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from avatar_studio.paths import library_dir, remembered_library
from avatar_studio.settings import EngineSettings

pytestmark = pytest.mark.no_qt_log

_HOLD_APP_LOCK = """
import sys
from pathlib import Path
from avatar_studio.locks import AppLock
lock = AppLock(Path(sys.argv[1])).acquire()  # held while this process runs
print("locked", flush=True)
sys.stdin.read()
"""


def test_switching_to_a_library_open_elsewhere_is_refused_then_a_free_one_is_remembered(
    open_window, tmp_path: Path, isolated_home: Path
) -> None:
    window = open_window()
    first = window.session
    busy = tmp_path / "busy library"
    other_app = subprocess.Popen([sys.executable, "-c", _HOLD_APP_LOCK, str(busy)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other_app.stdout is not None and other_app.stdout.readline().strip() == "locked"
        assert window.apply_settings(busy.resolve(), EngineSettings()) is False
        assert "already open on the library" in window.banner.text()
        assert window.session is first and not first.closed  # still working on its own library
    finally:
        other_app.kill()
        other_app.wait()
        for pipe in (other_app.stdin, other_app.stdout):
            if pipe is not None:
                pipe.close()

    free = (tmp_path / "free library").resolve()
    assert window.apply_settings(free, EngineSettings()) is True
    assert window.session.root == free and first.closed
    assert remembered_library() == free
    assert library_dir(None) == isolated_home.resolve()  # $AVATAR_STUDIO_HOME (set by the tests) still wins
