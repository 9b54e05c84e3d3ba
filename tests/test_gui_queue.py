# ruff: noqa: F811 - pytest fixtures imported from gui_helpers are "redefined" as test arguments
"""The render queue on a real window (offscreen) and a real SQLite store: columns, selection,
ordering, pause, cancel, quick preview, several audio files, notifications, the menus.

These tests are about the queue, not about rendering (test_gui_window.py renders for real), so
the scheduler runs a gated stand-in for `run_job`: it claims the job in the store like the engine
does, then waits until the test lets it finish (or the cancel token is set), and records the
order in which jobs started. Nothing here waits on the clock.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6 import QtCore
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

import avatar_studio.gui.scheduler as scheduler_module
from avatar_studio.gui import queue_actions
from avatar_studio.gui.queue_table import CANCELLING, COL_OUTPUT, COL_STATE
from avatar_studio.jobs.model import Job, JobSpec, JobState
from avatar_studio.jobs.store import JobStore
from gui_helpers import make_speech, open_window, settings_dir  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.timeout(120), pytest.mark.no_qt_log]


class GatedRunner:
    """Stands in for `run_job`: claims the job, then ends when released or cancelled."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.release: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def gate(self, job_id: int) -> threading.Event:
        with self._lock:
            return self.release.setdefault(job_id, threading.Event())

    def __call__(self, job, store, _root, progress, cancel, _notice) -> Job:
        store.mark_running(job.id, "stand-in device")
        self.started.append(job.id)
        gate = self.gate(job.id)
        while not gate.wait(0.01):
            if cancel.cancelled and not getattr(self, "ignore_cancel", False):
                return store.mark_cancelled(job.id)
        if cancel.cancelled:
            return store.mark_cancelled(job.id)
        return store.mark_done(job.id, job.spec.output, 1.0)


@pytest.fixture
def runner(monkeypatch) -> GatedRunner:
    gated = GatedRunner()
    monkeypatch.setattr(scheduler_module, "_engine_runner", lambda: gated)
    # A test that fails mid-job closes a busy window at teardown: "stop it and quit?" -> Yes.
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Yes)
    yield gated
    for event in list(gated.release.values()):
        event.set()  # never leave a render thread waiting at the end of a test


def spec(tmp_path: Path, n: int, **changes) -> JobSpec:
    fields = {"avatar": "Anna", "audio": str(tmp_path / f"voice {n}.wav"), "output": str(tmp_path / f"render {n}.mp4")}
    return JobSpec(**{**fields, **changes})


def queued(window) -> list[int]:
    return [job.id for job in window.session.store.list() if job.state is JobState.QUEUED]


def add_jobs(window, tmp_path: Path, count: int) -> list[int]:
    ids = [window.session.store.add(spec(tmp_path, n)).id for n in range(count)]
    window.renders.refresh()
    window.session.scheduler.start_next()
    return ids


def finish(qtbot, window, runner: GatedRunner, job_id: int) -> None:
    """Let the running job end before the test does (closing a busy window would ask first)."""
    runner.gate(job_id).set()
    qtbot.waitUntil(lambda: window.session.scheduler.running_job_id is None, timeout=20_000)


def fill_form(qtbot, window, audio: Path) -> None:
    """The form as a user leaves it: an avatar and an audio file the form has probed and accepted."""
    window.form.set_avatars([("anna", "Anna")])
    window.form.set_audio(audio)
    qtbot.waitUntil(lambda: window.form.audio_details is not None, timeout=60_000)


