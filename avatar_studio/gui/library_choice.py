"""Which library folder the app opens, decided before any window (or QtMultimedia) is loaded.

The log file lives in the library, so `app.run` needs the folder before importing the window,
whose player loads QtMultimedia (and its first console lines) on import.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from avatar_studio.paths import HOME_ENV, library_dir

SETTINGS_LIBRARY = "library/folder"


def choose_library(override: Path | None) -> Path:
    """`--library` > `$AVATAR_STUDIO_HOME` > the folder chosen in Settings last time > the default."""
    if override is None and not os.environ.get(HOME_ENV):
        remembered = str(QSettings().value(SETTINGS_LIBRARY, "", str))
        override = Path(remembered) if remembered else None
    return library_dir(override)
