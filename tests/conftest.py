"""Shared test fixtures: the real media in ../shared/media and synthetic Wav2Lip weights."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).parent
FIXTURES = TESTS_DIR / "fixtures"
SHARED_MEDIA = TESTS_DIR.parent.parent / "shared" / "media"

# Fixtures that live in helper modules (tests/ is on the path through pytest's `pythonpath` option).
pytest_plugins = ["render_media", "gui_helpers", "batch_media"]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """The folder of real clips and speech; tests needing it skip where it is absent."""
    if not SHARED_MEDIA.is_dir():
        pytest.skip("../shared/media is not present")
    return SHARED_MEDIA


def _load_npz(name: str) -> dict:
    import numpy as np

    with np.load(FIXTURES / name) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def reference_forward() -> dict:
    """`mel`, `face` and the original model's `output` for the synthetic weights."""
    return _load_npz("wav2lip_reference_forward.npz")


@pytest.fixture(scope="session")
def reference_mel() -> dict:
    """`wav`, its `mel` and the chunk starts for 25/30/29.97 fps, from the original audio code."""
    return _load_npz("wav2lip_reference_mel.npz")


@pytest.fixture(scope="session")
def synthetic_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `wav2lip.pth`-shaped file ({"state_dict": ...}) holding the fixture's synthetic weights."""
    from synthetic_weights import write_checkpoint

    return write_checkpoint(tmp_path_factory.mktemp("weights") / "wav2lip_synthetic.pth")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own library and models folders; nothing touches the user's."""
    home = tmp_path / "library"
    models = tmp_path / "models"
    monkeypatch.setenv("AVATAR_STUDIO_HOME", str(home))
    monkeypatch.setenv("AVATAR_STUDIO_MODELS", str(models))
    monkeypatch.setenv("AVATAR_STUDIO_CONFIG", str(tmp_path / "config"))
    return home


def _background_tasks() -> Any:
    """The GUI's `BackgroundTask` class once a test has used it and a Qt application exists, else None."""
    import sys

    workers = sys.modules.get("avatar_studio.gui.workers")
    if workers is None:
        return None
    from PySide6.QtCore import QCoreApplication

    return workers.BackgroundTask if QCoreApplication.instance() is not None else None


@pytest.fixture(autouse=True)
def gui_threads_end_with_their_test() -> Iterator[None]:
    """After a GUI test: let the worker threads it started end and Qt's pending deletions run, so
    nothing a test left behind acts (emits, deletes) while the next one runs."""
    yield
    tasks = _background_tasks()
    if tasks is None:
        return
    from PySide6.QtCore import QCoreApplication, QEvent

    tasks.wait_for_all()
    QCoreApplication.processEvents()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


#: Past pytest-timeout's limit (pyproject.toml): its timer is a Python thread, which a deadlock
#: holding the GIL would never let run. faulthandler's timer is native: it prints every thread's
#: stack and ends the run, so CI fails with the evidence instead of running into its own limit.
NATIVE_WATCHDOG_S = 420
_watchdog_stderr = -1  # the terminal's stderr, kept before output capture takes file descriptor 2


def pytest_configure(config: pytest.Config) -> None:
    global _watchdog_stderr
    _watchdog_stderr = os.dup(2)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    import faulthandler

    faulthandler.dump_traceback_later(NATIVE_WATCHDOG_S, exit=True, file=_watchdog_stderr)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Let GUI worker threads a test left running (an encoder trial, say) end before the process
    does: Qt aborts when a QThread is destroyed while it still runs."""
    tasks = _background_tasks()
    if tasks is not None:
        tasks.wait_for_all()