def test_columns_fit_and_the_error_goes_to_tooltip_and_details_also_after_a_restart(
        open_window, qtbot, isolated_home, tmp_path):
    long_error = "The face detector found no face in frames " + ", ".join(str(n) for n in range(400)) + "."
    isolated_home.mkdir(parents=True, exist_ok=True)
    with JobStore.for_library(isolated_home) as store:
        failed = store.add(spec(tmp_path, 1, output=str(tmp_path / (("very long output name " * 8) + ".mp4"))))
        store.mark_running(failed.id)
        store.mark_failed(failed.id, long_error)
    window = open_window()  # the app "restarts" on a queue that holds the long error
    window.resize(1000, 640)
    table = window.queue.table
    qtbot.waitUntil(lambda: table.viewport().width() > 0)
    QApplication.processEvents()

    row = table.row_of(failed.id)
    assert table.item(row, COL_STATE).text() == "failed"
    assert table.item(row, COL_OUTPUT).text().endswith(".mp4") and "/" not in table.item(row, COL_OUTPUT).text()
    widths = [table.columnWidth(column) for column in range(table.columnCount())]
    assert sum(widths) <= table.viewport().width() + 1, (widths, table.viewport().width())
    assert table.columnWidth(COL_STATE) < table.viewport().width() / 4
    assert table.horizontalScrollBarPolicy() is QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert long_error in table.item(row, COL_STATE).toolTip()
    window.queue.select(failed.id)
    assert long_error in window.queue.details.toPlainText()
    assert window.queue.width() <= window.width()


def test_quick_preview_runs_next_ahead_of_waiting_renders(open_window, qtbot, runner, tmp_path, shared_media):
    voice = make_speech(shared_media, tmp_path, 1.0, "voice.wav")
    window = open_window()
    first, second = add_jobs(window, tmp_path, 2)
    qtbot.waitUntil(lambda: runner.started == [first], timeout=20_000)
    fill_form(qtbot, window, voice)
    preview = window.renders.quick_preview()
    assert queued(window) == [preview.id, second]
    assert window.queue.table.item(window.queue.table.row_of(preview.id), 1).text().startswith(
        "Preview, first 5 s · Anna ← voice.wav")
    runner.gate(first).set()
    qtbot.waitUntil(lambda: runner.started == [first, preview.id], timeout=20_000)
    runner.gate(preview.id).set()
    runner.gate(second).set()
    qtbot.waitUntil(lambda: window.session.scheduler.running_job_id is None
                    and runner.started == [first, preview.id, second], timeout=20_000)
    # With nothing running, a preview starts at once.
    again = window.renders.quick_preview()
    assert window.session.scheduler.running_job_id == again.id
    finish(qtbot, window, runner, again.id)


def test_actions_apply_to_every_selected_job_and_the_context_menu_has_them_all(
        open_window, qtbot, runner, tmp_path):
    window = open_window()
    queue = window.queue
    queue.buttons["pause"].click()
    a, b, c, d = add_jobs(window, tmp_path, 4)
    assert window.session.scheduler.running_job_id is None and "paused" in queue.title.text()

    queue.select(b, d)
    assert queue.selected_job_ids() == [b, d]
    queue.buttons["up"].click()
    assert queued(window) == [b, a, d, c]
    queue.buttons["cancel"].click()
    store = window.session.store
    assert [store.get(i).state for i in (b, d)] == [JobState.CANCELLED, JobState.CANCELLED]
    assert queue.selected_job_ids() == [b, d]  # the selection survives the refresh
    queue.buttons["retry"].click()
    assert queued(window) == [a, c, b, d]
    queue.select(a, c)
    queue.buttons["remove"].click()
    assert [job.id for job in store.list()] == [b, d]

    menu_texts = {action.text() for action in queue.context_menu().actions() if action.text()}
    assert {"Cancel", "Queue again", "Move up", "Move down", "Play the output", "Show the output in its folder",
            "Show the full error", "Clear finished", "Clear failed"} <= menu_texts
    assert any("Pause" in text for text in menu_texts)


