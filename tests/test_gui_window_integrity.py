# ruff: noqa: F811 - pytest fixtures imported from gui_helpers are "redefined" as test arguments
"""The window keeps jobs and avatars consistent: renames, deletes with queued jobs, settings, messages.

Real window, real library and SQLite queue, real modal dialogs answered the way a user would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from avatar_studio.jobs.model import JobSpec, JobState
from avatar_studio.settings import EngineSettings
from gui_helpers import answer_next_dialog, install_model, prepare_avatar

pytestmark = [pytest.mark.timeout(180), pytest.mark.no_qt_log]


def queue_rows(window) -> list[str]:
    table = window.queue.table
    return [" ".join(table.item(row, column).text() for column in range(table.columnCount())
                     if table.item(row, column) is not None) for row in range(table.rowCount())]


@pytest.fixture
def presenter(isolated_home, shared_media):
    return prepare_avatar(isolated_home, shared_media)


def test_renaming_keeps_the_jobs_and_the_queue_shows_the_new_name_at_once(
        open_window, qtbot, presenter, tmp_path):
    window = open_window()
    window.form.set_audio(tmp_path / "voice.wav")
    spec = window.form.spec()
    assert spec.avatar == "Presenter" and spec.avatar_id == presenter.folder.name
    job = window.session.store.add(spec)  # waits: nothing starts the scheduler
    window.renders.refresh()
    assert any("Presenter" in row for row in queue_rows(window))

    def rename(dialog) -> int:
        field = dialog.findChild(QLineEdit)
        width = field.width()
        field.setText("Anna Müller-Lüdenscheidt, Studio B")
        dialog.accept()
        return width

    widths = answer_next_dialog(qtbot, rename)
    window.avatars.rename("Presenter")
    assert widths and widths[0] >= 400  # room for a long name
    assert [a.name for a in window.session.library.list()] == ["Anna Müller-Lüdenscheidt, Studio B"]
    rows = queue_rows(window)
    assert any("Anna Müller-Lüdenscheidt, Studio B" in row for row in rows), rows
    stored = window.session.store.get(job.id).spec
    assert stored.avatar_id == presenter.folder.name and stored.avatar == "Anna Müller-Lüdenscheidt, Studio B"

    # It renders as far as the avatar and audio checks: the avatar is found under its new name.
    window.session.scheduler.start_next()
    qtbot.waitUntil(lambda: window.session.store.get(job.id).state is JobState.FAILED, timeout=60_000)
    ended = window.session.store.get(job.id)
    assert "No avatar" not in ended.error_summary and "voice.wav" in ended.error_summary


def test_deleting_an_avatar_with_queued_jobs_names_the_jobs_that_will_fail(
        open_window, presenter, tmp_path, monkeypatch):
    window = open_window()
    store = window.session.store
    jobs = [store.add(JobSpec(avatar="Presenter", avatar_id=presenter.folder.name, audio=str(tmp_path / name),
                              output=str(tmp_path / f"{name}.mp4"))) for name in ("intro.wav", "outro.wav")]
    other = store.add(JobSpec(avatar="Someone else", audio=str(tmp_path / "x.wav"), output=str(tmp_path / "x.mp4")))
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *rest: asked.append(text) or QMessageBox.StandardButton.No)
    window.avatars.delete("Presenter")
    assert len(asked) == 1
    question = asked[0]
    assert "2 queued render(s)" in question and "will fail" in question
    for job in jobs:
        assert f"#{job.id}" in question
    assert "intro.wav" in question and "outro.wav" in question and f"#{other.id} " not in question
    assert window.session.library.find("Presenter") is not None  # answered No: nothing deleted


def test_a_refused_audio_cannot_be_queued_and_a_stale_error_goes_when_queueing_works(
        open_window, qtbot, presenter, synthetic_checkpoint, shared_media, tmp_path):
    from gui_helpers import make_speech

    install_model(synthetic_checkpoint, Path(os.environ["AVATAR_STUDIO_MODELS"]))
    window = open_window()
    notes = tmp_path / "notes.wav"
    notes.write_text("text, not sound", encoding="utf-8")
    window.form.set_audio(notes)
    qtbot.waitUntil(lambda: bool(window.form.audio_problem), timeout=60_000)
    assert window.renders.queue_render() is None
    assert window.banner.is_error and "notes.wav" in window.banner.text()
    assert window.session.store.list() == []

    window.form.set_audio(make_speech(shared_media, tmp_path, 1.0))
    qtbot.waitUntil(lambda: window.form.audio_details is not None, timeout=60_000)
    window.form.set_output(tmp_path / "ok.mp4")
    job = window.renders.queue_render()
    assert job is not None
    assert window.banner.text() == ""  # the old error no longer applies
    window.session.scheduler.cancel(job.id)
    qtbot.waitUntil(lambda: window.session.scheduler.running_job_id is None
                    and window.session.store.get(job.id).is_finished, timeout=60_000)


def test_the_banner_floats_over_the_panels(open_window):
    window = open_window()
    before = window.main_splitter.geometry()
    window.show_error("Something went wrong; try again.")
    QApplication.processEvents()
    assert window.banner.isVisible() and window.main_splitter.geometry() == before
    assert window.centralWidget().layout().indexOf(window.banner) < 0


def test_settings_applied_from_the_window_take_effect_and_a_folder_is_kept(open_window, tmp_path):
    window = open_window()
    renders = tmp_path / "renders"
    renders.mkdir()
    window.form.set_audio(tmp_path / "voice.wav")
    assert window.apply_settings(window.session.root, EngineSettings(output_dir=str(renders), crf=28))
    assert EngineSettings.load(window.session.root).crf == 28
    assert window.form.crf.value() == 28
    assert window.form.output.text() == "" or Path(window.form.output.text()).parent == renders


def test_the_log_is_one_menu_entry_away(open_window):
    window = open_window()
    assert "Open log" in window.menu_actions
    window.open_log()  # no log written in this test: it says where it will be
    assert "logs" in window.banner.text() and "avatar-studio.log" in window.banner.text()


def test_the_models_dialog_removes_a_model_only_after_asking_and_closes(
        open_window, qtbot, synthetic_checkpoint, monkeypatch):
    from avatar_studio.gui.models_dialog import ModelsDialog

    model = install_model(synthetic_checkpoint, Path(os.environ["AVATAR_STUDIO_MODELS"]))
    window = open_window()
    dialog = ModelsDialog(window.models, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.table.selectRow(0)
    dialog.set_default()
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *rest: asked.append(text) or QMessageBox.StandardButton.No)
    assert not dialog.remove_selected() and model.is_file()
    assert "wav2lip.pth" in asked[0] and "cannot be undone" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    dialog.table.selectRow(0)
    assert dialog.remove_selected()
    assert not model.exists() and dialog.table.rowCount() == 0
    assert window.session.settings.default_model == ""  # the default no longer names a missing file
    assert window.form.no_model_banner.isVisibleTo(window.form)
    dialog.close_button.click()
    assert not dialog.isVisible()
