"""The library folder: --library > $AVATAR_STUDIO_HOME > the one chosen in the app > the default."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from avatar_studio import paths
from avatar_studio.paths import config_file, library_dir, remember_library, remembered_library


def test_the_library_chosen_in_the_app_is_the_one_the_cli_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.HOME_ENV)
    chosen = tmp_path / "chosen library"
    assert remembered_library() is None
    remember_library(chosen)
    assert library_dir() == chosen.resolve() and chosen.is_dir()
    assert json.loads(config_file().read_text(encoding="utf-8")) == {"library": str(chosen.resolve())}
    # --library and $AVATAR_STUDIO_HOME still win.
    assert library_dir(tmp_path / "given") == (tmp_path / "given").resolve()
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "from env"))
    assert library_dir() == (tmp_path / "from env").resolve()


def test_other_keys_in_the_config_file_are_kept(tmp_path: Path) -> None:
    config_file().parent.mkdir(parents=True)
    config_file().write_text(json.dumps({"theme": "dark"}), encoding="utf-8")
    remember_library(tmp_path / "lib")
    assert json.loads(config_file().read_text(encoding="utf-8"))["theme"] == "dark"


@pytest.mark.parametrize("content", ["{not json", "123", '{"library": 5}'])
def test_an_unusable_config_falls_back_to_the_default(
    content: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(paths.HOME_ENV)
    config_file().parent.mkdir(parents=True)
    config_file().write_text(content, encoding="utf-8")
    monkeypatch.setattr(paths.platformdirs, "user_data_dir", lambda *a, **k: str(config_file().parent / "default"))
    with caplog.at_level(logging.WARNING, logger="avatar_studio.paths"):
        assert library_dir() == (config_file().parent / "default").resolve()
    assert (content == "{not json") == any(str(config_file()) in r.getMessage() for r in caplog.records)
