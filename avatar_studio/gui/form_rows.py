"""Small builders the form widgets share: a combo box of fixed choices, several widgets on one row."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget


def choice_combo(values: tuple[str, ...]) -> QComboBox:
    combo = QComboBox()
    combo.addItems(values)
    return combo


def widget_row(*widgets: QWidget, stretch_all: bool = False) -> QWidget:
    """Widgets side by side: the first takes the spare width, or every non-label one does."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for index, widget in enumerate(widgets):
        grows = not isinstance(widget, QLabel) if stretch_all else index == 0
        layout.addWidget(widget, 1 if grows else 0)
    return row
