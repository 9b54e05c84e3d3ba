"""Our SVG icons from `resources/icons/`, drawn in the palette's text colour.

The SVGs use `currentColor`; Qt's renderer does not know it, so the colour is substituted before
rendering. That way one set of files serves light and dark palettes alike.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from avatar_studio.paths import resource_path

_SIZES = (16, 24, 32, 48)


def icon(name: str) -> QIcon:
    """The icon `resources/icons/<name>.svg` in the current text colour (greyed when disabled)."""
    palette = QGuiApplication.palette()
    return _icon(
        name,
        palette.color(QPalette.ColorRole.WindowText).name(),
        palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText).name(),
    )


def app_icon() -> QIcon:
    """The window icon (its colours are fixed, not themed)."""
    return QIcon(str(resource_path("icons", "app.svg")))


@cache
def _icon(name: str, color: str, disabled_color: str) -> QIcon:
    source = resource_path("icons", f"{name}.svg").read_text(encoding="utf-8")
    result = QIcon()
    for size in _SIZES:
        result.addPixmap(_render(source, color, size), QIcon.Mode.Normal)
        result.addPixmap(_render(source, disabled_color, size), QIcon.Mode.Disabled)
    return result


def _render(svg: str, color: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode("utf-8")))
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(Qt.GlobalColor.transparent))
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap
