"""The menu bar, declared as data: each menu is a list of items naming the action object's method.

Adding a command is one `MenuItem` line here; the slot lives with the actions it belongs to
(`AvatarActions`, `RenderActions`, `ModelActions`, or the window for its own dialogs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut

from avatar_studio.gui.icons import icon

if TYPE_CHECKING:
    from avatar_studio.gui.main_window import MainWindow

Shortcut = str | QKeySequence.StandardKey | None


@dataclass(frozen=True)
class MenuItem:
    text: str
    slot: Callable[[], object]
    icon_name: str | None = None
    shortcut: Shortcut = None


SEPARATOR = None


def menu_layout(window: MainWindow) -> dict[str, list[MenuItem | None]]:
    """Menu titles to their items, in menu-bar order (None draws a separator)."""
    return {
        "&File": [
            MenuItem("&Add avatar…", window.avatars.add_dialog, "add", "Ctrl+O"),
            MenuItem("&Import model…", window.models.import_dialog, "import"),
            SEPARATOR,
            MenuItem("&Settings…", window.open_settings, "settings", QKeySequence.StandardKey.Preferences),
            SEPARATOR,
            MenuItem("&Quit", window.close, None, "Ctrl+Q"),  # Cmd+Q on macOS; Windows has no standard key
        ],
        "&Render": [
            MenuItem("&Queue render", window.renders.queue_render, "render", "Ctrl+R"),
            MenuItem("Quick &preview (5 s)", window.renders.quick_preview, "preview", "Ctrl+Shift+R"),
            MenuItem("Import &batch…", window.renders.import_batch, "import"),
            MenuItem("Play / pause", window.player.toggle_play, "play"),
        ],
        "&Models": [
            MenuItem("&Models…", window.models.open_dialog, "model"),
            MenuItem("&Import model…", window.models.import_dialog, "import"),
        ],
        "&Help": [
            MenuItem("Open &log", window.open_log, "folder"),
            MenuItem("&About Avatar Studio", window.open_about, "about"),
        ],
    }


def build_menus(window: MainWindow) -> dict[str, QAction]:
    """Fill the window's menu bar; returns the actions by their text without '&' (the first one
    where two menus offer the same command)."""
    actions: dict[str, QAction] = {}
    for title, items in menu_layout(window).items():
        menu = window.menuBar().addMenu(title)
        for item in items:
            if item is None:
                menu.addSeparator()
                continue
            action = QAction(item.text, window)
            if item.icon_name:
                action.setIcon(icon(item.icon_name))
            if item.shortcut is not None:
                action.setShortcut(QKeySequence(item.shortcut))
            action.triggered.connect(item.slot)
            menu.addAction(action)
            actions.setdefault(item.text.replace("&", ""), action)
    # Space toggles playback anywhere except where it types (line edits take it first).
    QShortcut(QKeySequence(Qt.Key.Key_Space), window, window.player.toggle_play)
    return actions
