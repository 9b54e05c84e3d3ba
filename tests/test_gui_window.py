# ruff: noqa: F811 - pytest fixtures imported from gui_helpers are "redefined" as test arguments
"""The desktop app under pytest-qt (offscreen): building, adding avatars, rendering, the queue.

Each test drives the real window with real engine calls: mediapipe preparation, a synthetic-weight
Wav2Lip render through the bundled ffmpeg, the SQLite queue, QtMultimedia playback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6 import QtCore
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel

from avatar_studio.jobs.model import JobSpec, JobState
from avatar_studio.jobs.store import JobStore
from gui_helpers import CLIP, SMALL, answer_next_dialog, install_model, make_speech, prepare_avatar

# no_qt_log: pytest-qt's Python message handler is called from QtMultimedia's own threads (its audio
# renderer warns that there is no sound device), which crashes PySide6 when it happens as a test ends.
pytestmark = [pytest.mark.timeout(180), pytest.mark.no_qt_log]


def drop_files(widget, paths: list[Path]) -> None:
    """Deliver a real drop event, as a file manager would."""
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.DropAction.CopyAction, mime,
                       QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def wait_for_job(qtbot, window, job_id: int, states: set[JobState], timeout_s: float = 120):
    qtbot.waitUntil(lambda: window.session.store.get(job_id).state in states, timeout=int(timeout_s * 1000))
    qtbot.waitUntil(lambda: window.session.scheduler.running_job_id != job_id, timeout=10_000)
    return window.session.store.get(job_id)


def mid_render(window) -> bool:
    """Between two frames of the render: some done, some left (so cancelling cannot come too late)."""
    progress = window.session.scheduler.last_progress
    return progress is not None and 0 < progress.done < progress.total

def test_window_builds_and_explains_how_to_add_a_model(open_window, isolated_home):
    window = open_window()
    assert window.session.root == isolated_home.resolve()
    assert window.minimumWidth() >= 900 and window.minimumHeight() >= 600
    assert window.form.no_model_banner.isVisible()
    banner_text = " ".join(label.text() for label in window.form.no_model_banner.findChildren(QLabel))
    assert "wav2lip.pth" in banner_text and "non-commercial" in banner_text
    assert not window.form.queue_button.isEnabled()
    assert window.queue.table.rowCount() == 0


def test_dropped_audio_fills_the_form_and_unknown_files_are_named(open_window, tmp_path):
    window = open_window()
    voice = tmp_path / "voice over.m4a"
    drop_files(window.form, [voice])
    assert window.form.audio.text() == str(voice)
    drop_files(window, [tmp_path / "notes.txt"])
    assert "notes.txt" in window.banner.text()


def test_dropped_clip_is_prepared_in_a_worker_while_the_event_loop_turns(
        open_window, qtbot, shared_media, monkeypatch):
    window = open_window()
    monkeypatch.setattr(window.avatars, "ask_prepare_settings",
                        lambda source, name, reprepare=False: ("Talking man", SMALL))
    ticks = 0
    ticks_at_progress: list[int] = []

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    timer = QtCore.QTimer()
    timer.setInterval(20)
    timer.timeout.connect(tick)
    timer.start()
    drop_files(window, [shared_media / CLIP])
    assert "Talking man" in window.avatars.preparations
    assert window.library_panel.pending("Talking man") is not None
    window.avatars.preparations["Talking man"].progressed.connect(lambda _progress: ticks_at_progress.append(ticks))
    qtbot.waitUntil(lambda: not window.avatars.preparations, timeout=120_000)
    timer.stop()
    assert window.banner.text() == ""
    assert [a.name for a in window.session.library.list()] == ["Talking man"]
    assert window.form.avatar.currentText() == "Talking man"
    # The GUI thread kept serving its timer while the work ran: timer ticks fell between the
    # progress reports. A blocked loop would deliver every report in one burst at the end, with
    # the same tick count at each (counts, not a wall-clock limit, so a loaded machine cannot fail it).
    assert len(ticks_at_progress) >= 3, ticks_at_progress
    assert len(set(ticks_at_progress)) >= 3, ticks_at_progress
    # Selecting it shows it in the player (tests/test_gui_player.py covers the player itself).
    window.library_panel.select("Talking man")
    assert window.player.avatar_name == "Talking man"


def test_render_job_runs_to_done_plays_and_the_queue_survives_a_rebuild(
        open_window, qtbot, shared_media, synthetic_checkpoint, isolated_home, tmp_path):
    install_model(synthetic_checkpoint, Path(os.environ["AVATAR_STUDIO_MODELS"]))
    prepare_avatar(isolated_home, shared_media)
    audio = make_speech(shared_media, tmp_path, 2.0)
    window = open_window()
    assert not window.form.no_model_banner.isVisible()
    window.form.set_audio(audio)
    output = tmp_path / "out" / "first render.mp4"
    output.parent.mkdir()
    window.form.set_output(output)
    window.form.batch_size.setValue(8)
    job = window.renders.queue_render()
    assert job is not None and job.spec.avatar == "Presenter"
    done = wait_for_job(qtbot, window, job.id, {JobState.DONE, JobState.FAILED})
    assert done.state is JobState.DONE, done.error
    assert Path(done.output_path) == output and output.stat().st_size > 0
    assert "PyTorch" in done.device_description
    assert "PyTorch" in window._device.text()

    window.queue_actions.play_job(job.id)
    assert window.player.source == output

    window.shutdown()
    rebuilt = open_window()
    assert rebuilt.queue.table.rowCount() == 1
    reloaded = rebuilt.queue.job(job.id)
    assert reloaded.state is JobState.DONE and reloaded.output_path == str(output)
    assert reloaded.elapsed_s and reloaded.elapsed_s > 0

    # Quick preview: the form's settings, rendered ahead of the queue and played when done.
    rebuilt.form.set_audio(audio)
    preview = rebuilt.renders.quick_preview()
    assert wait_for_job(qtbot, rebuilt, preview.id, {JobState.DONE, JobState.FAILED}).state is JobState.DONE
    # Shown once the scheduler's report of the finished job has arrived (after the state changed).
    expected = Path(rebuilt.session.store.get(preview.id).output_path)
    qtbot.waitUntil(lambda: rebuilt.player.source == expected, timeout=30_000)
    assert rebuilt.player.source.parent == isolated_home.resolve() / "previews"


def test_cancel_stops_the_render_and_leaves_no_output(
        open_window, qtbot, shared_media, synthetic_checkpoint, isolated_home, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    # Cancelling a render that has run a while asks first (a loaded machine gets there): "Yes".
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    install_model(synthetic_checkpoint, Path(os.environ["AVATAR_STUDIO_MODELS"]))
    prepare_avatar(isolated_home, shared_media)
    audio = make_speech(shared_media, tmp_path, 5.0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    window = open_window()
    window.form.set_audio(audio)
    window.form.set_output(out_dir / "cancelled.mp4")
    window.form.batch_size.setValue(4)
    job = window.renders.queue_render()
    waiting = []
    for name in ("second.mp4", "third.mp4"):
        window.form.set_output(out_dir / name)
        waiting.append(window.renders.queue_render())
    qtbot.waitUntil(lambda: mid_render(window), timeout=60_000)

    # The avatar being rendered can be neither deleted nor re-prepared until the render ends.
    window.avatars.delete("Presenter")
    assert "being rendered" in window.banner.text()
    window.avatars.reprepare("presenter")
    assert window.session.library.find("Presenter") is not None

    # The buttons act on the selected job: reorder, remove and cancel the waiting ones.
    second, third = waiting
    window.queue.select(third.id)
    window.queue.buttons["up"].click()
    assert [j.id for j in window.session.store.list() if j.state is JobState.QUEUED] == [third.id, second.id]
    window.queue.select(second.id)
    window.queue.buttons["remove"].click()
    window.queue.select(third.id)
    window.queue.buttons["cancel"].click()
    assert window.session.store.get(third.id).state is JobState.CANCELLED
    assert [row.id for row in window.session.store.list()] == [job.id, third.id]

    window.queue.select(job.id)
    assert window.queue.buttons["cancel"].isEnabled() and not window.queue.buttons["remove"].isEnabled()
    window.queue.buttons["cancel"].click()
    ended = wait_for_job(qtbot, window, job.id, {JobState.CANCELLED, JobState.DONE, JobState.FAILED})
    assert ended.state is JobState.CANCELLED
    assert list(out_dir.iterdir()) == []  # neither the video nor a temporary file
    window.queue.select(job.id)
    assert window.queue.buttons["retry"].isEnabled()


def test_job_running_at_a_crash_comes_back_interrupted_and_can_be_retried(
        open_window, qtbot, isolated_home, tmp_path):
    isolated_home.mkdir(parents=True, exist_ok=True)
    with JobStore.for_library(isolated_home) as store:
        crashed = store.add(JobSpec(avatar="Anna", audio=str(tmp_path / "a.wav"), output=str(tmp_path / "a.mp4")))
        store.mark_running(crashed.id)  # the app "dies" here
    window = open_window()
    job = window.queue.job(crashed.id)
    assert job.state is JobState.INTERRUPTED
    assert "interrupted" in window.banner.text()
    window.queue.select(crashed.id)
    assert window.queue.buttons["retry"].isEnabled()
    window.queue.buttons["retry"].click()
    # Queued again, it runs and fails readably (no model, no avatar) instead of crashing the app.
    ended = wait_for_job(qtbot, window, crashed.id, {JobState.FAILED, JobState.DONE})
    assert ended.state is JobState.FAILED
    assert ended.error_summary and "Traceback" not in ended.error_summary
    assert "failed" in window.banner.text()


def test_importing_a_garbage_model_shows_the_loaders_message_and_adds_nothing(
        open_window, qtbot, tmp_path):
    garbage = tmp_path / "wav2lip.pth"
    garbage.write_bytes(b"this is not a checkpoint" * 100)
    window = open_window()
    task = window.models.import_file(garbage)
    with qtbot.waitSignal(task.finished, timeout=60_000):
        pass
    models = Path(os.environ["AVATAR_STUDIO_MODELS"])
    assert models.is_dir() and list(models.iterdir()) == []  # the window made the folder; nothing landed in it
    assert "was not imported" in window.banner.text() and "wav2lip.pth" in window.banner.text()
    assert window.form.no_model_banner.isVisible()


def test_closing_the_window_mid_render_cancels_it_cleanly(
        open_window, qtbot, shared_media, synthetic_checkpoint, isolated_home, tmp_path):
    install_model(synthetic_checkpoint, Path(os.environ["AVATAR_STUDIO_MODELS"]))
    prepare_avatar(isolated_home, shared_media)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    window = open_window()
    window.form.set_audio(make_speech(shared_media, tmp_path, 5.0))
    window.form.set_output(out_dir / "closed.mp4")
    job = window.renders.queue_render()
    qtbot.waitUntil(lambda: mid_render(window), timeout=60_000)
    render_task = window.session.scheduler._task
    window.shutdown()  # what closeEvent does once the user confirms
    # The render thread is over and only then was the queue closed (no wall-clock limit: a loaded
    # machine may take a while to reach the next cancel check).
    assert not render_task.is_running and window.session.closed
    with JobStore.for_library(isolated_home) as store:
        assert store.get(job.id).state is JobState.CANCELLED
    assert list(out_dir.iterdir()) == []


def test_rename_reprepare_and_delete_from_the_library_panel(
        open_window, qtbot, shared_media, isolated_home, monkeypatch):
    from PySide6.QtWidgets import QLineEdit, QMessageBox

    from avatar_studio.avatars.prepare import PrepareSettings

    prepare_avatar(isolated_home, shared_media)
    window = open_window()
    answer_next_dialog(qtbot, lambda dialog: (dialog.findChild(QLineEdit).setText("Anna Ü"), dialog.accept()))
    window.avatars.rename("Presenter")
    assert [a.name for a in window.session.library.list()] == ["Anna Ü"]
    assert window.form.avatar.currentText() == "Anna Ü"

    monkeypatch.setattr(window.avatars, "ask_prepare_settings",
                        lambda source, name, reprepare=False: (name, PrepareSettings(max_height=128)))
    window.avatars.reprepare("Anna Ü")
    qtbot.waitUntil(lambda: not window.avatars.preparations, timeout=120_000)
    assert window.session.library.get("Anna Ü").height == 128

    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    window.avatars.delete("Anna Ü")
    assert window.session.library.list() == [] and window.form.avatar.count() == 0
