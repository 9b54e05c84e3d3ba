"""The preview player on real QtMultimedia (offscreen): first and last frame, seeking, stepping, overlay.

Where QtMultimedia cannot load (no libpulse) these skip with the reason and the fallback player,
which says why there is no preview, is tested instead.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from avatar_studio.gui import player_panel
from avatar_studio.gui.formatting import frame_at
from avatar_studio.gui.player_transport import frame_position_ms
from avatar_studio.media.ffmpeg import base_args

CLIP = "talking_man_25fps_844x844.mp4"

needs_multimedia = pytest.mark.skipif(
    bool(player_panel.MULTIMEDIA_ERROR),
    reason=f"Qt Multimedia cannot load here ({player_panel.MULTIMEDIA_ERROR}); "
           "test_without_qt_multimedia_the_fallback_says_why covers this machine",
)
pytestmark = [pytest.mark.timeout(120), pytest.mark.no_qt_log]


@pytest.fixture(scope="module")
def short_clip(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of the talking-man clip at 256x256, 25 fps (50 frames), with its sound."""
    out = tmp_path_factory.mktemp("player") / "short clip.mp4"
    subprocess.run([*base_args(), "-i", str(shared_media / CLIP), "-t", "2", "-vf", "scale=256:256",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)], check=True)
    return out


@pytest.fixture
def player(qtbot):
    panel = player_panel.PlayerPanel()
    qtbot.addWidget(panel)
    panel.resize(640, 420)
    panel.show()
    yield panel
    panel.clear()


def shown_picture(panel) -> np.ndarray:
    """The view's pixels as an (H, W, 3) array, as the user sees them."""
    image = panel._view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    height, width = image.height(), image.width()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3)


def load(qtbot, panel, clip: Path) -> None:
    with qtbot.waitSignal(panel.media_loaded, timeout=20_000):
        panel.show_file(clip)
    qtbot.waitUntil(lambda: panel._video.videoSink().videoFrame().isValid()
                    and panel._scene.sceneRect().width() == panel._video.nativeSize().width() > 0, timeout=20_000)


