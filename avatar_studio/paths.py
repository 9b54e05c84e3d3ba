"""Where things live on disk: the library folder, the models folder and the bundled resources.

The library folder is `--library DIR` when given, else `$AVATAR_STUDIO_HOME`, else the folder last
chosen in the app's Settings (`remember_library`, kept in `config.json` in the user config folder,
so the CLI uses the same library as the app), else the platform's user data folder. It holds the
prepared avatars, the job queue database and the engine settings, so pointing the app at another
folder switches everything at once.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import platformdirs

from avatar_studio.atomic_files import write_text_atomically
from avatar_studio.errors import AvatarStudioError

APP_NAME = "AvatarStudio"
HOME_ENV = "AVATAR_STUDIO_HOME"
MODELS_ENV = "AVATAR_STUDIO_MODELS"
#: Where config.json lives instead of the user config folder (portable installs, tests).
CONFIG_ENV = "AVATAR_STUDIO_CONFIG"
CONFIG_FILE = "config.json"
_LIBRARY_KEY = "library"
log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_INSTALLED_RESOURCES = Path(__file__).resolve().parent / "resources"  # where a wheel puts them
#: Icons, style sheet and the face-detector model: `resources/` in a checkout (editable install),
#: the `avatar_studio.resources` package in a wheel install (see pyproject.toml).
RESOURCES_DIR = _INSTALLED_RESOURCES if _INSTALLED_RESOURCES.is_dir() else PROJECT_ROOT / "resources"


def library_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The library folder (created on first use): override > $AVATAR_STUDIO_HOME > remembered > default."""
    return _ensure_folder(library_choice(override)[0], "library")


def library_choice(override: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The library folder and what chose it, in words (the Settings dialog shows both).

    `override` (--library, or the folder being chosen in Settings) > $AVATAR_STUDIO_HOME > the folder
    last chosen in Settings (`remember_library`) > the user data folder.
    """
    if override:
        path, origin = Path(override), "chosen in Settings or with --library"
    elif os.environ.get(HOME_ENV):
        path, origin = Path(os.environ[HOME_ENV]), f"set by ${HOME_ENV}"
    elif (remembered := remembered_library()) is not None:
        path, origin = remembered, "chosen in Settings"
    else:
        path, origin = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)), "the user data folder"
    return path.expanduser().resolve(), origin


def config_file() -> Path:
    """The user's config.json (app-wide choices that do not belong to one library)."""
    folder = os.environ.get(CONFIG_ENV) or platformdirs.user_config_dir(APP_NAME, appauthor=False)
    return Path(folder) / CONFIG_FILE


def remembered_library() -> Path | None:
    """The library folder chosen in the app's Settings, if any (an unreadable config counts as none)."""
    path = config_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("Ignoring %s (%s); using the default library folder.", path, error)
        return None
    folder = data.get(_LIBRARY_KEY) if isinstance(data, dict) else None
    return Path(folder) if isinstance(folder, str) and folder else None


def remember_library(folder: str | os.PathLike[str]) -> None:
    """Make `folder` the library the app and the CLI use from now on (unless --library or the env say otherwise)."""
    path = config_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data[_LIBRARY_KEY] = str(Path(folder).expanduser().resolve())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(data, indent=2))


def models_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The folder searched for model files (created on first use); see `models_choice`."""
    return _ensure_folder(models_choice(override)[0], "models")


def models_choice(override: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The models folder and what chose it, in words.

    `$AVATAR_STUDIO_MODELS` when set; otherwise the checkout's `pretrained/` folder (where the README
    tells people to drop weights) when running from source, else `models/` in the user data folder.
    A folder chosen in Settings (`override`) wins over all of them.
    """
    if override:
        path, origin = Path(override), "chosen in Settings"
    elif os.environ.get(MODELS_ENV):
        path, origin = Path(os.environ[MODELS_ENV]), f"set by ${MODELS_ENV}"
    elif (PROJECT_ROOT / "pretrained").is_dir():
        path, origin = PROJECT_ROOT / "pretrained", "this checkout's pretrained/ folder"
    else:
        path, origin = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models", "the user data folder"
    return path.expanduser().resolve(), origin


def _ensure_folder(path: Path, what: str) -> Path:
    """`path` resolved and created if missing; AvatarStudioError when it is a file or cannot be made."""
    path = path.expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise AvatarStudioError(f"The {what} folder {str(path)!r} is a file; choose a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AvatarStudioError(
            f"Cannot create the {what} folder {str(path)!r} ({error.strerror or error}); choose a folder you can write to."
        ) from None
    return path


def resource_path(*parts: str) -> Path:
    """A file shipped in `resources/` (icons, the vendored face-detector models)."""
    return RESOURCES_DIR.joinpath(*parts)
