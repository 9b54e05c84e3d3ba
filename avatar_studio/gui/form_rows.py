"""Small builders the form widgets share: a combo box of fixed choices, several widgets on one row."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget


def choice_combo(values: tuple[str, ...]) -> QComboBox:
    combo = QComboBox()
    combo.addItems(values)
    return combo


def widget_row(*widgets: QWidget) -> QWidget:
    """`widgets` side by side without margins; the first one takes the spare width."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for index, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if index == 0 else 0)
    return row
