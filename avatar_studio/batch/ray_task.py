"""What a cluster node runs for one manifest row: fetch what it lacks, render, send the file back.

Runs inside a Ray worker process (imported there by reference; the submitter wraps `render_row`
with `ray.remote`). The node needs only Avatar Studio installed: the avatar and model come from
the node cache (`node_cache`), the audio with the task, and the finished video goes back as
bytes, so nothing is written on the submitting machine's disks from here and nothing of the job
queue is needed.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from avatar_studio.batch.node_cache import MODELS_KIND, cache_root, materialise
from avatar_studio.jobs.model import JobSpec
from avatar_studio.processes import process_alive
from avatar_studio.progress import Progress

#: Node progress reaches the submitter at most this often per row.
REPORT_INTERVAL_S = 0.25
#: Test hook: a folder where a file `<output stem>.crash` makes renders of that row kill their worker
#: process after a few frames, as many attempts as the file says (empty: the first one only); the
#: file is then renamed to `.crashed`, so later attempts live.
CRASH_DIR_ENV = "AVATAR_STUDIO_TEST_CRASH_DIR"
CRASH_AFTER_FRAMES = 3
#: Each render's audio and output on the node, in `<cache>/work/<pid>-<random>/`.
WORK_DIR = "work"


@dataclass(frozen=True)
class Shipment:
    """Content on its way to nodes: its hash and the Ray object holding its bytes. Kept inside
    this wrapper so Ray does not fetch the bytes before the node cache was looked at."""

    kind: str
    digest: str
    name: str
    ref: Any  # ray.ObjectRef


@dataclass(frozen=True)
class RowResult:
    data: bytes
    frame_count: int
    elapsed_s: float
    frames_per_second: float
    device_description: str


def render_row(spec_data: dict[str, Any], avatar: Shipment, model: Shipment, enhancer: Shipment | None,
               audio_name: str, audio: bytes, row: int, hub: Any) -> RowResult:  # fmt: skip
    """Render one row on this node; raises the render's own error (AvatarStudioError) on bad input."""
    import ray

    from avatar_studio.jobs.runner import render_request_for
    from avatar_studio.render.request import run_render_request

    library_root = _cached(avatar, hub)
    model_path = _cached(model, hub) / model.name
    enhancer_path = "" if enhancer is None else str(_cached(enhancer, hub) / enhancer.name)
    work_root = cache_root() / WORK_DIR
    _remove_dead_workers_files(work_root)
    work = work_root / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    work.mkdir(parents=True)
    try:
        (work / audio_name).write_bytes(audio)
        spec = JobSpec.from_dict(spec_data)
        output = work / Path(spec.output).name
        node_spec = replace(spec, audio=str(work / audio_name), output=str(output), model=str(model_path),
                            enhancer=enhancer_path, overwrite=False)  # fmt: skip
        described: list[str] = []
        result = run_render_request(
            render_request_for(node_spec), library_root,
            progress=_Reporter(hub, row, crash_marker=_crash_marker(spec.output)),
            on_backend_ready=described.append,
        )
        return RowResult(
            data=output.read_bytes(), frame_count=result.frame_count, elapsed_s=result.elapsed_s,
            frames_per_second=result.frames_per_second,
            device_description=" · ".join([*described, f"node {ray.get_runtime_context().get_node_id()[:8]}"]),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cached(shipment: Shipment, hub: Any) -> Path:
    import ray

    folder, fetched = materialise(
        shipment.kind, shipment.digest, lambda: ray.get(shipment.ref),
        name=shipment.name if shipment.kind == MODELS_KIND else "",
    )
    if fetched:
        hub.fetched.remote(shipment.kind, shipment.digest, ray.get_runtime_context().get_node_id())
    return folder


def _remove_dead_workers_files(work_root: Path) -> None:
    """Remove what renders in worker processes that died (a lost worker, a forced cancel) left."""
    if not work_root.is_dir():
        return
    for entry in work_root.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _crash_marker(output: str) -> Path | None:
    folder = os.environ.get(CRASH_DIR_ENV)
    return Path(folder) / f"{Path(output).stem}.crash" if folder else None


class _Reporter:
    """The render's progress callback on the node: throttled reports to the submitter's hub."""

    def __init__(self, hub: Any, row: int, crash_marker: Path | None) -> None:
        self._hub = hub
        self._row = row
        self._crash_marker = crash_marker
        self._last = float("-inf")

    def __call__(self, progress: Progress) -> None:
        if self._crash_marker is not None and progress.done >= CRASH_AFTER_FRAMES:
            self._crash_if_armed(self._crash_marker)
        now = time.monotonic()
        if progress.done >= progress.total or now - self._last >= REPORT_INTERVAL_S:
            self._last = now
            self._hub.report.remote(self._row, progress.stage, progress.done, progress.total, progress.elapsed_s)

    def _crash_if_armed(self, marker: Path) -> None:
        try:
            left = int(marker.read_text().strip() or 1)
            if left > 1:
                marker.write_text(str(left - 1))
            else:
                marker.rename(marker.with_suffix(".crashed"))
        except (OSError, ValueError):
            self._crash_marker = None  # not armed, or fired as often as it was told
            return
        os._exit(1)  # the worker dies as it would on a lost node; Ray retries the row