def test_clear_finished_and_failed_and_drag_to_reorder(open_window, qtbot, runner, tmp_path):
    window = open_window()
    window.queue.buttons["pause"].click()
    store = window.session.store
    done, failed, a, b, c = (store.add(spec(tmp_path, n)).id for n in range(5))
    for job_id in (done, failed):
        store.mark_running(job_id)
    store.mark_done(done, str(tmp_path / "done.mp4"), 1.0)
    store.mark_failed(failed, "No face found.")
    window.renders.refresh()

    table = window.queue.table
    window.queue.select(c)
    target = table.visualRect(table.model().index(table.row_of(a), 0))
    mime = table.model().mimeData([table.model().index(table.row_of(c), 0)])
    drop = QDropEvent(QtCore.QPointF(target.center().x(), target.top() + 1), QtCore.Qt.DropAction.MoveAction,
                      mime, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    table.dropEvent(drop)
    assert queued(window) == [c, a, b]
    assert table.rowCount() == 5 and all(table.item(row, 1).text() for row in range(5))  # no cells cleared

    window.queue.clear_finished_action.trigger()
    assert done not in [job.id for job in store.list()]
    window.queue.clear_failed_action.trigger()
    assert [job.id for job in store.list()] == [c, a, b]
    assert not window.queue.clear_failed_action.isEnabled()


def test_pause_lets_the_current_job_finish_and_holds_the_next(open_window, qtbot, runner, tmp_path):
    window = open_window()
    first, second = add_jobs(window, tmp_path, 2)
    qtbot.waitUntil(lambda: runner.started == [first], timeout=20_000)
    window.queue.buttons["pause"].click()
    scheduler = window.session.scheduler
    with qtbot.waitSignal(scheduler.job_finished, timeout=20_000):
        runner.gate(first).set()
    assert window.session.store.get(first).state is JobState.DONE
    assert scheduler.running_job_id is None and queued(window) == [second]
    window.queue.buttons["pause"].click()  # resume
    assert scheduler.running_job_id == second
    qtbot.waitUntil(lambda: runner.started == [first, second], timeout=20_000)
    finish(qtbot, window, runner, second)


def test_cancel_shows_cancelling_and_asks_only_after_a_while(open_window, qtbot, runner, tmp_path, monkeypatch):
    questions: list[str] = []
    answer = {"value": QMessageBox.StandardButton.No}
    monkeypatch.setattr(QMessageBox, "question", lambda _parent, title, *_a, **_k: (
        questions.append(title), answer["value"])[1])
    window = open_window()
    (job_id,) = add_jobs(window, tmp_path, 1)
    qtbot.waitUntil(lambda: runner.started == [job_id], timeout=20_000)

    monkeypatch.setattr(queue_actions, "CONFIRM_CANCEL_AFTER_S", -1.0)  # "has run a while"
    window.queue.select(job_id)
    window.queue.buttons["cancel"].click()
    assert questions == ["Cancel the render?"] and not window.session.scheduler.cancelling

    monkeypatch.setattr(queue_actions, "CONFIRM_CANCEL_AFTER_S", 1e9)  # "just started": no question
    runner.ignore_cancel = True  # like a render inside a long model call
    window.queue.buttons["cancel"].click()
    assert len(questions) == 1
    table = window.queue.table
    assert table.item(table.row_of(job_id), COL_STATE).text() == CANCELLING
    runner.gate(job_id).set()
    qtbot.waitUntil(lambda: window.session.store.get(job_id).state is JobState.CANCELLED, timeout=20_000)
    qtbot.waitUntil(lambda: table.item(table.row_of(job_id), COL_STATE).text() == "cancelled", timeout=20_000)


def test_several_dropped_audio_files_queue_one_job_each_with_the_same_settings(
        open_window, qtbot, runner, tmp_path, shared_media):
    window = open_window()
    window.queue.buttons["pause"].click()
    fill_form(qtbot, window, make_speech(shared_media, tmp_path, 1.0, "voice.wav"))
    window.form.batch_size.setValue(3)
    voices = [make_speech(shared_media, tmp_path, 1.0, name) for name in ("intro.wav", "part two.mp3", "outro.m4a")]
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("meeting notes, not a recording")
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path)) for path in [voices[0], not_audio, *voices[1:]]])
    with qtbot.waitSignal(window.renders.queued_several, timeout=60_000):
        window.form.dropEvent(QDropEvent(QtCore.QPointF(5, 5), QtCore.Qt.DropAction.CopyAction, mime,
                                         QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier))
    jobs = window.session.store.list()
    assert [Path(job.spec.audio) for job in jobs] == voices
    assert len({job.spec.output for job in jobs}) == 3
    assert [Path(job.spec.output).stem for job in jobs] == ["Anna_intro", "Anna_part two", "Anna_outro"]
    assert "notes.wav" in window.banner.text()  # refused, with the reason in the details
    assert {job.spec.batch_size for job in jobs} == {3}
    assert window.queue.selected_job_ids() == [job.id for job in jobs]