@needs_multimedia
def test_the_first_frame_shows_as_soon_as_a_clip_is_chosen(qtbot, player, short_clip):
    load(qtbot, player, short_clip)
    assert player.player.playbackState() == player_panel.QMediaPlayer.PlaybackState.PausedState
    assert player.player.position() < 40
    assert abs(player.player.duration() - 2000) < 200  # the length read back by QtMultimedia, ms
    centre = shown_picture(player)[player._view.height() // 2, player._view.width() // 2]
    assert centre.max() > 40, centre  # a face, not the black of an empty video item


@needs_multimedia
def test_the_last_frame_stays_at_the_end(qtbot, player, short_clip):
    load(qtbot, player, short_clip)
    player.seek(player.player.duration() - 300)
    with qtbot.waitSignal(player.player.mediaStatusChanged, timeout=20_000,
                          check_params_cb=lambda status: status == player_panel.QMediaPlayer.MediaStatus.EndOfMedia):
        player.toggle_play()
    qtbot.waitUntil(lambda: player._video.videoSink().videoFrame().isValid(), timeout=5_000)
    centre = shown_picture(player)[player._view.height() // 2, player._view.width() // 2]
    assert centre.max() > 40, centre


@needs_multimedia
def test_a_click_on_the_seek_bar_jumps_there(qtbot, player, short_clip):
    load(qtbot, player, short_clip)
    slider = player.slider
    x = int(slider.width() * 0.75)
    expected = slider.value_at(x)
    assert 0.6 * player.player.duration() < expected < 0.9 * player.player.duration()
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, slider.height() // 2))
    qtbot.waitUntil(lambda: abs(player.player.position() - expected) < 80, timeout=10_000)
    assert slider.value() == pytest.approx(expected, abs=80)


@needs_multimedia
def test_keys_step_by_frame_and_second_and_jump_to_the_ends(qtbot, player, short_clip):
    load(qtbot, player, short_clip)
    assert player.fps == pytest.approx(25.0)
    player._view.setFocus()
    qtbot.waitUntil(player._view.hasFocus, timeout=5_000)

    def press(key, modifier=Qt.KeyboardModifier.NoModifier):
        qtbot.keyClick(player._view, key, modifier)

    def at_frame(index: int) -> None:
        qtbot.waitUntil(lambda: frame_at(player.player.position(), player.fps) == index, timeout=10_000)

    for _ in range(3):
        press(Qt.Key.Key_Right)
    at_frame(3)
    press(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    at_frame(28)
    assert player.time_label.text().startswith("00:00:01:03 / 00:00:02:00")
    press(Qt.Key.Key_Left)
    at_frame(27)
    press(Qt.Key.Key_End)
    at_frame(49)
    press(Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    at_frame(24)
    press(Qt.Key.Key_Home)
    at_frame(0)
    press(Qt.Key.Key_L)
    qtbot.waitUntil(lambda: player.player.playbackState() == player_panel.QMediaPlayer.PlaybackState.PlayingState,
                    timeout=5_000)
    press(Qt.Key.Key_K)
    qtbot.waitUntil(lambda: player.player.playbackState() == player_panel.QMediaPlayer.PlaybackState.PausedState,
                    timeout=5_000)


@needs_multimedia
def test_j_plays_backwards_faster_on_each_press_and_holds_the_first_frame(qtbot, player, short_clip):
    load(qtbot, player, short_clip)
    player._view.setFocus()
    qtbot.waitUntil(player._view.hasFocus, timeout=5_000)
    frame = lambda: frame_at(player.player.position(), player.fps)  # noqa: E731
    player.transport.seek(frame_position_ms(30, player.fps))
    qtbot.waitUntil(lambda: frame() == 30, timeout=10_000)

    qtbot.keyClick(player._view, Qt.Key.Key_J)
    assert player.transport.backwards_rate == 1.0
    qtbot.waitUntil(lambda: frame() < 28, timeout=10_000)  # moving back, frame by frame
    assert player.player.playbackState() != player_panel.QMediaPlayer.PlaybackState.PlayingState
    qtbot.keyClick(player._view, Qt.Key.Key_J)
    assert player.transport.backwards_rate == 2.0
    qtbot.keyClick(player._view, Qt.Key.Key_K)
    assert player.transport.backwards_rate == 0.0
    stopped_at = frame()
    qtbot.wait(300)
    assert frame() == stopped_at  # K stopped it

    qtbot.keyClick(player._view, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: player.transport.backwards_rate == 0.0, timeout=20_000)  # reached the start
    assert frame() == 0
    qtbot.keyClick(player._view, Qt.Key.Key_J)
    qtbot.keyClick(player._view, Qt.Key.Key_L)  # L turns backwards play into forward play
    assert player.transport.backwards_rate == 0.0
    qtbot.waitUntil(lambda: player.player.playbackState() == player_panel.QMediaPlayer.PlaybackState.PlayingState,
                    timeout=5_000)


@needs_multimedia
def test_the_face_box_is_drawn_over_the_picture_only(qtbot, player, short_clip):
    load(qtbot, player, short_clip)
    player.resize(900, 360)  # a wide view: bars left and right of the square picture
    qtbot.waitUntil(lambda: player._view.mapFromScene(0, 0).x() > 20, timeout=5_000)
    player._boxes = np.array([[0, 0, 256, 256]] * 50, np.int32)  # a box on the picture's edges
    player._fps = 25.0
    player._set_has_boxes(True)
    player.face_box_toggle.setChecked(True)
    assert player._box.isVisible() and player._box.parentItem() is player._video
    left_edge = player._view.mapFromScene(0, 128)
    picture = shown_picture(player)
    bar = picture[left_edge.y(), left_edge.x() - 3]
    assert (np.abs(bar.astype(int) - 20) <= 3).all(), bar  # the bar keeps the view's background
    inside = picture[left_edge.y(), left_edge.x(): left_edge.x() + 4].astype(int)
    greenest = inside[np.argmax(inside[:, 1] - inside[:, 0])]
    assert greenest[1] > 150 and greenest[1] - greenest[0] > 60, inside  # the box, just inside the picture


@needs_multimedia
def test_without_a_sound_device_the_player_says_so_visibly(qtbot, monkeypatch):
    monkeypatch.setattr(player_panel.QMediaDevices, "audioOutputs", staticmethod(lambda: []))
    panel = player_panel.PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.audio is None
    assert panel.sound_note.isVisible() and panel.sound_note.text() == player_panel.NO_SOUND_DEVICE
    assert not panel.volume.isVisible()


def test_without_qt_multimedia_the_fallback_says_why(qtbot, tmp_path):
    player = player_panel.UnavailablePlayer("libpulse.so.0: cannot open shared object file")
    qtbot.addWidget(player)
    assert "libpulse.so.0" in player.title.text() and "libpulse0" in player.title.text()
    player.show_file(tmp_path / "render.mp4", autoplay=True)
    assert player.source == tmp_path / "render.mp4"
    player.toggle_play()  # the window's Space shortcut must not fail
    player.clear()
    assert player.source is None
