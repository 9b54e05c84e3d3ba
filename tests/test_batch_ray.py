"""`avatar-studio batch --ray`: a real local Ray cluster (one for the whole session, 2 CPUs) renders
rows as tasks; the files equal a local batch frame for frame, a killed worker's row is retried, and a
cancel leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from avatar_studio.batch.check import check_manifest
from avatar_studio.batch.manifest import read_manifest
from avatar_studio.batch.node_cache import AVATARS_KIND, CACHE_ENV, MODELS_KIND
from avatar_studio.batch.progress import BatchProgress
from avatar_studio.batch.ray_task import CRASH_DIR_ENV, WORK_DIR
from avatar_studio.batch.run import queue_plan, run_batch
from avatar_studio.cli.main import main
from avatar_studio.jobs import JobState, JobStore
from avatar_studio.media.probe import probe_media
from avatar_studio.progress import CancelToken
from batch_media import speech, write_manifest
from render_media import read_frames, write_beeps
from standin_enhancers import write_identity_enhancer

ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "avatar-studio[cluster]" (make test does)')
from avatar_studio.batch.ray_runner import RayExecutor  # noqa: E402 - needs ray

pytestmark = pytest.mark.slow
CLUSTER_CPUS = 2


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """One local cluster for every Ray test (starting one costs seconds on 2 shared cores). Its
    workers inherit the node cache folder and the crash-hook folder from this environment."""
    cache = tmp_path_factory.mktemp("ray_node_cache")
    crash_dir = tmp_path_factory.mktemp("ray_crash_hooks")
    saved = {name: os.environ.get(name) for name in (CACHE_ENV, CRASH_DIR_ENV)}
    os.environ[CACHE_ENV], os.environ[CRASH_DIR_ENV] = str(cache), str(crash_dir)
    ray.init(num_cpus=CLUSTER_CPUS, include_dashboard=False, log_to_driver=False,
             object_store_memory=128 * 1024 * 1024)  # fmt: skip
    yield SimpleNamespace(cache=cache, crash_dir=crash_dir)
    ray.shutdown()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def four_rows(folder: Path, name: str = "lessons.csv") -> Path:
    speech(folder, 4)
    return write_manifest(folder, [f"still,voice{i}.wav,clip{i}.mp4,ultrafast" for i in range(1, 5)], name)


def render_with(executor, manifest: Path, library: Path, progress=None, cancel=None):
    with JobStore.for_library(library) as store:
        plan = check_manifest(read_manifest(manifest), library, store)
        queued = queue_plan(plan, store, library)
        summary = run_batch(plan, queued, store, library, executor, progress=progress, cancel=cancel)
        return summary, store.in_group(manifest.name)


def decoded(path: Path):
    info = probe_media(path)
    return read_frames(path, info.width, info.height)


def test_a_ray_batch_writes_the_same_files_as_a_local_one(ray_cluster, batch_library: Path, tmp_path: Path) -> None:
    local = four_rows(tmp_path / "local")
    assert main(["batch", str(local), "--library", str(batch_library)]) == 0
    on_ray = four_rows(tmp_path / "ray", "on_ray.csv")
    shutil.rmtree(ray_cluster.cache / AVATARS_KIND, ignore_errors=True)  # this test counts the copies
    shutil.rmtree(ray_cluster.cache / MODELS_KIND, ignore_errors=True)
    reports: list[BatchProgress] = []
    with RayExecutor("local") as executor:
        summary, jobs = render_with(executor, on_ray, batch_library, progress=reports.append)
    assert summary.succeeded and [job.state for job in jobs] == [JobState.DONE] * 4
    for i in range(1, 5):
        expected, got = decoded(local.parent / f"clip{i}.mp4"), decoded(on_ray.parent / f"clip{i}.mp4")
        assert got.shape == expected.shape and (got == expected).all(), f"clip{i}"
    # Four rows of one avatar and one model: each travelled to the (single) node exactly once.
    assert sorted(kind for kind, _digest, _node in executor.fetches) == [AVATARS_KIND, MODELS_KIND]
    copies = [path for path in (ray_cluster.cache / AVATARS_KIND).glob("*/avatars/*") if not path.name.startswith(".")]
    assert len(copies) == 1
    # Progress came back from the node, per row and for the whole batch.
    assert {p.row for p in reports if p.row is not None} == {1, 2, 3, 4}
    assert reports[-1].rows_done == 4 and reports[-1].frames_done == reports[-1].frames_total
    assert all("node" in job.device_description for job in jobs)


def test_a_worker_killed_mid_render_gets_one_retry_and_a_bad_row_fails_alone(
    ray_cluster, batch_library: Path, tmp_path: Path, capsys
) -> None:
    project = tmp_path / "course"
    speech(project, 2)
    write_identity_enhancer(project / "restore_identity.onnx", size=256)  # a face enhancer travels too
    (project / "broken.onnx").write_bytes(b"\x00not a model" * 100)  # a row's own error: not retried
    manifest = write_manifest(project, ["still,voice1.wav,steady.mp4,ultrafast,restore_identity.onnx,",
                                        "still,voice2.wav,doomed.mp4,ultrafast,,",
                                        "still,voice1.wav,broken.mp4,ultrafast,,broken.onnx",
                                        "still,voice1.wav,cursed.mp4,ultrafast,,"],
                              header="avatar,audio,output,preset,enhancer,model")  # fmt: skip
    armed = ray_cluster.crash_dir / "doomed.crash"
    armed.touch()  # its first attempt dies
    (ray_cluster.crash_dir / "cursed.crash").write_text("2")  # both attempts die
    assert main(["batch", str(manifest), "--library", str(batch_library), "--ray", "local"]) == 1
    assert not armed.exists() and armed.with_suffix(".crashed").exists()  # the first attempt died
    assert probe_media(project / "doomed.mp4").frame_count == 30  # 1.2 s at 25 fps, from the retry
    assert probe_media(project / "steady.mp4").frame_count == 25
    assert list((ray_cluster.cache / MODELS_KIND).glob("*/restore_identity.onnx"))  # the node's copy
    stdout = capsys.readouterr().out
    assert "2 rendered, 0 skipped, 2 failed" in stdout and not (project / "broken.mp4").exists()
    failed = next(line for line in stdout.splitlines() if "broken.mp4" in line)
    assert "failed" in failed and "broken.onnx" in failed
    lost = next(line for line in stdout.splitlines() if "cursed.mp4" in line)  # retried once, then failed
    assert "failed" in lost and "also on the retry" in lost and not (project / "cursed.mp4").exists()
    assert (ray_cluster.crash_dir / "cursed.crashed").exists()


def test_cancel_stops_the_tasks_and_leaves_no_outputs(ray_cluster, batch_library: Path, tmp_path: Path) -> None:
    folder = tmp_path / "course"
    folder.mkdir()
    for i in range(1, 5):  # 8 s each: no row can finish before the cancel arrives
        write_beeps(folder / f"voice{i}.wav", seconds=8.0)
    manifest = write_manifest(folder, [f"still,voice{i}.wav,clip{i}.mp4,ultrafast" for i in range(1, 5)])
    cancel = CancelToken()

    def cancel_once_frames_render(progress: BatchProgress) -> None:
        if progress.row_progress is not None and progress.row_progress.done > 0:
            cancel.cancel()

    with RayExecutor("local") as executor:
        summary, jobs = render_with(executor, manifest, batch_library, progress=cancel_once_frames_render,
                                    cancel=cancel)  # fmt: skip
    assert cancel.cancelled
    assert [outcome.state for outcome in summary.outcomes] == ["cancelled"] * 4
    assert all(job.state is JobState.CANCELLED for job in jobs)
    assert sorted(path.name for path in manifest.parent.iterdir()) == sorted(
        [manifest.name, *(f"voice{i}.wav" for i in range(1, 5))])  # no video, no partial file
    work = ray_cluster.cache / WORK_DIR
    # What the cancelled renders wrote on the node is gone too (their own clean-up, or the next
    # task's for a worker that had to be killed).
    deadline = time.monotonic() + 60
    while any(work.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(work.iterdir())
