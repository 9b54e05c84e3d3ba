"""Engine settings shared by the CLI and the GUI, stored as JSON in the library folder.

They travel with the library (default model, backend choices, encoder defaults), so switching the
library folder switches them too. Unknown keys from newer versions are kept untouched on save.

A file that cannot be read as a JSON object (damaged, or holding `123` or a list) is treated as
absent: defaults, and one warning naming the file. A readable file with an unusable value (a
`"backend": "banana"`, a `"batch_size": true`) is refused with a `SettingsError` naming the file
and the key, which `reset_setting` repairs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from avatar_studio.atomic_files import write_text_atomically
from avatar_studio.choices import (
    BACKENDS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CRF,
    DEFAULT_ENCODER,
    DEFAULT_PRESET,
    DEVICES,
    ENCODER_PRESETS,
    MAX_CRF,
    MIN_CRF,
    PRECISIONS,
    VIDEO_ENCODERS,
    BackendChoice,
    DeviceChoice,
    EncoderPreset,
    PrecisionChoice,
    VideoEncoderChoice,
    check_batch_size,
    check_choice,
)
from avatar_studio.errors import AvatarStudioError

SETTINGS_FILE = "settings.json"
log = logging.getLogger(__name__)
_warned_unreadable: set[Path] = set()


class SettingsError(AvatarStudioError):
    """A value in settings.json the engine cannot use; `key` names it (see `reset_setting`)."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: the setting {key!r} is unusable ({problem.rstrip('.')}); fix it there or reset it.")
        self.path = path
        self.key = key


@dataclass
class EngineSettings:
    default_model: str = ""
    models_dir: str = ""
    backend: BackendChoice = "auto"
    device: DeviceChoice = "auto"
    precision: PrecisionChoice = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    output_dir: str = ""
    crf: int = DEFAULT_CRF
    preset: EncoderPreset = DEFAULT_PRESET
    encoder: VideoEncoderChoice = DEFAULT_ENCODER

    @classmethod
    def load(cls, library: Path) -> EngineSettings:
        """Settings of `library`: defaults for missing keys; `SettingsError` for a value that is unusable."""
        path = library / SETTINGS_FILE
        data = _read_object(path)
        values = {}
        for name in _field_names():
            if name in data:
                try:
                    _CHECKS.get(name, _like_default(name))(data[name])
                except AvatarStudioError as error:
                    raise SettingsError(path, name, str(error)) from None
                values[name] = data[name]
        return cls(**values)

    def save(self, library: Path) -> None:
        """Write atomically so a crash never leaves half a settings file; keys this version lacks stay."""
        path = library / SETTINGS_FILE
        existing = _read_object(path)
        existing.update(asdict(self))
        _write_object(path, existing)


def reset_setting(library: Path, key: str) -> None:
    """Put `key` back to its default in `library`'s settings file (what the app offers after a SettingsError)."""
    if key not in _field_names():
        raise AvatarStudioError(f"{key!r} is not an engine setting; choose one of {', '.join(_field_names())}.")
    path = library / SETTINGS_FILE
    data = _read_object(path)
    data[key] = getattr(EngineSettings(), key)
    _write_object(path, data)


def _field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(EngineSettings))


def _read_object(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; {} when the file is missing, and {} plus a warning when it is not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        _warn_unreadable(path, f"it cannot be read as JSON ({error})")
        return {}
    if not isinstance(data, dict):
        _warn_unreadable(path, f"it holds a {type(data).__name__}, not an object of settings")
        return {}
    return data


def _warn_unreadable(path: Path, why: str) -> None:
    """One warning per file per process: the CLI and the app load settings several times per action."""
    if path not in _warned_unreadable:
        _warned_unreadable.add(path)
        log.warning("Ignoring %s (%s); using the default settings, which are saved over it on the next change.",
                    path, why)


def _write_object(path: Path, data: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(data, indent=2))
    _warned_unreadable.discard(path)


def _text(value: object) -> None:
    if not isinstance(value, str):
        raise AvatarStudioError(f"It must be text (a path or a name), not {value!r}.")


def _crf(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_CRF <= value <= MAX_CRF:
        raise AvatarStudioError(f"CRF must be a whole number from {MIN_CRF} to {MAX_CRF}, not {value!r}.")


def _like_default(name: str) -> Callable[[object], object]:
    """The check for a setting without its own: a value of the default's type."""
    default = getattr(EngineSettings(), name)

    def check(value: object) -> None:
        if isinstance(value, bool) is not isinstance(default, bool) or not isinstance(value, type(default)):
            raise AvatarStudioError(f"It must be a {type(default).__name__} like {default!r}, not {value!r}.")

    return check


_CHECKS: dict[str, Callable[[object], object]] = {
    "default_model": _text,
    "models_dir": _text,
    "output_dir": _text,
    "backend": lambda value: check_choice("backend", value, BACKENDS),
    "device": lambda value: check_choice("device", value, DEVICES),
    "precision": lambda value: check_choice("precision", value, PRECISIONS),
    "batch_size": check_batch_size,
    "crf": _crf,
    "preset": lambda value: check_choice("encoder preset", value, ENCODER_PRESETS),
    "encoder": lambda value: check_choice("encoder", value, VIDEO_ENCODERS),
}
