"""The preview player: an avatar's prepared clip or a finished render, with an optional face box.

The video is a `QGraphicsVideoItem` sized to the clip's own pixel size, so a face box from the
avatar's metadata (pixels of the prepared frames) is drawn with a rectangle item in the very same
coordinates; the view scales both together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.gui.formatting import format_clock
from avatar_studio.gui.icons import icon

try:  # QtMultimedia needs system libraries (libpulse on Linux) that a bare server may lack
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
    from PySide6.QtMultimediaWidgets import QGraphicsVideoItem

    MULTIMEDIA_ERROR = ""
except ImportError as error:
    MULTIMEDIA_ERROR = str(error)

NOTHING_TO_PLAY = "Nothing to play — select an avatar or a finished job."


def box_at(boxes: np.ndarray | None, fps: float, position_ms: int) -> tuple[float, float, float, float] | None:
    """The face box (x1, y1, x2, y2) shown at `position_ms` of a clip at `fps`, or None without boxes."""
    if boxes is None or len(boxes) == 0 or fps <= 0:
        return None
    index = min(max(int(position_ms / 1000.0 * fps + 1e-6), 0), len(boxes) - 1)
    x1, y1, x2, y2 = (float(v) for v in boxes[index])
    return x1, y1, x2, y2


class _FittingView(QGraphicsView):
    """A graphics view that always shows the whole video, letterboxed."""

    def __init__(self, scene: QGraphicsScene, item: QGraphicsVideoItem) -> None:
        super().__init__(scene)
        self._item = item
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor(20, 20, 20))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setMinimumSize(320, 240)

    def fit(self) -> None:
        self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()


class PlayerPanel(QWidget):
    """Plays one file; `show_avatar` adds the face-box overlay, `show_file` plays a render."""

    media_loaded = Signal(int)  # duration in ms once the player knows it
    media_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = QMediaPlayer(self)
        # Without a sound device an audio output only runs a thread that keeps warning; skip it.
        self.audio = QAudioOutput(self) if QMediaDevices.audioOutputs() else None
        if self.audio is not None:
            self.player.setAudioOutput(self.audio)
        self._scene = QGraphicsScene(self)
        self._video = QGraphicsVideoItem()
        self._video.setAspectRatioMode(Qt.AspectRatioMode.IgnoreAspectRatio)
        self._scene.addItem(self._video)
        self._box = QGraphicsRectItem()
        pen = QPen(QColor(80, 220, 120), 2)
        pen.setCosmetic(True)  # constant on-screen width whatever the zoom
        self._box.setPen(pen)
        self._box.setZValue(1)
        self._box.hide()
        self._scene.addItem(self._box)
        self.player.setVideoOutput(self._video)
        self._view = _FittingView(self._scene, self._video)
        self._boxes: np.ndarray | None = None
        self._fps = 0.0
        self.avatar_name: str | None = None  # the avatar being shown, if any

        self.title = QLabel(NOTHING_TO_PLAY)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.play_button = QToolButton()
        self.play_button.setIcon(icon("play"))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(self.player.setPosition)
        self.time_label = QLabel(self._time_text(0, 0))
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(90)
        if self.audio is not None:
            self.volume.setToolTip("Volume")
            self.volume.valueChanged.connect(lambda value: self.audio.setVolume(value / 100))
            self.audio.setVolume(0.8)
        else:
            self.volume.setEnabled(False)
            self.volume.setToolTip("No sound output device was found")
        self.face_box_toggle = QCheckBox("Face box")
        self.face_box_toggle.setToolTip("Draw the detected face box over the avatar, to check detection")
        self.face_box_toggle.toggled.connect(self._update_box)
        volume_icon = QLabel()
        volume_icon.setPixmap(icon("volume").pixmap(16, 16))

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(volume_icon)
        controls.addWidget(self.volume)
        controls.addWidget(self.face_box_toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self._view, 1)
        layout.addLayout(controls)

        self.player.durationChanged.connect(self._on_duration)
        self.player.positionChanged.connect(self._on_position)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)
        self._video.nativeSizeChanged.connect(self._on_native_size)
        self._set_has_boxes(False)

    # -- what to play ----------------------------------------------------------------------------

    def show_avatar(self, avatar) -> None:
        """Preview an avatar's prepared clip, with its face boxes available for the overlay."""
        self._boxes = np.asarray(avatar.boxes) if avatar.boxes is not None else None
        self._fps = float(avatar.fps)
        self._set_has_boxes(self._boxes is not None and len(self._boxes) > 0)
        self._load(Path(avatar.preview_path), f"Avatar: {avatar.name}", QSizeF(avatar.width, avatar.height))
        self.avatar_name = avatar.name

    def show_file(self, path: Path, title: str | None = None, autoplay: bool = False) -> None:
        """Play a finished render (no face boxes)."""
        self._boxes = None
        self._set_has_boxes(False)
        self._load(Path(path), title or f"Render: {Path(path).name}", None)
        if autoplay:
            self.player.play()

    def clear(self) -> None:
        self.player.stop()
        self.player.setSource(QUrl())
        self._boxes = None
        self.avatar_name = None
        self._set_has_boxes(False)
        self.title.setText(NOTHING_TO_PLAY)

    def toggle_play(self) -> None:
        if self.player.source().isEmpty():
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    @property
    def playhead_s(self) -> float:
        """Where the playhead is, in seconds of the clip shown."""
        return self.player.position() / 1000.0

    @property
    def source(self) -> Path | None:
        url = self.player.source()
        return Path(url.toLocalFile()) if not url.isEmpty() else None

    # -- internals -------------------------------------------------------------------------------

    def _load(self, path: Path, title: str, size: QSizeF | None) -> None:
        self.player.stop()
        self.avatar_name = None
        self.title.setText(title)
        if size is not None:
            self._set_video_size(size)
        self.player.setSource(QUrl.fromLocalFile(str(path)))

    def _set_video_size(self, size: QSizeF) -> None:
        if size.isEmpty():
            return
        self._video.setSize(size)
        self._scene.setSceneRect(QRectF(0, 0, size.width(), size.height()))
        self._view.fit()
        self._update_box()

    def _set_has_boxes(self, has_boxes: bool) -> None:
        self.face_box_toggle.setEnabled(has_boxes)
        self._update_box()

    def _on_native_size(self, size: QSizeF) -> None:
        if self._boxes is None:  # avatars keep their metadata size, which the boxes refer to
            self._set_video_size(size)

    def _on_duration(self, duration_ms: int) -> None:
        self.slider.setRange(0, max(duration_ms, 0))
        self.time_label.setText(self._time_text(self.player.position(), duration_ms))
        if duration_ms > 0:
            self.media_loaded.emit(duration_ms)

    def _on_position(self, position_ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(position_ms)
        self.time_label.setText(self._time_text(position_ms, self.player.duration()))
        self._update_box()

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setIcon(icon("pause" if playing else "play"))

    def _on_error(self, _error: QMediaPlayer.Error, message: str) -> None:
        self.title.setText(f"Cannot play this file: {message}")
        self.media_failed.emit(message)

    def _update_box(self) -> None:
        box = None
        if self.face_box_toggle.isChecked() and self.face_box_toggle.isEnabled():
            box = box_at(self._boxes, self._fps, self.player.position())
        if box is None:
            self._box.hide()
            return
        x1, y1, x2, y2 = box
        self._box.setRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        self._box.show()

    @staticmethod
    def _time_text(position_ms: int, duration_ms: int) -> str:
        return f"{format_clock(position_ms / 1000)} / {format_clock(duration_ms / 1000)}"


class UnavailablePlayer(QWidget):
    """Stands in for the player where QtMultimedia cannot load: says why; the rest of the app works."""

    media_loaded = Signal(int)
    media_failed = Signal(str)

    def __init__(self, reason: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.avatar_name: str | None = None
        self.title = QLabel(
            f"Video preview is unavailable: Qt Multimedia could not load ({reason}). On Linux install the "
            "PulseAudio client library (e.g. <tt>apt install libpulse0</tt>) and restart; rendering works regardless."
        )
        self.title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title, 1)

    def show_avatar(self, avatar) -> None:
        self.avatar_name = avatar.name

    def show_file(self, path: Path, title: str | None = None, autoplay: bool = False) -> None:
        self.avatar_name = None

    def clear(self) -> None:
        self.avatar_name = None

    def toggle_play(self) -> None:
        pass

    @property
    def playhead_s(self) -> float:
        return 0.0


def create_player(parent: QWidget | None = None) -> QWidget:
    """The preview player, or a note saying why there is none."""
    return UnavailablePlayer(MULTIMEDIA_ERROR, parent) if MULTIMEDIA_ERROR else PlayerPanel(parent)
