"""The preview player: an avatar's prepared clip or a finished render, with an optional face box.

The video is a `QGraphicsVideoItem` sized to the clip's own pixel size, so a face box from the
avatar's metadata (pixels of the prepared frames) is drawn in the very same coordinates
(`player_picture`). It behaves like an editor's viewer: the first frame appears as soon as a
clip is chosen and the last one stays at the end (QtMultimedia would show black). The seek bar,
frame stepping and J/K/L keys live in `player_transport`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.faces.align import FrameMask
from avatar_studio.gui.formatting import format_timecode, frame_at
from avatar_studio.gui.icons import icon
from avatar_studio.gui.player_picture import FittingView, box_at, draw_face_overlay, face_box_item
from avatar_studio.gui.player_transport import KEYS_HELP, SeekSlider, Transport

try:  # QtMultimedia needs system libraries (libpulse on Linux) that a bare server may lack
    from PySide6.QtMultimedia import (
        QAudioOutput,
        QMediaDevices,
        QMediaMetaData,
        QMediaPlayer,
        QVideoFrame,
    )
    from PySide6.QtMultimediaWidgets import QGraphicsVideoItem

    MULTIMEDIA_ERROR = ""
except ImportError as error:
    MULTIMEDIA_ERROR = str(error)

NOTHING_TO_PLAY = "Nothing to play — select an avatar or a finished job."
NO_SOUND_DEVICE = "No sound device"
#: The rate assumed for stepping through a file whose rate QtMultimedia does not report.
FALLBACK_FPS = 25.0


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
        self._video.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        self._scene.addItem(self._video)
        self._box = face_box_item(self._video)
        self._mask_item = QGraphicsPixmapItem(self._video)
        self._mask_item.hide()
        #: The blend mask of an avatar frame (by index) under the form's settings; set by the window.
        self.mask_at: Callable[[int], FrameMask | None] | None = None
        self.player.setVideoOutput(self._video)
        self._view = FittingView(self._scene, self._video)
        self._boxes: np.ndarray | None = None
        self._fps = 0.0
        self._autoplay = False
        self._last_frame: QVideoFrame | None = None
        self.avatar_name: str | None = None  # the avatar being shown, if any
        self.transport = Transport(self.player, lambda: self.fps)

        self.title = QLabel(NOTHING_TO_PLAY)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.play_button = QToolButton()
        self.play_button.setIcon(icon("play"))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.transport.toggle_play)
        self.slider = SeekSlider()
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Click or drag to jump; " + KEYS_HELP)
        self.slider.seek_requested.connect(self.transport.seek)
        self.time_label = QLabel(self._time_text(0, 0))
        self.time_label.setToolTip("Position / length as hours:minutes:seconds:frame")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(90)
        volume_icon = QLabel()
        volume_icon.setPixmap(icon("volume").pixmap(16, 16))
        self.sound_note = QLabel(NO_SOUND_DEVICE)
        self.sound_note.setToolTip("No sound output device was found: previews play without sound. "
                                   "Connect one and restart to hear them")
        if self.audio is not None:
            self.volume.setToolTip("Volume")
            self.volume.valueChanged.connect(lambda value: self.audio.setVolume(value / 100))
            self.audio.setVolume(0.8)
            self.sound_note.hide()
        else:
            self.volume.hide()
            volume_icon.hide()
        self.face_box_toggle = QCheckBox("Face box")
        self.face_box_toggle.setToolTip("Draw the detected face box over the avatar, to check detection")
        self.face_box_toggle.toggled.connect(self._update_box)
        self.mask_toggle = QCheckBox("as mask")
        self.mask_toggle.setToolTip(
            "Show the face overlay as the mask the new mouth is blended through (the Quality group's "
            "mask, soft edge included) instead of the box"
        )
        self.mask_toggle.toggled.connect(self._update_box)

        # The seek bar has a row of its own, as in video editors: the whole width is a click target.
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.time_label)
        controls.addStretch(1)
        controls.addWidget(volume_icon)
        controls.addWidget(self.volume)
        controls.addWidget(self.sound_note)
        controls.addWidget(self.face_box_toggle)
        controls.addWidget(self.mask_toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self._view, 1)
        layout.addWidget(self.slider)
        layout.addLayout(controls)
        self.transport.add_keys(self)

        self.player.durationChanged.connect(self._on_duration)
        self.player.positionChanged.connect(self._on_position)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.errorOccurred.connect(self._on_error)
        self._video.nativeSizeChanged.connect(self._on_native_size)
        self._video.videoSink().videoFrameChanged.connect(self._on_frame)
        self._set_has_boxes(False)

    # -- what to play ----------------------------------------------------------------------------

    def show_avatar(self, avatar) -> None:
        """Preview an avatar's prepared clip, with its face boxes available for the overlay."""
        self._boxes = np.asarray(avatar.boxes) if avatar.boxes is not None else None
        self._set_has_boxes(self._boxes is not None and len(self._boxes) > 0)
        self._load(Path(avatar.preview_path), f"Avatar: {avatar.name}", QSizeF(avatar.width, avatar.height),
                   float(avatar.fps), autoplay=False)
        self.avatar_name = avatar.name

    def show_file(self, path: Path, title: str | None = None, autoplay: bool = False) -> None:
        """Show a finished render (no face boxes): its first frame, or playing with `autoplay`."""
        self._boxes = None
        self._set_has_boxes(False)
        self._load(Path(path), title or f"Render: {Path(path).name}", None, 0.0, autoplay)

    def clear(self) -> None:
        self._last_frame = None
        self.player.stop()
        self.player.setSource(QUrl())
        self._boxes = None
        self.avatar_name = None
        self._set_has_boxes(False)
        self.title.setText(NOTHING_TO_PLAY)

    def toggle_play(self) -> None:
        self.transport.toggle_play()

    @property
    def playhead_s(self) -> float:
        """Where the playhead is, in seconds of the clip shown."""
        return self.player.position() / 1000.0

    @property
    def source(self) -> Path | None:
        url = self.player.source()
        return Path(url.toLocalFile()) if not url.isEmpty() else None

    @property
    def fps(self) -> float:
        """The rate frames are stepped at: the avatar's, the file's as QtMultimedia reports it, or 25."""
        return self._fps or FALLBACK_FPS

    def seek(self, position_ms: int) -> None:
        self.transport.seek(position_ms)

    # -- internals -------------------------------------------------------------------------------

    def _load(self, path: Path, title: str, size: QSizeF | None, fps: float, autoplay: bool) -> None:
        self._last_frame = None  # the old clip's last frame must not be held over the new one
        self.player.stop()
        self.player.setPlaybackRate(1.0)
        self.avatar_name = None
        self._fps = fps
        self._autoplay = autoplay
        self.title.setText(title)
        if size is not None:
            self._set_video_size(size)
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        if autoplay:
            self.player.play()

    def _set_video_size(self, size: QSizeF) -> None:
        if size.isEmpty():
            return
        self._video.setSize(size)
        self._scene.setSceneRect(QRectF(0, 0, size.width(), size.height()))
        self._view.fit()
        self._update_box()

    def _set_has_boxes(self, has_boxes: bool) -> None:
        self.face_box_toggle.setEnabled(has_boxes)
        self.mask_toggle.setEnabled(has_boxes)
        self._update_box()

    def _on_native_size(self, size: QSizeF) -> None:
        if self._boxes is None:  # avatars keep their metadata size, which the boxes refer to
            self._set_video_size(size)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.LoadedMedia:
            if not self._fps:
                rate = self.player.metaData().value(QMediaMetaData.Key.VideoFrameRate)
                self._fps = float(rate) if isinstance(rate, (int, float)) and rate > 0 else 0.0
            if not self._autoplay and self.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
                self.player.pause()  # paused, QtMultimedia decodes and shows the first frame

    def _on_frame(self, frame: QVideoFrame) -> None:
        """Remember the latest picture; at the end QtMultimedia sends an empty one: show the last instead."""
        if frame.isValid():
            self._last_frame = QVideoFrame(frame)
        elif self._last_frame is not None and not self.player.source().isEmpty():
            self._video.videoSink().setVideoFrame(self._last_frame)

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

    def refresh_overlay(self) -> None:
        """Redraw the face overlay (e.g. after the mask settings changed)."""
        self._update_box()

    def _update_box(self) -> None:
        box = None
        if self.face_box_toggle.isChecked() and self.face_box_toggle.isEnabled():
            box = box_at(self._boxes, self._fps, self.player.position())
        mask = None
        if box is not None and self.mask_toggle.isChecked() and self.mask_at is not None and self._boxes is not None:
            mask = self.mask_at(min(frame_at(self.player.position(), self._fps), len(self._boxes) - 1))
        draw_face_overlay(self._box, self._mask_item, box, mask)

    def _time_text(self, position_ms: int, duration_ms: int) -> str:
        fps = self._fps if self.player.source().isValid() else 0.0
        return f"{format_timecode(position_ms, fps)} / {format_timecode(duration_ms, fps)}"


