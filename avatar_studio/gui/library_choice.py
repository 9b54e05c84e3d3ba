"""Which library folder the app opens, decided before any window (or QtMultimedia) is loaded.

The log file lives in the library, so `app.run` needs the folder before importing the window,
whose player loads QtMultimedia (and its first console lines) on import.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from avatar_studio.paths import library_dir, remember_library, remembered_library

SETTINGS_LIBRARY = "library/folder"  # where versions before the shared config kept the choice


def choose_library(override: Path | None) -> Path:
    """`--library` > `$AVATAR_STUDIO_HOME` > the folder chosen in Settings last time > the default."""
    legacy = str(QSettings().value(SETTINGS_LIBRARY, "", str))
    if legacy and remembered_library() is None:  # chosen by a version that kept it in QSettings
        remember_library(legacy)
    return library_dir(override)
