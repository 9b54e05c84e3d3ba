# ruff: noqa: F811 - pytest fixtures imported from gui_helpers are "redefined" as test arguments
"""The render form's Quality group, the one-frame preview and its before/after split (offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from avatar_studio.faces.align import FrameMask
from avatar_studio.jobs.model import JobSpec
from gui_helpers import make_speech, open_window, prepare_avatar, settings_dir  # noqa: F401 - fixtures
from standin_enhancers import write_brightening_enhancer
from standin_models import write_identity_model

pytestmark = [pytest.mark.timeout(180), pytest.mark.no_qt_log]


@pytest.fixture
def models_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ["AVATAR_STUDIO_MODELS"])
    folder.mkdir(parents=True, exist_ok=True)
    write_identity_model(folder / "lipsync.onnx")
    write_brightening_enhancer(folder / "sharpen.onnx", delta=0.5)
    return folder


def test_quality_group_goes_into_the_job_and_is_remembered(open_window, models_folder, tmp_path):
    window = open_window()
    quality = window.form.quality
    # Only the lip-sync model is offered as the model; the enhancer appears in the quality group.
    assert [window.form.model.itemData(i) for i in range(window.form.model.count())] == [str(models_folder / "lipsync.onnx")]
    assert quality.enhancer.findData(str(models_folder / "sharpen.onnx")) > 0
    for name, control in quality.controls.items():
        assert len(control.toolTip()) > 20, f"{name} has no plain-words tooltip"

    quality.mask_kind.setCurrentText("mouth")
    quality.mask_blur.setValue(0.1)
    quality.mouth_dilate.setValue(0.2)
    quality.color_match.setChecked(False)
    quality.silence.setCurrentText("original")
    quality.enhancer.setCurrentIndex(quality.enhancer.findData(str(models_folder / "sharpen.onnx")))
    quality.enhancer_region.setCurrentText("face")
    quality.enhancer_blend.setValue(0.35)
    quality.enhancer_weight.setValue(0.7)
    window.form.set_audio(tmp_path / "voice.wav")
    spec = window.form.spec()
    expected = {
        "mask": "mouth", "mask_blur": 0.1, "mouth_dilate": 0.2, "color_match": False, "silence": "original",
        "enhancer": str(models_folder / "sharpen.onnx"), "enhancer_region": "face", "enhancer_blend": 0.35,
        "enhancer_weight": 0.7,
    }  # fmt: skip
    assert {key: getattr(spec, key) for key in expected} == expected
    stored = JobSpec.from_dict(spec.to_dict()).render_settings()  # what the queue keeps and renders
    assert (stored.mask, stored.silence, stored.enhancer, stored.enhancer_blend) == ("mouth", "original", expected["enhancer"], 0.35)

    window.shutdown()
    again = open_window().form.quality  # a fresh start offers the same choices
    assert again.values() == expected
    again.enhancer.setCurrentIndex(0)
    assert not again.enhancer_blend.isEnabled() and again.values()["enhancer"] == ""


def drag(view, fraction_from: float, fraction_to: float) -> None:
    """Press at one place of the image and move there with the left button held, as a user drags."""
    rect = view.image_rect()
    y = rect.center().y()
    for kind, fraction, buttons in ((QEvent.Type.MouseButtonPress, fraction_from, Qt.MouseButton.LeftButton),
                                    (QEvent.Type.MouseMove, fraction_to, Qt.MouseButton.LeftButton),
                                    (QEvent.Type.MouseButtonRelease, fraction_to, Qt.MouseButton.NoButton)):  # fmt: skip
        point = QPointF(rect.left() + fraction * rect.width(), y)
        QApplication.sendEvent(view, QMouseEvent(kind, point, view.mapToGlobal(point), Qt.MouseButton.LeftButton,
                                                 buttons, Qt.KeyboardModifier.NoModifier))  # fmt: skip


def test_before_after_split_follows_the_mouse(qtbot):
    from avatar_studio.gui.compare_view import BeforeAfterView

    view = BeforeAfterView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    before = np.zeros((100, 100, 3), np.uint8)
    after = np.full((100, 100, 3), 200, np.uint8)
    view.set_images(before, after, FrameMask(40, 60, np.ones((20, 20), np.float32)))
    moves: list[float] = []
    view.split_changed.connect(moves.append)
    drag(view, 0.25, 0.8)
    assert moves[0] == pytest.approx(0.25, abs=0.01) and view.split == pytest.approx(0.8, abs=0.01)

    grab = view.grab().toImage()
    rect = view.image_rect()
    left = grab.pixelColor(int(rect.left() + 0.5 * rect.width()), int(rect.top() + 10))
    right = grab.pixelColor(int(rect.left() + 0.9 * rect.width()), int(rect.top() + 10))
    assert left.red() < 30 and right.red() > 170  # the original left of the line, the render right of it


def test_preview_frame_renders_the_playhead_frame_and_shows_it(
    open_window, qtbot, models_folder, shared_media, isolated_home, tmp_path
):
    prepare_avatar(isolated_home, shared_media)
    window = open_window()
    window.form.set_audio(make_speech(shared_media, tmp_path, 1.0))
    quality = window.form.quality
    quality.enhancer.setCurrentIndex(quality.enhancer.findData(str(models_folder / "sharpen.onnx")))
    quality.enhancer_region.setCurrentText("face")
    with qtbot.waitSignal(window.frame_previews.shown, timeout=120_000) as shown:
        task = window.frame_previews.preview()
        assert task is not None and window.frame_previews.preview() is None  # one at a time
    frame = shown.args[0]
    dialog = window.frame_previews.dialog
    assert dialog is not None and dialog.isVisible() and "Presenter" in dialog.windowTitle()
    assert "enhancer sharpen.onnx" in dialog.info.text()
    assert frame.rendered.shape == frame.original.shape
    assert (frame.rendered.astype(int) - frame.original.astype(int)).mean() > 5  # the brightening shows
    dialog.show_mask.setChecked(True)
    assert dialog.view.show_mask
    qtbot.waitUntil(lambda: window.frame_previews.task is None, timeout=10_000)

    # The face overlay shows the mask instead of the box, following the Quality group's choice.
    player = window.player
    player.show_avatar(window.session.library.get("Presenter"))
    player.face_box_toggle.setChecked(True)
    assert player._box.isVisible() and not player._mask_item.isVisible()
    player.mask_toggle.setChecked(True)
    assert player._mask_item.isVisible() and not player._box.isVisible()

    def covered() -> int:
        image = player._mask_item.pixmap().toImage()
        return sum(image.pixelColor(x, y).alpha() > 0 for y in range(0, image.height(), 2)
                   for x in range(0, image.width(), 2))  # fmt: skip

    lower_face = covered()
    quality.mask_kind.setCurrentText("mouth")
    assert 0 < covered() < lower_face  # the lips alone cover less than the lower face


def test_an_imported_enhancer_is_offered_as_an_enhancer_never_as_the_model(open_window, qtbot, tmp_path):
    from avatar_studio.gui.models_dialog import ModelsDialog

    window = open_window()
    source = write_brightening_enhancer(tmp_path / "gpen_bfr_256.onnx", size=256)
    with qtbot.waitSignal(window.models.changed, timeout=60_000):
        window.models.import_file(source)
    assert window.session.settings.default_model == ""  # not made the default lip-sync model
    assert window.form.model.count() == 0 and window.form.no_model_banner.isVisible()
    assert window.form.quality.enhancer.findText("gpen_bfr_256.onnx", Qt.MatchFlag.MatchStartsWith) > 0
    dialog = ModelsDialog(window.models, window)
    qtbot.addWidget(dialog)
    assert [dialog.table.item(0, c).text() for c in (1, 2)] == ["gpen_bfr_256.onnx", "Face enhancer"]
    assert "GPEN-BFR 256" in dialog.table.item(0, 1).toolTip()
    dialog.table.selectRow(0)
    assert not dialog.default_button.isEnabled()
    dialog.close()