class UnavailablePlayer(QWidget):
    """Stands in for the player where QtMultimedia cannot load: says why; the rest of the app works."""

    media_loaded = Signal(int)
    media_failed = Signal(str)

    def __init__(self, reason: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.avatar_name: str | None = None
        self.source: Path | None = None  # what would be playing, so callers behave the same
        self.title = QLabel(
            f"Video preview is unavailable: Qt Multimedia could not load ({reason}). On Linux install the "
            "PulseAudio client library (e.g. <tt>apt install libpulse0</tt>) and restart; rendering works regardless."
        )
        self.title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title, 1)

    def show_avatar(self, avatar) -> None:
        self.source = Path(avatar.preview_path)
        self.avatar_name = avatar.name

    def show_file(self, path: Path, title: str | None = None, autoplay: bool = False) -> None:
        self.source = Path(path)
        self.avatar_name = None

    def clear(self) -> None:
        self.source = None
        self.avatar_name = None

    def toggle_play(self) -> None:
        pass

    @property
    def playhead_s(self) -> float:
        return 0.0

    mask_at = None  # no overlay to draw

    def refresh_overlay(self) -> None:
        pass


def create_player(parent: QWidget | None = None) -> PlayerPanel | UnavailablePlayer:
    """The preview player, or a note saying why there is none."""
    return UnavailablePlayer(MULTIMEDIA_ERROR, parent) if MULTIMEDIA_ERROR else PlayerPanel(parent)