@pytest.mark.parametrize("tray", [True, False], ids=["with-tray", "no-tray"])
def test_a_job_ending_in_the_background_alerts_and_a_missing_folder_is_named(
        open_window, qtbot, runner, tmp_path, monkeypatch, tray):
    """The offscreen platform has no system tray (nor a taskbar), so both are observed at Qt's
    entry points: `QApplication.alert` and the tray icon's `showMessage`."""
    alerts: list[object] = []
    messages: list[tuple[str, str]] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, *_a: alerts.append(widget))
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: tray))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage",
                        lambda _icon, title, message, *_a: messages.append((title, message)))
    window = open_window()
    active = [True]
    monkeypatch.setattr(window, "isActiveWindow", lambda: active[0])
    gone = tmp_path / "gone"
    first, second = (window.session.store.add(spec(tmp_path, index, output=str(gone / f"render{index}.mp4"))).id
                     for index in (1, 2))
    window.session.scheduler.start_next()
    qtbot.waitUntil(lambda: runner.started == [first], timeout=20_000)
    with qtbot.waitSignal(window.session.scheduler.job_finished, timeout=20_000):
        runner.gate(first).set()
    assert alerts == [] and messages == []  # the window is in front: the queue shows it already

    active[0] = False
    qtbot.waitUntil(lambda: runner.started == [first, second], timeout=20_000)
    with qtbot.waitSignal(window.session.scheduler.job_finished, timeout=20_000):
        runner.gate(second).set()
    assert alerts == [window]
    if tray:
        ((title, message),) = messages
        assert title == "Render finished" and "render2.mp4" in message
    else:
        assert messages == []

    window.queue_actions.show_job_folder(second)
    assert str(gone) in window.banner.text()


def test_file_quit_is_ctrl_q_and_closes_the_app_and_models_menu_imports(open_window, qtbot):
    window = open_window()
    quit_action = window.menu_actions["Quit"]
    assert quit_action.shortcut() == QKeySequence("Ctrl+Q")
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    models_menu = [action.text() for action in menus["&Models"].actions()]
    assert "&Import model…" in models_menu
    quit_action.trigger()
    assert not window.isVisible() and window.session.closed


def test_selecting_a_finished_job_shows_its_result_in_the_player(open_window, qtbot, runner, tmp_path):
    from media_clips import pattern_clip

    window = open_window()
    (job_id,) = add_jobs(window, tmp_path, 1)
    pattern_clip(Path(window.session.store.get(job_id).spec.output))  # the stand-in's "render"
    finish(qtbot, window, runner, job_id)
    qtbot.waitUntil(lambda: window.session.store.get(job_id).state is JobState.DONE, timeout=20_000)
    window.renders.refresh()
    assert window.player.source != Path(window.session.store.get(job_id).output_path)
    window.queue.select(job_id)
    assert window.player.source == Path(window.session.store.get(job_id).output_path)
    loads: list[object] = []
    window.player.show_file = lambda *args, **kwargs: loads.append(args)  # type: ignore[method-assign]
    window.renders.refresh()  # any job changing state rebuilds the table; the selection stays
    assert window.queue.selected_job_ids() == [job_id] and loads == []  # playback is not restarted
