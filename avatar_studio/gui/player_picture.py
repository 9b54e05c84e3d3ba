"""The player's picture: a view that always shows the whole clip, and the face overlay drawn on it.

The overlay items are children of the video item, in the clip's own pixels, so a box or mask
from the avatar's metadata lines up with the picture and is clipped to it (never on the
letterbox bars). The panel decides what to show; this module only draws it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView

from avatar_studio.faces.align import FrameMask
from avatar_studio.gui.compare_view import mask_image
from avatar_studio.gui.formatting import frame_at

Box = tuple[float, float, float, float]


def box_at(boxes: np.ndarray | None, fps: float, position_ms: int) -> Box | None:
    """The face box (x1, y1, x2, y2) shown at `position_ms` of a clip at `fps`, or None without boxes."""
    if boxes is None or len(boxes) == 0 or fps <= 0:
        return None
    index = min(frame_at(position_ms, fps), len(boxes) - 1)
    x1, y1, x2, y2 = (float(v) for v in boxes[index])
    return x1, y1, x2, y2


def face_box_item(video: QGraphicsItem) -> QGraphicsRectItem:
    """A hidden green rectangle over `video`, its child so that it is clipped to the picture."""
    box = QGraphicsRectItem(video)
    pen = QPen(QColor(80, 220, 120), 2)
    pen.setCosmetic(True)  # constant on-screen width whatever the zoom
    box.setPen(pen)
    box.hide()
    return box


def draw_face_overlay(box_item: QGraphicsRectItem, mask_item: QGraphicsPixmapItem,
                      box: Box | None, mask: FrameMask | None) -> None:
    """Show `mask` (it wins over the box), else `box`, else nothing."""
    mask_item.setVisible(mask is not None)
    if mask is not None:
        rows, cols = mask.weight.shape
        mask_item.setPixmap(QPixmap.fromImage(mask_image(FrameMask(0, 0, mask.weight), cols, rows)))
        mask_item.setPos(mask.x, mask.y)
        box = None
    if box is None:
        box_item.hide()
        return
    x1, y1, x2, y2 = box
    box_item.setRect(QRectF(x1, y1, x2 - x1, y2 - y1))
    box_item.show()


class FittingView(QGraphicsView):
    """A graphics view that always shows the whole video, letterboxed."""

    def __init__(self, scene: QGraphicsScene, item: QGraphicsItem) -> None:
        super().__init__(scene)
        self._item = item
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor(20, 20, 20))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click on the picture gives the keys to the player
        self.setMinimumSize(320, 240)

    def fit(self) -> None:
        self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()
