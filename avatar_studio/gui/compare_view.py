"""A before/after view: two images of the same size, split by a line the user drags.

Left of the line is the original ("before"), right of it the render ("after"), both drawn in the
same place at the same scale, so moving the line across the mouth shows exactly what changed. The
optional mask overlay tints where the lip-sync model's image was blended in.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from avatar_studio.faces.align import FrameMask

#: The mask overlay's colour (RGB): a magenta that no skin tone is mistaken for.
MASK_TINT = (255, 80, 200)


def bgr_image(frame: np.ndarray) -> QImage:
    """A QImage sharing nothing with `frame` (a copy), from (H, W, 3) uint8 BGR."""
    contiguous = np.ascontiguousarray(frame)
    height, width = contiguous.shape[:2]
    return QImage(contiguous.data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


def mask_image(mask: FrameMask, width: int, height: int, opacity: float = 0.45) -> QImage:
    """A transparent frame-sized image tinted by `mask`'s weights (the lip-sync region)."""
    rgba = np.zeros((height, width, 4), np.uint8)
    rows, cols = mask.weight.shape
    x1, y1 = max(mask.x, 0), max(mask.y, 0)
    x2, y2 = min(mask.x + cols, width), min(mask.y + rows, height)
    if x2 > x1 and y2 > y1:
        weight = mask.weight[y1 - mask.y : y2 - mask.y, x1 - mask.x : x2 - mask.x]
        rgba[y1:y2, x1:x2, :3] = MASK_TINT
        rgba[y1:y2, x1:x2, 3] = np.clip(weight * (255 * opacity), 0, 255).astype(np.uint8)
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


class BeforeAfterView(QWidget):
    """Shows `before` left of a draggable vertical line and `after` right of it."""

    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._mask: QImage | None = None
        self._split = 0.5
        self.show_mask = False
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.SplitHCursor)
        self.setToolTip("Drag to move the line: the original is on the left, the render on the right")

    @property
    def split(self) -> float:
        """Where the line is, as a fraction of the image's width (0 = all render, 1 = all original)."""
        return self._split

    def set_split(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction != self._split:
            self._split = fraction
            self.split_changed.emit(fraction)
            self.update()

    def set_images(self, before: np.ndarray, after: np.ndarray, mask: FrameMask | None = None) -> None:
        """BGR frames of the same size, and the region to tint when `show_mask` is on."""
        if before.shape != after.shape:
            raise ValueError(f"before {before.shape} and after {after.shape} differ in size")
        self._before, self._after = bgr_image(before), bgr_image(after)
        self._mask = None if mask is None else mask_image(mask, before.shape[1], before.shape[0])
        self.update()

    def set_show_mask(self, shown: bool) -> None:
        self.show_mask = shown
        self.update()

    def image_rect(self) -> QRectF:
        """Where the images are drawn: as large as fits, centred, aspect kept."""
        if self._before is None:
            return QRectF()
        scale = min(self.width() / self._before.width(), self.height() / self._before.height())
        width, height = self._before.width() * scale, self._before.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 20))
        if self._before is None or self._after is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No frame yet")
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.image_rect()
        line_x = target.left() + self._split * target.width()
        painter.drawImage(target, self._after)
        if self.show_mask and self._mask is not None:
            painter.drawImage(target, self._mask)
        painter.save()
        painter.setClipRect(QRectF(target.left(), target.top(), line_x - target.left(), target.height()))
        painter.drawImage(target, self._before)
        painter.restore()
        pen = QPen(QColor(255, 255, 255), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(line_x, target.top()), QPointF(line_x, target.bottom()))
        painter.drawText(target.adjusted(8, 6, -8, -6), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "Before")
        painter.drawText(target.adjusted(8, 6, -8, -6), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, "After")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._follow(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._follow(event)

    def _follow(self, event: QMouseEvent) -> None:
        target = self.image_rect()
        if target.width() > 0:
            self.set_split((event.position().x() - target.left()) / target.width())
