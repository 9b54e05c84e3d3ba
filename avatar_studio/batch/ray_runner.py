"""Render a batch's rows as Ray tasks: on a running cluster (`--ray ADDRESS`) or a local one.

Each row is one task asking for one GPU where the cluster has GPUs, else `CPUS_PER_TASK` CPUs, so
Ray places it on whichever node has room. The avatar and model bytes go into the object store
once per distinct content (`node_cache`, `ray_task.Shipment`) and each node fetches them once;
the finished video comes back as bytes and is written to the row's output here, through a
temporary file renamed into place. The job queue (SQLite) is touched only here, never on a node.

A worker or node that dies mid-task gets its row run once more (`max_retries=1`); an error of the
render itself (bad audio, say) is not retried. Cancelling cancels every task, and nothing that
finishes after the cancel is written.

Ray is an optional extra: this module imports it only inside functions, and `require_ray` says
what to install.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from avatar_studio.atomic_files import atomic_output
from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.batch.node_cache import Packed, pack_avatar, pack_file
from avatar_studio.batch.progress import BatchTracker
from avatar_studio.batch.ray_task import RowResult, Shipment, render_row
from avatar_studio.batch.run import QueuedRow
from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.jobs.store import JobStore
from avatar_studio.progress import CancelToken, Progress

INSTALL_HINT = 'pip install "avatar-studio[cluster]"'
LOCAL = "local"
#: CPUs one render asks for on a cluster without GPUs (a render runs several threads; give each
#: node's `ray start --num-cpus` the number of renders it should run at once).
CPUS_PER_TASK = 1
#: A worker or node lost mid-render: the row runs once more elsewhere, then counts as failed.
TASK_RETRIES = 1
#: How long cancelled tasks get to stop by themselves before their workers are killed.
CANCEL_GRACE_S = 20.0
_POLL_S = 0.2
#: How long a cluster's head gets to accept a connection before the address counts as wrong.
CONNECT_TIMEOUT_S = 5.0


def require_ray() -> ModuleType:
    """The `ray` module, or the sentence saying how to install it."""
    try:
        import ray
    except ImportError:
        raise AvatarStudioError(
            f"Rendering on a Ray cluster needs Ray, which is not installed; install it with: {INSTALL_HINT}"
        ) from None
    return ray


class ProgressHub:
    """A small actor on the cluster collecting the nodes' reports until the submitter drains them."""

    def __init__(self) -> None:
        self._events: list[tuple[Any, ...]] = []

    def report(self, row: int, stage: str, done: int, total: int, elapsed_s: float) -> None:
        self._events.append(("progress", row, stage, done, total, elapsed_s))

    def fetched(self, kind: str, digest: str, node_id: str) -> None:
        self._events.append(("fetched", kind, digest, node_id))

    def drain(self) -> list[tuple[Any, ...]]:
        events, self._events = self._events, []
        return events


