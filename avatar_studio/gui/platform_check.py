"""Which system libraries Qt's X11 platform plugin needs and this machine lacks (Qt-free).

Qt's own message names one library (often libxcb-cursor0, even when that one is present and
another is missing) and then aborts. Checked before the QApplication exists, the user gets one
line naming every Debian/Ubuntu package to install instead.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

#: The shared libraries libqxcb.so links (as `ldd` lists them) and the apt package of each.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def _loads(soname: str) -> bool:
    """Whether the dynamic loader finds `soname` (the same search Qt's plugin load does)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ: dict[str, str] | os._Environ[str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will open its window through X11 (xcb) here."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    # Unset: Qt 6 prefers Wayland when a Wayland session is running, else X11.
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def missing_xcb_packages(loads: Callable[[str], bool] = _loads) -> list[str]:
    """The apt packages whose libraries the loader cannot find, in a stable order."""
    return [package for soname, package in XCB_LIBRARIES.items() if not loads(soname)]


def xcb_advice(missing: list[str]) -> str:
    """The one line printed at start when libraries are missing ("" when none are)."""
    if not missing:
        return ""
    return ("avatar-studio: Qt's X11 support lacks system libraries; install them with: "
            f"sudo apt install {' '.join(missing)}")
