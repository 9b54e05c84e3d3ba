"""The QApplication: names (so QSettings has a home), style, icon, and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from avatar_studio import __version__
from avatar_studio.paths import resource_path

ORGANIZATION = "AvatarStudio"
APPLICATION = "Avatar Studio"


def create_application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, created and styled on first call.

    Fusion follows the system palette (light or dark) on every platform; our style sheet only adds
    spacing and accents that read well on both.
    """
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv if argv is not None else sys.argv)
    app.setStyle("Fusion")
    style_file = resource_path("style.qss")
    if style_file.is_file():
        app.setStyleSheet(style_file.read_text(encoding="utf-8"))
    from avatar_studio.gui.icons import app_icon

    app.setWindowIcon(app_icon())
    return app


def run(library: Path | None = None) -> int:
    """Open the main window on `library` (else the remembered or default folder) until it closes."""
    app = create_application()
    from PySide6.QtWidgets import QMessageBox

    from avatar_studio.errors import AvatarStudioError
    from avatar_studio.gui.main_window import MainWindow

    try:
        window = MainWindow(library)
    except AvatarStudioError as error:  # e.g. an unwritable library folder or a damaged queue file
        QMessageBox.critical(None, APPLICATION, str(error))
        return 2
    window.show()
    return app.exec()
