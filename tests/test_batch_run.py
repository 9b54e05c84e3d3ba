"""`avatar-studio batch` on this machine: real renders of short rows, failures, interruption, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.batch.check import check_manifest
from avatar_studio.batch.manifest import read_manifest
from avatar_studio.batch.progress import BatchProgress
from avatar_studio.batch.run import queue_plan, run_batch
from avatar_studio.cli.main import main
from avatar_studio.jobs import JobState, JobStore
from avatar_studio.media.probe import probe_media
from avatar_studio.progress import CancelToken
from batch_media import speech, write_manifest
from render_media import TALKING, make_still, write_beeps

pytestmark = pytest.mark.slow


def frames_of(seconds: float) -> int:
    return round(seconds * 25 + 0.4999)  # ceil, as the renderer covers the whole audio at 25 fps


def test_every_row_renders_a_photo_avatar_is_prepared_once_and_rows_form_a_group(
    batch_library: Path, tmp_path: Path, shared_media: Path, capsys
) -> None:
    project = tmp_path / "course"
    speech(project / "audio", 3)
    make_still(shared_media / TALKING, project / "anna.png")
    manifest = write_manifest(project, [
        "still,audio/voice1.wav,out/a.mp4,ultrafast",
        "anna.png,audio/voice2.wav,,ultrafast",
        "anna.png,audio/voice3.wav,out/b.mp4,ultrafast",
    ])  # fmt: skip
    assert main(["batch", str(manifest), "--library", str(batch_library), "--jobs", "2"]) == 0  # two at once
    stdout = capsys.readouterr().out
    outputs = [project / "out" / "a.mp4", project / "anna_voice2.mp4", project / "out" / "b.mp4"]
    for output, seconds in zip(outputs, (1.0, 1.2, 1.0), strict=True):
        info = probe_media(output)
        assert info.has_audio and info.frame_count == frames_of(seconds), output
        assert f"done  {output}" in stdout
    assert [avatar.name for avatar in AvatarLibrary(batch_library).list()] == ["anna", "still"]
    with JobStore.for_library(batch_library) as store:
        jobs = store.in_group("lessons.csv")
    assert [job.state for job in jobs] == [JobState.DONE] * 3
    assert [job.spec.output for job in jobs] == [str(path) for path in outputs]  # manifest order
    assert "3 rendered, 0 skipped, 0 failed" in stdout


def test_a_failing_row_does_not_stop_the_others_and_the_exit_code_says_so(
    batch_library: Path, tmp_path: Path, capsys
) -> None:
    project = tmp_path / "course"
    speech(project, 3)
    (project / "broken.onnx").write_bytes(b"\x00not a model" * 100)
    manifest = write_manifest(project, [
        "still,voice1.wav,one.mp4,ultrafast,",
        "still,voice2.wav,two.mp4,ultrafast,broken.onnx",
        "still,voice3.wav,three.mp4,ultrafast,",
    ], header="avatar,audio,output,preset,model")  # fmt: skip
    assert main(["batch", str(manifest), "--library", str(batch_library)]) == 1
    stdout = capsys.readouterr().out
    assert (project / "one.mp4").is_file() and (project / "three.mp4").is_file()
    assert not (project / "two.mp4").exists()
    assert not list(project.glob(".*partial*"))
    failed_line = next(line for line in stdout.splitlines() if line.startswith("row    2"))
    assert "failed" in failed_line and "broken.onnx" in failed_line
    assert "2 rendered, 0 skipped, 1 failed" in stdout


def test_an_interrupted_batch_resumes_where_it_stopped(batch_library: Path, tmp_path: Path, capsys) -> None:
    project = tmp_path / "course"
    speech(project, 3)
    manifest = write_manifest(project, [f"still,voice{i}.wav,clip{i}.mp4,ultrafast" for i in (1, 2, 3)])
    outputs = [project / f"clip{i}.mp4" for i in (1, 2, 3)]
    cancel = CancelToken()
    seen: list[BatchProgress] = []

    def stop_after_the_first_row(progress: BatchProgress) -> None:
        seen.append(progress)
        if progress.rows_done >= 1:
            cancel.cancel()

    with JobStore.for_library(batch_library) as store:
        plan = check_manifest(read_manifest(manifest), batch_library, store)
        queued = queue_plan(plan, store, batch_library)
        summary = run_batch(plan, queued, store, batch_library, progress=stop_after_the_first_row, cancel=cancel)
    assert [outcome.state for outcome in summary.outcomes] == ["done", "cancelled", "cancelled"]
    assert not summary.succeeded
    assert outputs[0].is_file() and not outputs[1].exists() and not outputs[2].exists()
    assert not list(project.glob(".*partial*"))
    # The batch's own progress: rows, frames over the whole batch, a rate once frames were done.
    first_done = next(p for p in seen if p.rows_done == 1)
    assert first_done.rows_total == 3 and first_done.frames_done >= frames_of(1.0)
    assert first_done.frames_total >= first_done.frames_done and first_done.rate > 0
    assert any(p.row == 1 and p.row_progress is not None for p in seen)
    finished_at = outputs[0].stat().st_mtime_ns

    assert main(["batch", str(manifest), "--library", str(batch_library)]) == 0
    stdout = capsys.readouterr().out
    assert "3 rows, 1 finished before, 2 to render" in stdout
    assert "1 skipped" in stdout and "2 rendered" in stdout
    assert outputs[0].stat().st_mtime_ns == finished_at  # not rendered again
    assert all(probe_media(path).frame_count > 0 for path in outputs)
    with JobStore.for_library(batch_library) as store:
        jobs = store.in_group("lessons.csv")
    assert len(jobs) == 3 and all(job.state is JobState.DONE for job in jobs)  # the stopped jobs were reused


def test_an_output_that_no_longer_matches_its_row_is_not_taken_as_finished(
    batch_library: Path, tmp_path: Path, capsys
) -> None:
    project = tmp_path / "course"
    speech(project, 1)
    manifest = write_manifest(project, ["still,voice1.wav,clip.mp4,ultrafast"])
    assert main(["batch", str(manifest), "--library", str(batch_library)]) == 0
    (project / "clip.mp4").write_bytes(b"replaced by someone")
    capsys.readouterr()
    assert main(["batch", str(manifest), "--library", str(batch_library)]) == 2
    err = capsys.readouterr().err
    assert "row 1:" in err and "--overwrite" in err
    assert (project / "clip.mp4").read_bytes() == b"replaced by someone"


def test_ctrl_c_cancels_the_batch_and_leaves_no_partial_output(batch_library: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    project = tmp_path / "course"
    project.mkdir()
    for i in (1, 2):
        write_beeps(project / f"long{i}.wav", seconds=20.0)  # far longer than it takes to press Ctrl+C
    manifest = write_manifest(project, ["still,long1.wav,one.mp4,ultrafast", "still,long2.wav,two.mp4,ultrafast"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_studio", "batch", str(manifest), "--library", str(batch_library)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        with JobStore.for_library(batch_library) as store:
            while not any(job.state is JobState.RUNNING and job.progress > 0 for job in store.in_group(manifest.name)):
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl+C: ffmpeg gets it too
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "0 rendered, 0 skipped, 0 failed, 2 cancelled" in stdout, stderr
    assert sorted(path.name for path in project.iterdir()) == ["lessons.csv", "long1.wav", "long2.wav"]
    with JobStore.for_library(batch_library) as store:
        assert [job.state for job in store.in_group(manifest.name)] == [JobState.CANCELLED] * 2
