"""An inline message strip at the top of the window: errors and notices without a modal dialog.

Errors must reach the user readably and leave the app usable; a banner does both and does not
block the work (or a test) the way a modal message box would. The full text (a traceback for a
bug) stays one click away.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QWidget,
)

from avatar_studio.gui.icons import icon


class MessageBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
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
        self.hide()

    def show_message(self, message: str, details: str = "", error: bool = True) -> None:
        self.setProperty("level", "error" if error else "info")
        self.style().unpolish(self)
        self.style().polish(self)
        self._icon.setPixmap(icon("error" if error else "about").pixmap(20, 20))
        self._text.setText(message)
        self._details = details
        self._details_button.setVisible(bool(details))
        self.show()

    def text(self) -> str:
        return self._text.text() if self.isVisible() else ""

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Details", self._text.text(), parent=self)
        box.setDetailedText(self._details)
        box.exec()
