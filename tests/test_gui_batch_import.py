"""Render → Import batch…: the dialog shows a manifest's problems and queues nothing, or queues its
rows as one group (real Qt widgets, offscreen; real check, real SQLite queue)."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_studio.jobs import JobState, JobStore
from batch_media import speech, write_manifest

pytestmark = [pytest.mark.timeout(180), pytest.mark.no_qt_log]


@pytest.fixture
def store(batch_library: Path):
    with JobStore.for_library(batch_library) as opened:
        yield opened


def import_dialog(qtbot, manifest: Path, library: Path, store: JobStore):
    from avatar_studio.gui.batch_import_dialog import BatchImportDialog

    dialog = BatchImportDialog(manifest, library, store)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_problems_are_listed_by_row_and_nothing_is_queued(qtbot, batch_library: Path, store, tmp_path: Path) -> None:
    speech(tmp_path, 1)
    manifest = write_manifest(tmp_path, ["still,voice1.wav,a.mp4,ultrafast", "nobody,missing.wav,a.mp4,slowest"])
    dialog = import_dialog(qtbot, manifest, batch_library, store)
    with qtbot.waitSignal(dialog.start_import().finished, timeout=60_000):
        pass
    assert dialog.isVisible() and dialog.import_button.isEnabled()
    assert "3 problems" in dialog.status.text()
    lines = dialog.problems.toPlainText().splitlines()
    assert dialog.problems.isVisible() and len(lines) == 3 and all(line.startswith("row 2:") for line in lines)
    assert any("nobody" in line for line in lines) and any("missing.wav" in line for line in lines)
    assert store.list() == []


def test_a_good_manifest_is_queued_as_one_group(qtbot, batch_library: Path, store, tmp_path: Path) -> None:
    from avatar_studio.gui.queue_panel import QueuePanel

    speech(tmp_path, 2)
    (tmp_path / "b.mp4").write_bytes(b"an older video")
    manifest = write_manifest(tmp_path, ["still,voice1.wav,a.mp4,ultrafast", "still,voice2.wav,b.mp4,ultrafast"],
                              name="week1.csv")  # fmt: skip
    dialog = import_dialog(qtbot, manifest, batch_library, store)
    with qtbot.waitSignal(dialog.start_import().finished, timeout=60_000):
        pass
    assert "--overwrite" in dialog.problems.toPlainText() and store.list() == []  # b.mp4 exists
    dialog.overwrite.setChecked(True)
    with qtbot.waitSignal(dialog.accepted, timeout=60_000):
        dialog.start_import()
    assert dialog.queued_count == 2
    jobs = store.list()
    assert [(job.group, job.state, Path(job.spec.output).name) for job in jobs] == [
        ("week1.csv", JobState.QUEUED, "a.mp4"), ("week1.csv", JobState.QUEUED, "b.mp4")]  # fmt: skip
    assert jobs[1].spec.overwrite
    panel = QueuePanel()
    qtbot.addWidget(panel)
    panel.set_jobs(jobs)
    assert [panel.table.item(row, 1).text() for row in range(2)] == [
        "week1.csv › still ← voice1.wav", "week1.csv › still ← voice2.wav"]  # fmt: skip


def test_render_menu_imports_a_batch_that_the_queue_then_renders(
    qtbot, open_window, batch_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from avatar_studio.gui.batch_import_dialog import BatchImportDialog

    monkeypatch.setenv("AVATAR_STUDIO_HOME", str(batch_library))
    speech(tmp_path, 2)
    manifest = write_manifest(tmp_path, ["still,voice1.wav,a.mp4,ultrafast", "still,voice2.wav,b.mp4,ultrafast"])
    window = open_window()
    assert "Import batch…" in window.menu_actions

    def press_import() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, BatchImportDialog):
            QTimer.singleShot(50, press_import)  # the dialog is not shown yet
            return
        dialog.start_import()

    QTimer.singleShot(0, press_import)
    assert window.renders.import_batch_file(manifest) == 2
    store = window.session.store

    def all_done() -> None:
        assert [job.state for job in store.list()] == [JobState.DONE, JobState.DONE]

    qtbot.waitUntil(all_done, timeout=120_000)
    assert (tmp_path / "a.mp4").is_file() and (tmp_path / "b.mp4").is_file()
    titles = [window.queue.table.item(row, 1).text() for row in range(window.queue.table.rowCount())]
    assert titles == ["lessons.csv › still ← voice1.wav", "lessons.csv › still ← voice2.wav"]
