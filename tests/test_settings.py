"""settings.json: values are checked when read, a bad one is named with its file and key and can be reset,
and a file that is not a JSON object counts as unreadable (defaults and one warning)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from avatar_studio.cli.main import main
from avatar_studio.errors import AvatarStudioError
from avatar_studio.settings import SETTINGS_FILE, EngineSettings, SettingsError, reset_setting


def write_settings(library: Path, content: object) -> Path:
    library.mkdir(parents=True, exist_ok=True)
    path = library / SETTINGS_FILE
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("batch_size", True, "Batch size must be a whole number from 1 to 512, not True"),
        ("batch_size", 0, "not 0"),
        ("backend", "banana", "Unknown backend 'banana'; choose one of auto, torch, onnx"),
        ("crf", 99, "CRF must be a whole number from 0 to 51, not 99"),
        ("crf", 18.5, "not 18.5"),
        ("preset", "placebo", "Unknown encoder preset 'placebo'"),
        ("models_dir", 5, "It must be text"),
    ],
)
def test_an_unusable_value_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, key: str, value: object, problem: str
) -> None:
    path = write_settings(tmp_path, {"crf": 20, key: value})
    with pytest.raises(SettingsError) as caught:
        EngineSettings.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: the setting {key!r} is unusable (")
    assert problem in message
    assert message.endswith("; fix it there or reset it.") and "\n" not in message
    assert caught.value.key == key and caught.value.path == path


def test_reset_puts_only_that_key_back_to_its_default(tmp_path: Path) -> None:
    path = write_settings(tmp_path, {"backend": "banana", "crf": 20, "from_a_newer_version": [1, 2]})
    reset_setting(tmp_path, "backend")
    loaded = EngineSettings.load(tmp_path)
    assert loaded.backend == EngineSettings().backend
    assert loaded.crf == 20
    assert json.loads(path.read_text(encoding="utf-8"))["from_a_newer_version"] == [1, 2]
    with pytest.raises(AvatarStudioError, match="'colour' is not an engine setting"):
        reset_setting(tmp_path, "colour")


@pytest.mark.parametrize("content", [123, "backend", ["backend", "onnx"], None])
def test_a_file_that_is_not_an_object_gives_defaults_and_one_warning(
    tmp_path: Path, content: object, caplog: pytest.LogCaptureFixture
) -> None:
    library = tmp_path / f"library-{type(content).__name__}"
    path = write_settings(library, content)
    with caplog.at_level(logging.WARNING, logger="avatar_studio.settings"):
        assert EngineSettings.load(library) == EngineSettings()
        assert EngineSettings.load(library) == EngineSettings()
    warnings = [record.getMessage() for record in caplog.records if str(path) in record.getMessage()]
    assert len(warnings) == 1, warnings
    # Saving replaces the unusable file with a real one (keys it held cannot be kept: there are none).
    EngineSettings(crf=23).save(library)
    assert EngineSettings.load(library).crf == 23


def test_damaged_json_gives_defaults_and_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / SETTINGS_FILE).write_text('{"crf": 20', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="avatar_studio.settings"):
        assert EngineSettings.load(tmp_path) == EngineSettings()
    assert any("cannot be read as JSON" in record.getMessage() for record in caplog.records)


def test_saved_settings_round_trip_and_keep_unknown_keys(tmp_path: Path) -> None:
    path = write_settings(tmp_path, {"future_key": "kept"})
    settings = EngineSettings(backend="onnx", device="cpu", precision="fp32", batch_size=8, crf=30, preset="slow")
    settings.save(tmp_path)
    assert EngineSettings.load(tmp_path) == settings
    assert json.loads(path.read_text(encoding="utf-8"))["future_key"] == "kept"
    assert [p.name for p in tmp_path.iterdir()] == [SETTINGS_FILE]  # no temporary file left behind


def test_cli_reports_a_bad_value_in_one_line_and_survives_a_non_object_file(
    isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["render", "--avatar", "Nobody", "--audio", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out.mp4")]
    path = write_settings(isolated_home, {"batch_size": True})
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"avatar-studio: error: {path}: the setting 'batch_size' is unusable "
                   "(Batch size must be a whole number from 1 to 512, not True); fix it there or reset it."]

    write_settings(isolated_home, 123)
    assert main(args) == 2  # refused for the missing avatar, not a TypeError on the settings
    err = capsys.readouterr().err
    assert "internal error" not in err and "Nobody" in err
