"""The app's start-up offer to reset a settings.json key it cannot use (real QMessageBox, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from avatar_studio.gui.app import offer_setting_reset
from avatar_studio.settings import SETTINGS_FILE, EngineSettings, SettingsError


def _bad_settings(library: Path) -> SettingsError:
    library.mkdir(parents=True, exist_ok=True)
    (library / SETTINGS_FILE).write_text(json.dumps({"backend": "banana", "crf": 21}), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        EngineSettings.load(library)
    return caught.value


def _answer(button_text: str, seen: list[str]) -> None:
    """Press `button_text` in the message box once it is up (it runs its own event loop)."""
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(20, lambda: _answer(button_text, seen))
        return
    seen.append(box.text())
    next(b for b in box.buttons() if b.text() == button_text).click()


def test_reset_repairs_only_the_named_key(qapp, tmp_path: Path) -> None:
    error = _bad_settings(tmp_path)
    seen: list[str] = []
    QTimer.singleShot(0, lambda: _answer("Reset “backend”", seen))
    assert offer_setting_reset(error) is True
    assert seen == [str(error)] and "settings.json" in seen[0] and "'backend'" in seen[0]
    settings = EngineSettings.load(tmp_path)
    assert settings.backend == "auto" and settings.crf == 21


def test_quit_leaves_the_file_as_it_was(qapp, tmp_path: Path) -> None:
    error = _bad_settings(tmp_path)
    before = (tmp_path / SETTINGS_FILE).read_text(encoding="utf-8")
    QTimer.singleShot(0, lambda: _answer("Quit", []))
    assert offer_setting_reset(error) is False
    assert (tmp_path / SETTINGS_FILE).read_text(encoding="utf-8") == before
