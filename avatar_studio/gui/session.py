"""One open library folder: its avatars, render queue, engine settings and render scheduler.

They are opened together and closed together, so switching the library folder can never leave
the window reading one folder's avatars while rendering another folder's queue. Qt-free: the
scheduler comes from a factory, so this module (and its tests) need no event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.jobs.store import JobStore
from avatar_studio.locks import AppLock
from avatar_studio.paths import models_dir
from avatar_studio.settings import EngineSettings


class Scheduler(Protocol):
    """What the session needs from the thing that runs its queue."""

    @property
    def running_job_id(self) -> int | None: ...

    def start_next(self) -> None: ...

    def shutdown(self, on_stopped: Callable[[], None]) -> None:
        """Stop rendering; call `on_stopped` once no render thread uses the store (maybe later)."""
        ...


SchedulerT = TypeVar("SchedulerT", bound=Scheduler)


class LibrarySession(Generic[SchedulerT]):
    """The library folder `root` opened for the app; `close()` releases all of it."""

    def __init__(self, root: Path, make_scheduler: Callable[[JobStore, Path], SchedulerT]) -> None:
        self.root = root
        #: One app window per library (LibraryInUse otherwise); CLI renders beside it need no lock.
        self.app_lock = AppLock(root).acquire()
        try:
            self.library = AvatarLibrary(root)
            self.store = JobStore.for_library(root)
        except BaseException:
            self.app_lock.release()
            raise
        try:
            #: How many renders were running when the app last ended (now "interrupted").
            self.interrupted = self.store.recover_interrupted()
            self.settings = EngineSettings.load(root)
            self.scheduler = make_scheduler(self.store, root)
        except BaseException:
            self.store.close()
            self.app_lock.release()
            raise
        self._closing = False
        #: True once the store is closed.
        self.closed = False

    @property
    def models_dir(self) -> Path:
        return models_dir(self.settings.models_dir or None)

    @property
    def output_dir(self) -> Path:
        """Where renders go unless the form says otherwise: the setting, else ~/Videos, else home."""
        if self.settings.output_dir:
            return Path(self.settings.output_dir)
        videos = Path.home() / "Videos"
        return videos if videos.is_dir() else Path.home()

    def save_settings(self, settings: EngineSettings | None = None) -> None:
        """Use `settings` (or keep the current ones after an in-place change) and store them."""
        if settings is not None:
            self.settings = settings
        self.settings.save(self.root)

    def last_device_description(self) -> str:
        """The backend/device the latest render ran on, for the status bar before any render."""
        for job in reversed(self.store.list()):
            if job.device_description:
                return job.device_description
        return ""

    def close(self) -> None:
        """Stop the scheduler; the store closes once no render thread can write to it any more
        (at once, or when a render that outlived the scheduler's wait finally ends)."""
        if not self._closing:
            self._closing = True
            self.scheduler.shutdown(self._close_store)

    def _close_store(self) -> None:
        self.store.close()
        self.app_lock.release()
        self.closed = True
