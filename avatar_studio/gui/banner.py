"""A message strip floating over the top of the window: errors and notices without a modal dialog.

Errors must reach the user readably and leave the app usable; a banner does both and does not
block the work (or a test) the way a modal message box would. The full text (a traceback for a
bug) stays one click away. It floats over the panels instead of sitting in the layout, so a
message never pushes the window's contents down; a notice fades after a few seconds, an error
stays until dismissed or until the next action succeeds (`clear_error`).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QWidget,
)

from avatar_studio.gui.icons import icon

NOTICE_SECONDS = 8
MARGIN = 10


class MessageBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAutoFillBackground(True)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._details_button = QToolButton()
        self._details_button.setText("Details…")
        self._details_button.clicked.connect(self._show_details)
        close = QToolButton()
        close.setIcon(icon("cancel"))
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._details_button)
        layout.addWidget(close)
        self._details = ""
        self._is_error = False
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.timeout.connect(self.hide)
        self.hide()

    def float_over(self, host: QWidget) -> None:
        """Float at the top of `host` (over its contents, following its size) instead of in a layout."""
        self.setParent(host)
        host.installEventFilter(self)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def show_message(self, message: str, details: str = "", error: bool = True) -> None:
        self.setProperty("level", "error" if error else "info")
        self.style().unpolish(self)
        self.style().polish(self)
        self._icon.setPixmap(icon("error" if error else "about").pixmap(20, 20))
        self._text.setText(message)
        self._details = details
        self._is_error = error
        self._details_button.setVisible(bool(details))
        if error:
            self._fade.stop()
        else:
            self._fade.start(NOTICE_SECONDS * 1000)
        self._place()
        self.show()
        self.raise_()

    def clear_error(self) -> None:
        """The next action succeeded: an error shown before it is no longer true."""
        if self._is_error:
            self.hide()
            self._is_error = False

    def text(self) -> str:
        return self._text.text() if self.isVisible() else ""

    @property
    def is_error(self) -> bool:
        return self.isVisible() and self._is_error

    def _place(self) -> None:
        host = self.parentWidget()
        layout = host.layout() if host is not None else None
        if host is None or (layout is not None and layout.indexOf(self) >= 0):
            return  # laid out by its parent (not floating): nothing to place
        width = max(host.width() - 2 * MARGIN, 200)
        height = self.heightForWidth(width) if self.hasHeightForWidth() else self.sizeHint().height()
        self.setGeometry(MARGIN, MARGIN, width, max(height, self.sizeHint().height()))

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Details", self._text.text(), parent=self)
        box.setDetailedText(self._details)
        box.exec()
