"""The SQLite render queue: persistence, ordering, state rules, crash recovery, concurrency, bad files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs import JOBS_DB_NAME, SCHEMA_VERSION, JobSpec, JobState, JobStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def make_spec(n: int = 0, **changes: object) -> JobSpec:
    values: dict[str, object] = {
        "avatar": f"Presenter {n}",
        "audio": f"/tmp/speech {n}.wav",
        "output": f"/tmp/out {n}.mp4",
    }
    values.update(changes)
    return JobSpec(**values)  # type: ignore[arg-type]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / JOBS_DB_NAME


@pytest.fixture
def store(db_path: Path):
    with JobStore(db_path) as opened:
        yield opened


def states(store: JobStore) -> list[tuple[str, JobState]]:
    return [(job.spec.avatar, job.state) for job in store.list()]


# -- specs ---------------------------------------------------------------------------------------


def test_spec_round_trips_through_dict_and_ignores_unknown_keys() -> None:
    spec = make_spec(model="/m/w.onnx", backend="onnx", device="cpu", precision="fp16", batch_size=4,
                     loop="loop", crf=23, preset="fast", seconds=5.0, overwrite=True,
                     mask="mouth", mask_blur=0.1, mouth_dilate=0.2, color_match=False, silence="original")
    data = spec.to_dict()
    data["added_in_a_future_version"] = 42
    assert JobSpec.from_dict(data) == spec
    settings = spec.render_settings()
    assert (settings.mask, settings.mask_blur, settings.mouth_dilate, settings.color_match, settings.silence) == (
        "mouth", 0.1, 0.2, False, "original")


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"avatar": " "}, "avatar"),
        ({"audio": ""}, "audio"),
        ({"output": ""}, "output"),
        ({"backend": "tensorflow"}, "backend"),
        ({"device": "tpu"}, "device"),
        ({"precision": "int8"}, "precision"),
        ({"loop": "bounce"}, "loop"),
        ({"preset": "warp"}, "preset"),
        ({"batch_size": 0}, "Batch size"),
        ({"crf": 52}, "CRF"),
        ({"seconds": 0.0}, "Preview"),
        ({"mask": "oval"}, "box, lower-face, mouth"),
        ({"mask_blur": 0.5}, "Mask blur"),
        ({"mouth_dilate": 1.0}, "Mouth dilation"),
        ({"silence": "mute"}, "lipsync, original"),
    ],
)
def test_add_refuses_impossible_settings(store: JobStore, changes: dict, words: str) -> None:
    with pytest.raises(AvatarStudioError, match=words):
        store.add(make_spec(**changes))
    assert store.list() == []


# -- persistence and order -----------------------------------------------------------------------


def test_added_job_round_trips_and_persists_across_reopen(db_path: Path) -> None:
    spec = make_spec(1, model="/models/wav2lip.pth", seconds=5.0, overwrite=True, crf=20)
    with JobStore(db_path) as store:
        job = store.add(spec)
        assert job.state is JobState.QUEUED
        assert job.progress == 0.0 and job.started_at is None and job.created_at > 0
        store.mark_running(job.id, "PyTorch · cpu · fp32 · batch 16")
        store.update_progress(job.id, 0.5, 30.0, 4.0)
        done = store.mark_done(job.id, "/tmp/out 1.mp4", 12.5, fps=28.0)
    with JobStore(db_path) as reopened:
        again = reopened.get(job.id)
    assert again == done
    assert again.spec == spec
    assert again.state is JobState.DONE
    assert again.output_path == "/tmp/out 1.mp4"
    assert again.elapsed_s == 12.5 and again.fps == 28.0 and again.progress == 1.0 and again.eta_s is None
    assert again.device_description == "PyTorch · cpu · fp32 · batch 16"
    assert again.started_at is not None and again.finished_at >= again.started_at


def test_jobs_list_and_run_in_the_order_they_were_added(store: JobStore) -> None:
    ids = [store.add(make_spec(n)).id for n in range(3)]
    assert [job.id for job in store.list()] == ids
    assert store.next_queued().id == ids[0]
    store.mark_running(ids[0])
    assert store.next_queued().id == ids[1]
    store.mark_cancelled(ids[1])
    assert store.next_queued().id == ids[2]
    store.mark_running(ids[2])
    assert store.next_queued() is None


def test_move_reorders_queued_jobs_only_and_stops_at_the_ends(store: JobStore) -> None:
    finished, a, b, c = (store.add(make_spec(n)).id for n in range(4))
    store.mark_running(finished)
    store.mark_done(finished, "/tmp/out.mp4", 1.0)

    assert store.move(c, -1) is True
    assert [job.id for job in store.list()] == [finished, a, c, b]
    assert store.move(c, -5) is True  # clamped: to the front of the queued jobs, not past the history
    assert [job.id for job in store.list()] == [finished, c, a, b]
    assert store.move(c, -1) is False
    assert store.move(b, +1) is False
    assert store.move(c, +2) is True
    assert [job.id for job in store.list()] == [finished, a, b, c]
    assert store.next_queued().id == a
    with pytest.raises(AvatarStudioError, match="only queued jobs can be moved"):
        store.move(finished, -1)


def test_move_to_puts_a_job_next_in_one_call_and_keeps_the_history(store: JobStore) -> None:
    finished, a, b, c = (store.add(make_spec(n)).id for n in range(4))
    store.mark_running(finished)
    store.mark_done(finished, "/tmp/out.mp4", 1.0)
    running = store.add(make_spec(5)).id
    store.mark_running(running)

    assert store.move_to(c, 0) is True
    assert [job.id for job in store.list()] == [finished, c, a, b, running]
    assert store.next_queued().id == c
    assert store.move_to(c, 0) is False
    assert store.move_to(c, 99) is True  # clamped to the end of the queued jobs
    assert store.next_queued().id == a
    with pytest.raises(AvatarStudioError, match="only queued jobs can be moved"):
        store.move_to(running, 0)


def test_clear_forgets_the_finished_jobs_of_the_given_states_only(store: JobStore) -> None:
    done, failed, cancelled, waiting = (store.add(make_spec(n)).id for n in range(4))
    for job_id in (done, failed):
        store.mark_running(job_id)
    store.mark_done(done, "/tmp/out.mp4", 1.0)
    store.mark_failed(failed, "No face found.")
    store.mark_cancelled(cancelled)
    assert store.clear({JobState.DONE, JobState.CANCELLED}) == 2
    assert [job.id for job in store.list()] == [failed, waiting]
    assert store.clear({JobState.FAILED}) == 1
    with pytest.raises(AvatarStudioError, match="Only finished jobs"):
        store.clear({JobState.QUEUED})
    assert [job.id for job in store.list()] == [waiting]


def test_move_survives_reopen(db_path: Path) -> None:
    with JobStore(db_path) as store:
        a, b = store.add(make_spec(1)).id, store.add(make_spec(2)).id
        store.move(b, -1)
    with JobStore(db_path) as store:
        assert [job.id for job in store.list()] == [b, a]


# -- state rules ---------------------------------------------------------------------------------


def test_retry_requeues_failed_cancelled_and_interrupted_jobs_at_the_end_with_a_clean_slate(
    store: JobStore,
) -> None:
    failed, cancelled, waiting = (store.add(make_spec(n)).id for n in range(3))
    store.mark_running(failed, "ONNX Runtime · CPUExecutionProvider · fp32 · batch 16")
    store.update_progress(failed, 0.4, 20.0, 3.0)
    store.mark_failed(failed, "The audio file is silent.\nmore detail", "Traceback...\nfull text")
    store.mark_cancelled(cancelled)

    job = store.get(failed)
    assert job.error_summary == "The audio file is silent."
    assert job.error == "Traceback...\nfull text"
    assert job.progress == pytest.approx(0.4) and job.elapsed_s is not None

    retried = store.retry(failed)
    assert retried.state is JobState.QUEUED
    assert (retried.progress, retried.fps, retried.eta_s, retried.error, retried.error_summary) == (
        0.0, None, None, "", "")
    assert retried.started_at is None and retried.finished_at is None and retried.device_description == ""
    store.retry(cancelled)
    assert [job.id for job in store.list()] == [waiting, failed, cancelled]
    assert store.next_queued().id == waiting


@pytest.mark.parametrize("state", ["queued", "running", "done"])
def test_retry_refuses_jobs_that_did_not_stop_early(store: JobStore, state: str) -> None:
    job_id = store.add(make_spec()).id
    if state != "queued":
        store.mark_running(job_id)
    if state == "done":
        store.mark_done(job_id, "/tmp/x.mp4", 1.0)
    with pytest.raises(AvatarStudioError, match="only failed, cancelled or interrupted"):
        store.retry(job_id)
    assert store.get(job_id).state.value == state


def test_remove_refuses_a_running_job_and_forgets_the_others(store: JobStore) -> None:
    running, queued = store.add(make_spec(1)).id, store.add(make_spec(2)).id
    store.mark_running(running)
    with pytest.raises(AvatarStudioError, match="cancel it before removing"):
        store.remove(running)
    store.remove(queued)
    assert [job.id for job in store.list()] == [running]
    with pytest.raises(AvatarStudioError, match=f"no job #{queued}"):
        store.get(queued)
    store.mark_cancelled(running)
    store.remove(running)
    assert store.list() == []


def test_invalid_transitions_are_refused_and_change_nothing(store: JobStore) -> None:
    job_id = store.add(make_spec()).id
    with pytest.raises(AvatarStudioError, match="cannot become done"):
        store.mark_done(job_id, "/tmp/x.mp4", 1.0)
    with pytest.raises(AvatarStudioError, match="cannot become failed"):
        store.mark_failed(job_id, "boom")
    store.mark_running(job_id)
    with pytest.raises(AvatarStudioError, match="cannot become running"):
        store.mark_running(job_id)  # a second worker cannot claim the same job
    store.mark_cancelled(job_id)
    store.update_progress(job_id, 0.9, 10.0, 1.0)  # a late report after cancel is ignored
    job = store.get(job_id)
    assert job.state is JobState.CANCELLED and job.progress == 0.0


def test_progress_is_clamped_and_recorded(store: JobStore) -> None:
    job_id = store.add(make_spec()).id
    store.mark_running(job_id)
    store.update_progress(job_id, 1.7, 25.0, None)
    job = store.get(job_id)
    assert (job.progress, job.fps, job.eta_s) == (1.0, 25.0, None)


# -- crash recovery ------------------------------------------------------------------------------


CRASHING_RENDERER = """
import os, sys
from avatar_studio.jobs import JobSpec, JobStore
store = JobStore(sys.argv[1])
running = store.add(JobSpec(avatar="a", audio="/tmp/a.wav", output="/tmp/a.mp4")).id
store.add(JobSpec(avatar="b", audio="/tmp/b.wav", output="/tmp/b.mp4"))
store.mark_running(running, "PyTorch · cpu · fp32 · batch 16")
store.update_progress(running, 0.3, 12.0, 9.0)
os._exit(9)  # dies mid-render: no mark_done/failed, no close, no cleanup
"""


def test_a_job_running_at_a_crash_comes_back_interrupted_and_can_be_retried(db_path: Path) -> None:
    crash = subprocess.run([sys.executable, "-c", CRASHING_RENDERER, str(db_path)], cwd=PROJECT_ROOT)
    assert crash.returncode == 9
    running, waiting = 1, 2

    with JobStore(db_path) as store:
        assert store.recover_interrupted() == 1
        job = store.get(running)
        assert job.state is JobState.INTERRUPTED
        assert job.progress == pytest.approx(0.3)  # how far it got is kept
        assert "stopped while this job was running" in job.error_summary
        assert job.finished_at is not None
        assert store.get(waiting).state is JobState.QUEUED
        assert store.recover_interrupted() == 0
        assert store.retry(running).state is JobState.QUEUED
        assert [job.id for job in store.list()] == [waiting, running]


# -- concurrency ---------------------------------------------------------------------------------


@pytest.mark.parametrize("separate_connections", [False, True], ids=["shared-store", "two-stores"])
def test_two_threads_writing_at_once_lose_nothing(db_path: Path, separate_connections: bool) -> None:
    per_thread = 25
    first = JobStore(db_path)
    second = JobStore(db_path) if separate_connections else first
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(store: JobStore, tag: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                job = store.add(make_spec(tag * 1000 + n))
                store.mark_running(job.id)
                store.update_progress(job.id, 0.5, 10.0, 1.0)
                store.mark_done(job.id, f"/tmp/{job.id}.mp4", 0.1)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(s, tag)) for tag, s in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        jobs = first.list()
        assert len(jobs) == 2 * per_thread
        assert all(job.state is JobState.DONE for job in jobs)
        positions = [job.position for job in jobs]
        assert len(set(positions)) == len(positions)  # BEGIN IMMEDIATE: no two jobs share a slot
    finally:
        first.close()
        if second is not first:
            second.close()


# -- files from elsewhere ------------------------------------------------------------------------


def test_a_queue_from_a_newer_version_is_refused_untouched(db_path: Path) -> None:
    with JobStore(db_path) as store:
        store.add(make_spec())
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db_path.read_bytes()
    with pytest.raises(AvatarStudioError, match="newer Avatar Studio") as caught:
        JobStore(db_path)
    assert str(db_path) in str(caught.value)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert raw.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1
    assert db_path.read_bytes() == before


def test_a_corrupt_file_is_named_in_the_error_and_kept(db_path: Path) -> None:
    garbage = b"this is not a database, it is user history we must not delete " * 64
    db_path.write_bytes(garbage)
    with pytest.raises(AvatarStudioError, match="damaged") as caught:
        JobStore(db_path)
    message = str(caught.value)
    assert str(db_path) in message and "move it aside" in message
    assert db_path.read_bytes() == garbage


def test_a_database_with_damaged_pages_is_reported(db_path: Path) -> None:
    with JobStore(db_path) as store:
        for n in range(40):
            store.add(make_spec(n, audio="x" * 3000))
    with sqlite3.connect(db_path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db_path.read_bytes())
    page = 4096
    data[2 * page: 6 * page] = b"\xff" * (4 * page)  # overwrite some table/index pages
    db_path.write_bytes(bytes(data))
    with pytest.raises(AvatarStudioError, match="damaged"):
        store = JobStore(db_path)
        store.list()


def test_a_missing_library_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AvatarStudioError, match="Cannot open or write the job queue"):
        JobStore(tmp_path / "no such folder" / JOBS_DB_NAME)


def test_for_library_uses_the_jobs_file_in_the_library(tmp_path: Path) -> None:
    with JobStore.for_library(tmp_path) as store:
        store.add(make_spec())
    assert (tmp_path / JOBS_DB_NAME).is_file()


def test_a_queue_from_before_batch_groups_is_upgraded_and_keeps_its_jobs(db_path: Path) -> None:
    from avatar_studio.jobs.store import _create_schema_v1

    with sqlite3.connect(db_path) as raw:  # a version-1 file, as the first release wrote it
        _create_schema_v1(raw)
        raw.execute("INSERT INTO jobs (spec, state, position, created_at) VALUES (?, 'done', 1, 0)",
                    (json.dumps(make_spec(1).to_dict()),))
        raw.execute("PRAGMA user_version = 1")
    with JobStore(db_path) as store:
        (old,) = store.list()
        assert old.spec == make_spec(1) and old.state is JobState.DONE and old.group == ""
        new = store.add(make_spec(2), group="week1.csv")
        assert store.in_group("week1.csv") == [new] and store.in_group("") == [old]
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
