"""Queue rows this version cannot read load as "damaged" jobs: shown, removable, never a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from avatar_studio.gui.queue_table import COL_STATE
from avatar_studio.jobs import JobSpec, JobState, JobStore

DAMAGES = {
    "unknown state": ("state", "exploded"),
    "spec is a number": ("spec", "123"),
    "spec is not JSON": ("spec", "{not json"),
    "spec has a wrong type": ("spec", '{"avatar": 5, "audio": "a.wav", "output": "o.mp4"}'),
    "spec has an impossible setting": ("spec", '{"avatar": "A", "audio": "a.wav", "output": "o.mp4", "crf": 99}'),
    "progress is text": ("progress", "'half'"),
    "spec is a blob": ("spec", "x'00ff'"),
}


def _spec(n: int) -> JobSpec:
    return JobSpec(avatar=f"Presenter {n}", audio=f"/tmp/speech {n}.wav", output=f"/tmp/out {n}.mp4")


def _damage_first_row(db: Path, column: str, sql_value: str) -> None:
    with sqlite3.connect(db) as raw:
        raw.execute(f"UPDATE jobs SET {column} = {sql_value if column != 'state' else repr(sql_value)} "
                    "WHERE id = (SELECT MIN(id) FROM jobs)")  # fmt: skip


def _queue_with_a_damaged_row(db: Path, case: str) -> None:
    column, value = DAMAGES[case]
    with JobStore(db) as store:
        store.add(_spec(1))
        store.add(_spec(2))
    if column == "spec" and not value.startswith("x'"):
        value = "'" + value.replace("'", "''") + "'"
    _damage_first_row(db, column, value)


@pytest.mark.parametrize("case", DAMAGES)
def test_a_damaged_row_loads_as_damaged_and_can_be_removed(tmp_path: Path, case: str) -> None:
    db = tmp_path / "jobs.sqlite3"
    _queue_with_a_damaged_row(db, case)
    with JobStore(db) as store:
        damaged, healthy = store.list()
        assert damaged.state is JobState.DAMAGED and "cannot be read" in damaged.error_summary
        assert damaged.can_remove and not damaged.can_retry and damaged.is_finished
        assert healthy.state is JobState.QUEUED and healthy.spec.avatar == "Presenter 2"
        assert store.get(damaged.id).state is JobState.DAMAGED
        assert store.next_queued().id == healthy.id  # a damaged row is never rendered
        store.remove(damaged.id)
        assert [job.id for job in store.list()] == [healthy.id]


def test_the_app_opens_and_shows_a_damaged_row(open_window, isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    db = isolated_home / "jobs.sqlite3"
    _queue_with_a_damaged_row(db, "unknown state")
    with JobStore(db) as store:  # the healthy job must not start rendering in the window
        store.mark_cancelled(store.list()[1].id)
    window = open_window()
    table = window.queue.table
    assert table.rowCount() == 2
    assert table.item(0, COL_STATE).text() == "damaged"  # the error: in the tooltip and details pane
    assert table.item(0, COL_STATE).toolTip().startswith("Error: This queue entry cannot be read")
    table.selectRow(0)
    assert "This queue entry cannot be read" in window.queue.details.toPlainText()
