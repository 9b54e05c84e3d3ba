"""The QApplication: names (so QSettings has a home), style, icon, logging, and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from avatar_studio import __version__
from avatar_studio.gui.platform_check import missing_xcb_packages, uses_xcb, xcb_advice
from avatar_studio.paths import resource_path
from avatar_studio.settings import SettingsError

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


def warn_about_missing_system_libraries() -> None:
    """Before Qt tries X11: one line naming the apt packages its xcb plugin still needs."""
    if uses_xcb():
        advice = xcb_advice(missing_xcb_packages())
        if advice and sys.stderr is not None:  # None: a Windows gui-script has no console
            print(advice, file=sys.stderr)


def run(library: Path | None = None, verbose: bool = False) -> int:
    """Open the main window on `library` (else the remembered or default folder) until it closes.

    The console stays quiet unless `verbose`: everything chatty goes to the library's log file.
    """
    warn_about_missing_system_libraries()
    app = create_application()
    from PySide6.QtWidgets import QMessageBox

    from avatar_studio.errors import AvatarStudioError
    from avatar_studio.gui.app_log import AppLog
    from avatar_studio.gui.library_choice import choose_library

    try:
        app_log = AppLog(choose_library(library), verbose)
    except (AvatarStudioError, OSError) as error:  # an unwritable library folder
        QMessageBox.critical(None, APPLICATION, str(error))
        return 2
    try:
        # Imported only now: the window's player loads QtMultimedia, which talks on the console.
        from avatar_studio.gui.main_window import MainWindow

        while True:
            try:
                window = MainWindow(library)
                break
            except SettingsError as error:  # a bad value in settings.json: offer to reset that key
                if not offer_setting_reset(error):
                    return 2
            except AvatarStudioError as error:  # e.g. the library is open in another window, a damaged queue
                QMessageBox.critical(None, APPLICATION, str(error))
                return 2
        window.show()
        code = app.exec()
        from avatar_studio.gui.workers import BackgroundTask

        BackgroundTask.wait_for_all()  # a render that outlived the window's wait still ends cleanly
        return code
    finally:
        app_log.close()


def offer_setting_reset(error: SettingsError) -> bool:
    """Ask whether to put the setting `error` names back to its default; True once it was reset."""
    from PySide6.QtWidgets import QMessageBox

    from avatar_studio.settings import reset_setting

    box = QMessageBox(QMessageBox.Icon.Warning, APPLICATION, str(error))
    reset = box.addButton(f"Reset “{error.key}”", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(reset)
    box.exec()
    if box.clickedButton() is not reset:
        return False
    reset_setting(error.path.parent, error.key)
    return True
