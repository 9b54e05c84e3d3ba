"""The render form, the add-avatar and settings dialogs and the banner as real widgets (offscreen).

Files are probed by the real ffmpeg when picked; folders are checked on the real file system.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QVBoxLayout, QWidget

from avatar_studio.choices import DEVICES
from avatar_studio.gui.add_avatar_dialog import AddAvatarDialog
from avatar_studio.gui.banner import MessageBanner
from avatar_studio.gui.job_form import JobForm
from avatar_studio.gui.settings_dialog import PAGES, SettingsDialog
from avatar_studio.model.catalog import list_models
from avatar_studio.settings import EngineSettings
from avatar_studio.system_info import device_availability
from gui_helpers import CLIP, install_model, make_speech

pytestmark = [pytest.mark.timeout(120), pytest.mark.no_qt_log]


@pytest.fixture
def form(qtbot, synthetic_checkpoint, tmp_path):
    widget = JobForm()
    qtbot.addWidget(widget)
    widget.set_models(list_models(install_model(synthetic_checkpoint, tmp_path / "models").parent), "")
    widget.set_avatars([("presenter-1a2b3c", "Presenter")])
    return widget


def wait_for_probe(qtbot, prober) -> None:
    qtbot.waitUntil(lambda: prober.task is not None and not prober.task.is_running, timeout=60_000)
    qtbot.wait(50)  # the answer is delivered on the GUI thread after the worker ends


def test_a_text_file_picked_as_audio_is_refused_with_ffmpegs_reason(qtbot, form, tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("not sound at all\n" * 50, encoding="utf-8")
    form.set_audio(notes)
    qtbot.waitUntil(lambda: bool(form.audio_problem), timeout=60_000)
    assert "not a media file ffmpeg can read" in form.audio_problem
    assert form.audio_info.isVisibleTo(form) and "notes.wav" in form.audio_info.text()
    assert not form.queue_button.isEnabled() and not form.preview_button.isEnabled()

    form.set_audio(tmp_path / "missing.wav")
    qtbot.waitUntil(lambda: "does not exist" in form.audio_problem, timeout=60_000)


def test_a_real_recording_shows_its_duration_and_format(qtbot, form, shared_media, tmp_path):
    speech = make_speech(shared_media, tmp_path, 2.0)
    form.set_audio(speech)
    qtbot.waitUntil(lambda: form.audio_details is not None, timeout=60_000)
    assert form.audio_problem == ""
    assert form.audio_info.text().startswith("2.0 s · wav · pcm_s16le · 48000 Hz"), form.audio_info.text()
    assert form.queue_button.isEnabled()
    # A newer pick wins over an older answer: a refused file after a good one blocks queueing again.
    form.set_audio(tmp_path / "gone.mp3")
    qtbot.waitUntil(lambda: bool(form.audio_problem), timeout=60_000)
    assert not form.queue_button.isEnabled() and form.audio_details is None


def test_every_control_is_labelled_and_the_numbers_explained(form):
    buddies = {label.buddy() for label in form.findChildren(QLabel) if label.buddy() is not None}
    for control in (form.avatar, form.audio, form.model, form.backend, form.device, form.precision,
                    form.loop, form.batch_size, form.crf, form.preset, form.encoder, form.output):
        assert control in buddies, control
    assert "memory" in form.batch_size.toolTip()
    assert "quality" in form.crf.toolTip().lower() and "bigger files" in form.crf.toolTip()
    assert "smaller" in form.preset.toolTip() and "longer" in form.preset.toolTip()


def test_devices_this_machine_lacks_are_greyed_out_with_the_reason(form):
    reasons = device_availability()
    assert set(reasons) == set(DEVICES) and reasons["cpu"] == reasons["auto"] == ""
    form.device.setCurrentText("mps")
    form.set_device_availability({**reasons, "mps": "Apple GPUs only"})
    row = form.device.findText("mps")
    item = form.device.model().item(row)
    assert not item.isEnabled() and item.toolTip() == "Apple GPUs only"
    assert form.device.currentText() == "auto"  # moved off the missing device
    assert form.device.model().item(form.device.findText("cpu")).isEnabled()


def test_the_proposed_output_never_points_at_a_folder_that_cannot_be_written(qtbot, form, tmp_path):
    form.set_audio(tmp_path / "voice.wav")
    missing = tmp_path / "no such folder"
    form.apply_settings(EngineSettings(output_dir=str(missing)), missing)
    proposed = Path(form.output.text())
    assert proposed.parent != missing and os.access(proposed.parent, os.W_OK)
    assert form.output_note.isVisibleTo(form) and str(missing) in form.output_note.text()
    form.apply_settings(EngineSettings(output_dir=str(tmp_path)), tmp_path)
    assert Path(form.output.text()).parent == tmp_path and not form.output_note.isVisibleTo(form)


def test_the_add_avatar_dialog_shows_the_file_before_preparing(qtbot, shared_media, tmp_path):
    dialog = AddAvatarDialog(shared_media / CLIP, "Presenter")
    qtbot.addWidget(dialog)
    wait_for_probe(qtbot, dialog.prober)
    assert dialog.preview is not None and dialog.problem == ""
    facts = dialog.facts.text()
    assert "844×844" in facts and "25 fps" in facts and " s" in facts, facts
    assert dialog.thumbnail.pixmap() is not None and not dialog.thumbnail.pixmap().isNull()
    assert dialog.prepare_button.isEnabled()

    fake = tmp_path / "holiday.mp4"
    fake.write_text("a text file with a video's name", encoding="utf-8")
    refused = AddAvatarDialog(fake, "Holiday")
    qtbot.addWidget(refused)
    wait_for_probe(qtbot, refused.prober)
    assert "ffmpeg" in refused.problem and "holiday.mp4" in refused.facts.text()
    assert not refused.prepare_button.isEnabled()


def test_settings_come_in_pages_showing_the_values_in_force(qtbot, isolated_home):
    dialog = SettingsDialog(isolated_home, EngineSettings(), [])
    qtbot.addWidget(dialog)
    assert [dialog.page_list.item(row).text() for row in range(dialog.page_list.count())] == list(PAGES)
    assert dialog.pages.count() == len(PAGES)
    # The test's library and models folders come from the environment: the dialog says so.
    assert dialog.library.isReadOnly()
    assert "set by $AVATAR_STUDIO_HOME" in dialog.in_force["library"].text()
    assert os.environ["AVATAR_STUDIO_MODELS"] in dialog.in_force["models"].text()
    assert "set by $AVATAR_STUDIO_MODELS" in dialog.in_force["models"].text()


def test_a_chosen_folder_is_checked_at_once_and_apply_hands_over_the_values(
        qtbot, isolated_home, tmp_path, monkeypatch):
    applied: list[tuple[Path, EngineSettings]] = []
    dialog = SettingsDialog(isolated_home, EngineSettings(), [],
                            apply=lambda root, settings: applied.append((root, settings)) or True)
    qtbot.addWidget(dialog)
    dialog.show()
    ok, apply = (dialog.buttons.button(b) for b in (dialog.buttons.StandardButton.Ok,
                                                    dialog.buttons.StandardButton.Apply))
    missing = tmp_path / "renders" / "new"
    dialog.output_dir.setText(str(missing))
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.No)
    assert not dialog.check_folder(dialog.output_dir)
    assert "does not exist" in dialog.in_force["output"].text()
    assert not ok.isEnabled() and not apply.isEnabled()

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    dialog.output_dir.setText(str(a_file))
    assert not dialog.check_folder(dialog.output_dir) and "not a folder" in dialog.in_force["output"].text()

    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    dialog.output_dir.setText(str(missing))
    assert dialog.check_folder(dialog.output_dir) and missing.is_dir()  # offered, and created
    assert f"In use: {missing}" in dialog.in_force["output"].text()
    dialog.crf.setValue(23)
    apply.click()
    assert dialog.isVisible()  # Apply keeps the dialog open
    assert len(applied) == 1 and applied[0][1].output_dir == str(missing) and applied[0][1].crf == 23
    dialog.preset.setCurrentText("fast")
    ok.click()
    assert len(applied) == 2 and applied[1][1].preset == "fast"
    assert dialog.result() == dialog.DialogCode.Accepted


def test_the_banner_floats_over_the_window_and_a_stale_error_goes(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    content = QLabel("the panels")
    layout.addWidget(content)
    host.resize(800, 500)
    host.show()
    banner = MessageBanner()
    banner.float_over(host)
    qtbot.waitUntil(lambda: content.geometry().height() > 0, timeout=5_000)
    before = content.geometry()
    banner.show_message("Render #3 failed: the audio file is gone.", error=True)
    qtbot.wait(20)
    assert banner.isVisible() and content.geometry() == before  # nothing was pushed down
    assert banner.geometry().width() > 700 and banner.geometry().top() >= 0
    host.resize(600, 500)
    qtbot.waitUntil(lambda: banner.geometry().width() < 600, timeout=5_000)
    banner.clear_error()
    assert banner.text() == ""
    banner.show_message("Model imported.", error=False)
    banner.clear_error()  # a notice is not an error: it stays until it fades
    assert banner.text() == "Model imported."
