"""Shared pieces of the GUI tests: an isolated window, a prepared avatar, short speech, a model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6 import QtCore

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.media.ffmpeg import base_args

#: Small frames keep preparation and rendering quick on a loaded CPU.
SMALL = PrepareSettings(max_height=256)
CLIP = "talking_man_25fps_844x844.mp4"
SPEECH = "speech_48k_stereo.wav"


def make_speech(shared_media: Path, folder: Path, seconds: float, name: str = "speech.wav") -> Path:
    """The first `seconds` of the shared speech recording, cut with the bundled ffmpeg."""
    out = folder / name
    subprocess.run([*base_args(), "-i", str(shared_media / SPEECH), "-t", str(seconds), str(out)], check=True)
    return out


def prepare_avatar(library_root: Path, shared_media: Path, name: str = "Presenter"):
    """An avatar prepared directly through the engine (tests of rendering do not need the GUI path)."""
    return AvatarLibrary(library_root).prepare(shared_media / CLIP, name, SMALL)


def install_model(checkpoint: Path, models_dir: Path) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(checkpoint, models_dir / "wav2lip.pth"))


def answer_next_dialog(qtbot, answer) -> list:
    """Call `answer(dialog)` on the next modal dialog once it is open (as a user would answer it);
    returns a list that receives what `answer` returned."""
    from PySide6.QtWidgets import QApplication

    seen: list = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QtCore.QTimer.singleShot(20, look)
            return
        seen.append(answer(dialog))

    QtCore.QTimer.singleShot(0, look)
    return seen


@pytest.fixture
def settings_dir(tmp_path: Path, qapp) -> Path:
    """Window geometry and the library choice go to a temporary QSettings file, not the user's."""
    folder = tmp_path / "qsettings"
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    QtCore.QSettings.setPath(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, str(folder))
    qapp.setOrganizationName("AvatarStudioTests")
    qapp.setApplicationName("Avatar Studio Tests")
    return folder


@pytest.fixture
def open_window(qtbot, settings_dir, isolated_home):
    """Build main windows on the test's library; every one is shut down at the end."""
    from avatar_studio.gui.main_window import MainWindow

    windows = []

    def build():
        window = MainWindow()
        # pytest-qt closes its widgets before fixtures finish: shut down first, so a window whose
        # render is still running (a test that failed half-way) never waits on the quit question.
        qtbot.addWidget(window, before_close_func=lambda closing: closing.shutdown())
        window.show()
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.shutdown()
