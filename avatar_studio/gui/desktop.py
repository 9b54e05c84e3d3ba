"""The desktop around the app: opening folders in the file manager, telling the user a job ended.

Both can fail quietly on a bare Linux session (no file manager registered, no system tray), so
each says what happened instead: a folder that does not open is named so its path can be copied.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from avatar_studio.gui.icons import app_icon

NOTIFICATION_MS = 8000


def open_folder(folder: Path) -> str | None:
    """Show `folder` in the file manager; returns the sentence to show when that did not work."""
    if not folder.is_dir():
        return f"The folder {folder} does not exist any more."
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        return f"No file manager opened the folder; copy its path and open it yourself: {folder}"
    return None


class Notifier(QObject):
    """Tells about a finished job when the window is not in front: the taskbar entry asks for
    attention, and a system notification pops up where there is a system tray."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._tray: QSystemTrayIcon | None = None

    def notify(self, title: str, message: str) -> bool:
        """Returns whether the user was notified (False while the window has the focus)."""
        if self._window.isActiveWindow():
            return False
        QApplication.alert(self._window)
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(app_icon(), self)
                self._tray.setToolTip(QApplication.applicationName())
                self._tray.activated.connect(lambda _reason: self._window.activateWindow())
            self._tray.show()
            self._tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, NOTIFICATION_MS)
        return True