class RayExecutor:
    """Renders the rows on a Ray cluster; use it as a context manager (connects on entry, in the
    calling thread: Ray's driver set-up wants the main thread)."""

    def __init__(self, address: str, max_in_flight: int | None = None) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise AvatarStudioError(f"--jobs must be at least 1, not {max_in_flight}.")
        self.address = address
        self.max_in_flight = max_in_flight
        #: (kind, digest, node id) for every time a node had to fetch an avatar or model.
        self.fetches: list[tuple[str, str, str]] = []
        self._started_cluster = False

    def __enter__(self) -> RayExecutor:
        ray = require_ray()
        if ray.is_initialized():
            return self  # the caller (a test, a notebook) connected already: leave it to them
        try:
            if self.address == LOCAL:
                ray.init(num_cpus=self.max_in_flight or os.cpu_count(), include_dashboard=False,
                         log_to_driver=False)  # fmt: skip
            else:
                _check_reachable(self.address)
                ray.init(address=self.address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise AvatarStudioError(
                f"Cannot connect to the Ray cluster at {self.address!r} ({error}); start it with "
                "`ray start --head` on one machine or check the address (docs/cluster.md)."
            ) from None
        self._started_cluster = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started_cluster:
            require_ray().shutdown()
            self._started_cluster = False

    def run(self, rows: Sequence[QueuedRow], store: JobStore, library_root: Path, tracker: BatchTracker,
            cancel: CancelToken) -> None:  # fmt: skip
        if rows:
            _Submission(require_ray(), self, rows, store, library_root, tracker, cancel).run()


class _Submission:
    """One batch on the cluster: ships the shared files, submits, follows and collects the tasks."""

    def __init__(self, ray: ModuleType, executor: RayExecutor, rows: Sequence[QueuedRow], store: JobStore,
                 library_root: Path, tracker: BatchTracker, cancel: CancelToken) -> None:  # fmt: skip
        self.ray = ray
        self.executor = executor
        self.store = store
        self.library_root = library_root
        self.tracker = tracker
        self.cancel = cancel
        self.waiting = deque(rows)
        self.pending: dict[Any, QueuedRow] = {}  # task ref -> its row
        self.pending_rows: dict[int, QueuedRow] = {}  # row number -> its row, while its task runs
        self.running: set[int] = set()  # job ids marked running in the store
        self.hub = ray.remote(num_cpus=0)(ProgressHub).remote()
        resources = self._resources()
        self.task = ray.remote(render_row).options(max_retries=TASK_RETRIES, retry_exceptions=False, **resources)
        self.limit = executor.max_in_flight or self._default_in_flight(resources)
        self._shipments: dict[tuple[str, str], Shipment] = {}

    def run(self) -> None:
        try:
            while self.waiting or self.pending:
                self._submit_more()
                if self.cancel.cancelled:
                    break
                if not self.pending:
                    continue
                ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=_POLL_S)
                self._drain()
                for ref in ready:
                    entry = self.pending.pop(ref)
                    self.pending_rows.pop(entry.row.number, None)
                    self._collect(ref, entry)
        finally:
            self._cancel_everything()

    def _resources(self) -> dict[str, float]:
        if self.ray.cluster_resources().get("GPU", 0) >= 1:
            return {"num_gpus": 1}
        return {"num_cpus": CPUS_PER_TASK}

    def _default_in_flight(self, resources: dict[str, float]) -> int:
        """Twice the rows the cluster can render at once, so a node finishing a row finds the next
        one waiting, while the audio of a thousand rows is not all sent at once."""
        total = self.ray.cluster_resources()
        slots = total.get("GPU", 0) if "num_gpus" in resources else total.get("CPU", 0) / CPUS_PER_TASK
        return max(1, int(2 * slots))

    def _submit_more(self) -> None:
        while self.waiting and not self.cancel.cancelled and len(self.pending) < self.limit:
            entry = self.waiting.popleft()
            spec = entry.job.spec
            audio = Path(spec.audio)
            try:
                avatar = self._avatar_shipment(spec.avatar_id, spec.avatar)
                model, enhancer = self._model_shipments(entry.job)
                audio_bytes = audio.read_bytes()
            except (AvatarStudioError, OSError) as error:
                self._fail(entry, str(error))
                continue
            ref = self.task.remote(spec.to_dict(), avatar, model, enhancer, audio.name, audio_bytes,
                                   entry.row.number, self.hub)  # fmt: skip
            self.pending[ref] = entry
            self.pending_rows[entry.row.number] = entry

    def _avatar_shipment(self, avatar_id: str, name: str) -> Shipment:
        return self._shipment(
            ("avatar", avatar_id or name),
            lambda: pack_avatar(AvatarLibrary(self.library_root).get_by_id(avatar_id, name).folder),
        )

    def _model_shipments(self, job: Job) -> tuple[Shipment, Shipment | None]:
        """The row's Wav2Lip model and, when it uses one, its face enhancer."""
        from avatar_studio.jobs.runner import render_request_for

        request = render_request_for(job.spec)
        model = request.backend_settings(self.library_root).model_path
        enhancer = request.enhancer_path(self.library_root)
        return (
            self._shipment(("model", str(model)), lambda: pack_file(model)),
            None if enhancer is None else self._shipment(("model", str(enhancer)), lambda: pack_file(enhancer)),
        )

    def _shipment(self, key: tuple[str, str], pack: Any) -> Shipment:
        """Packed and put into the object store once per batch, whatever the number of rows."""
        if key not in self._shipments:
            packed: Packed = pack()
            self._shipments[key] = Shipment(packed.kind, packed.digest, packed.name, self.ray.put(packed.data))
        return self._shipments[key]

    def _drain(self) -> None:
        for event in self.ray.get(self.hub.drain.remote()):
            if event[0] == "fetched":
                self.executor.fetches.append(event[1:])
                continue
            _, number, stage, done, total, elapsed_s = event
            entry = self.pending_rows.get(number)
            if entry is None:
                continue  # a late report of a row already collected
            self._mark_running(entry)
            report = Progress(stage, done, total, elapsed_s)
            self.store.update_progress(entry.job.id, report.fraction, report.rate, report.eta_s)
            self.tracker.row_progress(number, report)

    def _collect(self, ref: Any, entry: QueuedRow) -> None:
        exceptions = self.ray.exceptions
        try:
            result: RowResult = self.ray.get(ref)
        except exceptions.TaskCancelledError:
            self._cancelled(entry)
            return
        except exceptions.RayTaskError as error:
            cause = error.cause if isinstance(error.cause, AvatarStudioError) else None
            self._fail(entry, str(cause) if cause else f"The render failed on its node: {error.cause!r}.",
                       "" if cause else str(error))  # fmt: skip
            return
        except exceptions.RayError as error:  # worker or node lost, and lost again on the retry
            self._fail(entry, f"The node rendering this row stopped, also on the retry ({type(error).__name__}); "
                              "check the cluster's nodes and run the batch again.", str(error))  # fmt: skip
            return
        if self.cancel.cancelled:
            self._cancelled(entry)
            return
        try:
            _deliver(Path(entry.job.spec.output), result.data, entry.job.spec.overwrite)
        except AvatarStudioError as error:
            self._fail(entry, str(error))
            return
        self._mark_running(entry)
        self.store.set_device_description(entry.job.id, result.device_description)
        self.store.mark_done(entry.job.id, entry.job.spec.output, result.elapsed_s, fps=result.frames_per_second)
        self.tracker.row_finished(entry.row.number, True)

    def _cancel_everything(self) -> None:
        """Cancel what is still out there and wait for it to stop; write none of its results."""
        refs = list(self.pending)
        for ref in refs:
            self.ray.cancel(ref, force=False)
        if refs:
            _, stuck = self.ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
            for ref in stuck:
                self.ray.cancel(ref, force=True)
        for entry in [*self.pending.values(), *self.waiting]:
            self._cancelled(entry)
        self.pending.clear()
        self.pending_rows.clear()
        self.waiting.clear()

    def _mark_running(self, entry: QueuedRow) -> None:
        if entry.job.id not in self.running:
            self.running.add(entry.job.id)
            self.store.mark_running(entry.job.id)

    def _fail(self, entry: QueuedRow, summary: str, details: str = "") -> None:
        self._mark_running(entry)
        self.store.mark_failed(entry.job.id, summary, details)
        self.tracker.row_finished(entry.row.number, False)

    def _cancelled(self, entry: QueuedRow) -> None:
        if self.store.get(entry.job.id).state in (JobState.QUEUED, JobState.RUNNING):
            self.store.mark_cancelled(entry.job.id)
        self.tracker.row_finished(entry.row.number, False)


def _check_reachable(address: str) -> None:
    """Fail in seconds on a `host:port` nobody listens on (Ray itself retries for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto" or a ray:// client address: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise AvatarStudioError(
            f"Nothing answers at the Ray cluster address {address!r} ({error.strerror or error}); start the head "
            "with `ray start --head` there, or check the address and the firewall (docs/cluster.md)."
        ) from None


def _deliver(output: Path, data: bytes, overwrite: bool) -> None:
    """Write a finished video onto `output` the way local renders do: temp file, then rename."""
    try:
        with atomic_output(output) as temp:
            temp.write_bytes(data)
            if output.exists() and not overwrite:
                raise AvatarStudioError(
                    f"{str(output)!r} appeared while rendering; pass --overwrite or choose another name."
                )
    except OSError as error:
        raise AvatarStudioError(
            f"Cannot write {str(output)!r} ({error.strerror or error}); free some disk space or choose another folder."
        ) from None

