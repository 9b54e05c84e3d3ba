"""Moving around a clip like in a video editor: the seek bar, frame and second steps, J/K/L, Home/End.

Kept apart from the player panel, which decides what is shown: this module only moves a
`QMediaPlayer`'s playhead, at the rate the panel reports, and binds the keys for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget

from avatar_studio.gui.formatting import frame_at

if TYPE_CHECKING:  # QtMultimedia may fail to load at run time; the panel guards that import
    from PySide6.QtMultimedia import QMediaPlayer

MAX_RATE = 4.0
KEYS_HELP = ("Space play/pause · Left/Right one frame · Shift+Left/Right one second · "
             "J play backwards/faster back · K pause · L play/faster · Home/End first/last frame")


def frame_position_ms(index: int, fps: float) -> int:
    """A position inside frame `index` (its middle), so a seek lands on that frame, not the one before."""
    return int((index + 0.5) * 1000.0 / fps)


class SeekSlider(QSlider):
    """A seek bar that jumps to where it is clicked (a plain slider only pages towards the click)."""

    seek_requested = Signal(int)  # position in ms, on a click or while dragging

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.sliderMoved.connect(self.seek_requested)

    def value_at(self, x: float) -> int:
        """The value under horizontal pixel `x`, by the style's own geometry of groove and handle."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        offset = int(x) - groove.x() - handle.width() // 2
        return QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), offset, max(span, 1),
                                              option.upsideDown)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            value = self.value_at(event.position().x())
            self.setValue(value)
            self.seek_requested.emit(value)
        super().mousePressEvent(event)  # a press on the handle (now under the mouse) starts a drag


class Transport:
    """Play, pause and step `player` by frames of the rate `fps()` gives (it changes per clip).

    Backwards play (J) is a timer stepping one frame back per tick: QtMultimedia only plays
    forwards, and a paused player shows the frame it is sought to, as video editors do."""

    def __init__(self, player: QMediaPlayer, fps: Callable[[], float]) -> None:
        self._player = player
        self._fps = fps
        self._backwards = QTimer(player)
        self._backwards.timeout.connect(self._step_back)
        self.backwards_rate = 0.0  # 0 while not playing backwards, else 1, 2 or 4 (times real time)

    @property
    def last_frame_index(self) -> int:
        return max(frame_at(self._player.duration(), self._fps()) - 1, 0)

    def toggle_play(self) -> None:
        if self._player.source().isEmpty():
            return
        if self._player.isPlaying():
            self._player.pause()
        else:
            self._stop_backwards()
            self._player.setPlaybackRate(1.0)
            self._player.play()

    def seek(self, position_ms: int) -> None:
        self._player.setPosition(max(0, min(int(position_ms), self._player.duration())))

    def step_frames(self, count: int) -> None:
        """Pause and move `count` frames (negative: back), staying inside the clip."""
        if self._player.source().isEmpty():
            return
        self._stop_backwards()
        self._move_frames(count)

    def go_to_start(self) -> None:
        self.step_frames(-frame_at(self._player.position(), self._fps()))

    def go_to_end(self) -> None:
        self.step_frames(self.last_frame_index - frame_at(self._player.position(), self._fps()))

    def play_faster(self) -> None:
        """L: play forwards, or twice as fast when already playing (up to 4x); while playing
        backwards, back to normal forward play."""
        if self._player.source().isEmpty():
            return
        playing = self._player.isPlaying()
        self._stop_backwards()
        self._player.setPlaybackRate(min(self._player.playbackRate() * 2, MAX_RATE) if playing else 1.0)
        self._player.play()

    def pause(self) -> None:
        """K."""
        self._stop_backwards()
        self._player.pause()
        self._player.setPlaybackRate(1.0)

    def play_slower(self) -> None:
        """J: halve a fast forward rate; otherwise play backwards, twice as fast on each press
        (up to 4x)."""
        if self._player.source().isEmpty():
            return
        if self._player.isPlaying() and self._player.playbackRate() > 1.0:
            self._player.setPlaybackRate(self._player.playbackRate() / 2)
            return
        self._player.pause()
        self.backwards_rate = min(self.backwards_rate * 2, MAX_RATE) if self.backwards_rate else 1.0
        self._backwards.start(max(int(1000.0 / (self._fps() * self.backwards_rate)), 1))

    def _step_back(self) -> None:
        if frame_at(self._player.position(), self._fps()) <= 0:
            self._stop_backwards()  # held on the first frame, as the end holds the last
            return
        self._move_frames(-1)

    def _stop_backwards(self) -> None:
        self._backwards.stop()
        self.backwards_rate = 0.0

    def _move_frames(self, count: int) -> None:
        self._player.pause()
        fps = self._fps()
        target = min(max(frame_at(self._player.position(), fps) + count, 0), self.last_frame_index)
        self._player.setPosition(frame_position_ms(target, fps))

    def add_keys(self, widget: QWidget) -> None:
        """Keys active while `widget` or one of its children (picture, seek bar, buttons) has the focus."""
        second = lambda sign: lambda: self.step_frames(sign * round(self._fps()))  # noqa: E731
        for key, action in (
            (Qt.Key.Key_Left, lambda: self.step_frames(-1)),
            (Qt.Key.Key_Right, lambda: self.step_frames(1)),
            (Qt.Modifier.SHIFT | Qt.Key.Key_Left, second(-1)),
            (Qt.Modifier.SHIFT | Qt.Key.Key_Right, second(1)),
            (Qt.Key.Key_J, self.play_slower),
            (Qt.Key.Key_K, self.pause),
            (Qt.Key.Key_L, self.play_faster),
            (Qt.Key.Key_Home, self.go_to_start),
            (Qt.Key.Key_End, self.go_to_end),
        ):
            shortcut = QShortcut(QKeySequence(key), widget, action)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
