"""The job runner: the state transitions, errors and throttled progress it records in the store.

The render itself is replaced here by a stand-in (`runner._render`) that reports progress, fails
or is cancelled on cue, so each outcome is checked in milliseconds; the real wiring (library,
model resolution, backend, pipeline) is exercised by the unknown-avatar test below and by the
end-to-end render tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs import JobSpec, JobState, JobStore, runner
from avatar_studio.progress import CancelToken, Progress
from avatar_studio.render.pipeline import RenderResult

DESCRIPTION = "ONNX Runtime · CPUExecutionProvider · fp32 · batch 16"


@pytest.fixture
def store(tmp_path: Path):
    with JobStore(tmp_path / "jobs.sqlite3") as opened:
        yield opened


def queue_job(store: JobStore, tmp_path: Path):
    spec = JobSpec(avatar="Anna", audio=str(tmp_path / "speech.wav"), output=str(tmp_path / "out.mp4"),
                   seconds=2.0)
    return store.add(spec)


def fake_render(behaviour: Callable[..., RenderResult], seen: dict | None = None):
    """A stand-in for `runner._render` that announces a backend, then does `behaviour`."""

    def render(spec, library_root, progress, cancel, on_notice, on_backend_ready):
        if seen is not None:
            seen.update(spec=spec, library_root=library_root)
        on_backend_ready(DESCRIPTION)
        return behaviour(spec, progress, cancel)

    return render


def reports(total: int):
    return [Progress("Rendering", done, total, elapsed_s=done / 25) for done in range(1, total + 1)]


def test_a_successful_render_ends_done_with_output_timing_and_device(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue_job(store, tmp_path)
    seen: dict = {}
    states_during_render = []

    def succeed(spec, progress, cancel):
        states_during_render.append(store.get(job.id).state)
        for report in reports(50):
            progress(report)
        return RenderResult(Path(spec.output), frame_count=50, duration_s=2.0, elapsed_s=1.5,
                            frames_per_second=33.3)

    monkeypatch.setattr(runner, "_render", fake_render(succeed, seen))
    forwarded: list[Progress] = []
    ended = runner.run_job(job, store, tmp_path, progress=forwarded.append)

    assert states_during_render == [JobState.RUNNING]
    assert seen == {"spec": job.spec, "library_root": tmp_path}
    assert len(forwarded) == 50  # the caller sees every report; the store only a throttled few
    assert ended == store.get(job.id)
    assert ended.state is JobState.DONE
    assert ended.output_path == job.spec.output
    assert (ended.elapsed_s, ended.fps, ended.progress) == (1.5, 33.3, 1.0)
    assert ended.device_description == DESCRIPTION
    assert ended.started_at <= ended.finished_at


def test_an_avatar_studio_error_fails_the_job_with_its_message(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue_job(store, tmp_path)
    message = "The audio file speech.wav has no audio stream; choose a voice recording."

    def fail(spec, progress, cancel):
        progress(Progress("Rendering", 10, 50, 0.4))
        raise AvatarStudioError(message)

    monkeypatch.setattr(runner, "_render", fake_render(fail))
    ended = runner.run_job(job, store, tmp_path)
    assert ended.state is JobState.FAILED
    assert ended.error_summary == message and ended.error == message
    assert ended.progress == pytest.approx(0.2)  # where it stopped stays visible
    assert ended.can_retry


def test_an_unexpected_exception_fails_the_job_and_keeps_the_traceback(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue_job(store, tmp_path)

    def crash(spec, progress, cancel):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(runner, "_render", fake_render(crash))
    ended = runner.run_job(job, store, tmp_path)
    assert ended.state is JobState.FAILED
    assert "\n" not in ended.error_summary and "ZeroDivisionError: division by zero" in ended.error_summary
    assert ended.error.startswith("Traceback (most recent call last):")
    assert "in crash" in ended.error and "ZeroDivisionError" in ended.error


def test_cancel_during_the_render_ends_cancelled(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue_job(store, tmp_path)
    token = CancelToken()

    def cancelled_midway(spec, progress, cancel):
        for report in reports(50):
            progress(report)
            cancel.raise_if_cancelled()
        raise AssertionError("the render went on after cancel")

    def user_clicks_cancel(report: Progress) -> None:
        if report.done == 20:
            token.cancel()

    monkeypatch.setattr(runner, "_render", fake_render(cancelled_midway))
    ended = runner.run_job(job, store, tmp_path, progress=user_clicks_cancel, cancel=token)
    assert ended.state is JobState.CANCELLED
    assert ended.error == "" and ended.output_path == ""
    assert ended.finished_at is not None and ended.can_retry


def test_an_error_caused_by_the_cancel_itself_ends_cancelled_not_failed(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C in a terminal also stops ffmpeg, whose failure arrives before the cancel is seen."""
    job = queue_job(store, tmp_path)
    token = CancelToken()

    def encoder_dies_with_the_interrupt(spec, progress, cancel):
        token.cancel()
        raise AvatarStudioError("Encoding 'out.mp4' failed (ffmpeg exited with code 255); check the encoder settings.")

    monkeypatch.setattr(runner, "_render", fake_render(encoder_dies_with_the_interrupt))
    assert runner.run_job(job, store, tmp_path, cancel=token).state is JobState.CANCELLED

    def encoder_fails(spec, progress, cancel):
        raise AvatarStudioError("Encoding 'out.mp4' failed (ffmpeg exited with code 255); check the encoder settings.")

    second = queue_job(store, tmp_path)  # the same error without a cancel is a failure
    monkeypatch.setattr(runner, "_render", fake_render(encoder_fails))
    assert runner.run_job(second, store, tmp_path, cancel=CancelToken()).state is JobState.FAILED


def test_a_token_cancelled_before_the_start_never_renders(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue_job(store, tmp_path)
    token = CancelToken()
    token.cancel()
    monkeypatch.setattr(runner, "_render", fake_render(lambda *args: pytest.fail("rendered anyway")))
    assert runner.run_job(job, store, tmp_path, cancel=token).state is JobState.CANCELLED


def test_a_job_cancelled_while_waiting_cannot_be_started(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue_job(store, tmp_path)
    store.mark_cancelled(job.id)  # the user cancelled it after the scheduler picked it
    monkeypatch.setattr(runner, "_render", fake_render(lambda *args: pytest.fail("rendered anyway")))
    with pytest.raises(AvatarStudioError, match="cannot become running"):
        runner.run_job(job, store, tmp_path)
    assert store.get(job.id).state is JobState.CANCELLED


def test_progress_reaches_the_store_at_most_four_times_a_second(store: JobStore, tmp_path: Path) -> None:
    job = queue_job(store, tmp_path)
    store.mark_running(job.id)
    written: list[float] = []
    real_update = store.update_progress

    def spy(job_id, fraction, fps=None, eta_s=None):
        written.append(fraction)
        real_update(job_id, fraction, fps, eta_s)

    store.update_progress = spy  # type: ignore[method-assign]
    clock = iter(0.1 * n for n in range(100))
    recorder = runner._ProgressRecorder(store, job.id, None, clock=lambda: next(clock))
    for report in reports(10):  # one report every 0.1 s
        recorder(report)
    # Written at 0.0 s, 0.3 s, 0.6 s, 0.9 s (0.25 s apart at least), and the final report always.
    assert written == [0.1, 0.4, 0.7, 1.0]
    stored = store.get(job.id)
    assert stored.progress == 1.0 and stored.fps == pytest.approx(25.0) and stored.eta_s == 0.0


def test_an_unknown_avatar_fails_the_job_through_the_real_library(store: JobStore, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    job = queue_job(store, tmp_path)
    ended = runner.run_job(job, store, library)
    assert ended.state is JobState.FAILED
    assert "Anna" in ended.error_summary
    assert ended.error == ended.error_summary  # a user error, not a traceback
    assert not Path(job.spec.output).exists()


def test_a_job_whose_avatar_was_deleted_fails_naming_it(store: JobStore, tmp_path: Path) -> None:
    library = tmp_path / "library"
    (library / "avatars" / "anna-1a2b3c").mkdir(parents=True)  # a leftover that is not this id
    job = store.add(JobSpec(avatar="Anna", avatar_id="anna-0f0f0f", audio=str(tmp_path / "speech.wav"),
                            output=str(tmp_path / "out.mp4")))
    ended = runner.run_job(job, store, library)
    assert ended.state is JobState.FAILED
    assert "'Anna'" in ended.error_summary and "deleted" in ended.error_summary


def test_specs_stored_before_avatar_ids_still_load_and_match_by_name() -> None:
    old = JobSpec.from_dict({"avatar": "Anna", "audio": "a.wav", "output": "a.mp4", "crf": 20})
    assert old.avatar_id == "" and old.crf == 20
    assert old.uses_avatar("anna-1a2b3c", "ANNA") and not old.uses_avatar("bob-1a2b3c", "Bob")
    new = JobSpec(avatar="Anna", avatar_id="anna-1a2b3c", audio="a.wav", output="a.mp4")
    assert JobSpec.from_dict(new.to_dict()) == new
    # After a rename the id still matches and the old name no longer does.
    assert new.uses_avatar("anna-1a2b3c", "Zoë") and not new.uses_avatar("other-000000", "Anna")


def test_a_rename_reaches_every_job_of_that_avatar_in_the_store(store: JobStore, tmp_path: Path) -> None:
    def add(avatar: str, avatar_id: str = ""):
        return store.add(JobSpec(avatar=avatar, avatar_id=avatar_id, audio=str(tmp_path / "a.wav"),
                                 output=str(tmp_path / f"{len(store.list())}.mp4")))

    by_id, by_old_name, other = add("Anna", "anna-1a2b3c"), add("anna"), add("Bob", "bob-000000")
    assert store.rename_avatar("anna-1a2b3c", "Anna", "Zoë") == 2
    assert store.get(by_id.id).spec.avatar == "Zoë"
    # A job from before ids matched by the old name and now carries the id too.
    assert store.get(by_old_name.id).spec == JobSpec(avatar="Zoë", avatar_id="anna-1a2b3c",
                                                      audio=by_old_name.spec.audio, output=by_old_name.spec.output)
    assert store.get(other.id).spec == other.spec
    assert store.rename_avatar("anna-1a2b3c", "Zoë", "Zoë") == 0  # nothing left to change


@pytest.mark.slow
def test_a_real_render_through_the_runner_ends_done_with_a_playable_output(
    store: JobStore, tmp_path: Path, shared_media: Path, synthetic_checkpoint: Path
) -> None:
    """No stand-ins: a still-image avatar prepared by the library, the synthetic checkpoint on the
    PyTorch backend, one second of real speech through the streaming pipeline."""
    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.avatars.prepare import PrepareSettings
    from avatar_studio.media.ffmpeg import run_ffmpeg
    from avatar_studio.media.probe import probe_media

    library = tmp_path / "library"
    still = tmp_path / "presenter.png"
    run_ffmpeg(["-i", str(shared_media / "talking_man_25fps_844x844.mp4"), "-frames:v", "1", str(still)],
               what="extract a frame")
    prepared = AvatarLibrary(library).prepare(still, "Presenter Zoë", PrepareSettings(max_height=240))
    spec = JobSpec(
        avatar="Presenter Zoë", avatar_id=prepared.folder.name, audio=str(shared_media / "speech_en_22k_mono.wav"),
        output=str(tmp_path / "Presenter Zoë_speech.mp4"), model=str(synthetic_checkpoint),
        backend="torch", device="cpu", precision="fp32", batch_size=8, seconds=1.0, preset="ultrafast",
    )
    job = store.add(spec)
    # Renamed while the job waits: the job refers to the avatar by its folder, which a rename keeps.
    AvatarLibrary(library).rename("Presenter Zoë", "Zoë (studio)")
    forwarded: list[Progress] = []

    ended = runner.run_job(job, store, library, progress=forwarded.append)

    assert ended.state is JobState.DONE, ended.error
    assert ended.output_path == spec.output
    assert ended.device_description.startswith("PyTorch") and "batch 8" in ended.device_description
    assert ended.progress == 1.0 and ended.fps > 0 and ended.elapsed_s > 0
    assert forwarded and forwarded[-1].done == forwarded[-1].total == 25
    info = probe_media(spec.output)
    assert info.has_video and info.has_audio
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
