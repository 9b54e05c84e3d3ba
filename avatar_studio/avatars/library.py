"""The avatar library: a folder of prepared avatars, changed only by atomic renames.

Layout: `<library>/avatars/<folder name>/` per avatar (see `storage` for its files) and
`<library>/avatars/.staging/` for work in progress. Preparation writes into a fresh staging
folder and renames it into place only when complete; replacing moves the old avatar into staging
first and deletes it only after the new one is in place; deleting moves the avatar into staging
before removing it. A crash therefore leaves at worst a staging folder, which the next
`AvatarLibrary` removes (those of processes still running are kept: a GUI and a CLI may share a
library).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import uuid
from collections.abc import Generator, Iterable
from dataclasses import replace as dataclass_replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import numpy as np

from avatar_studio.atomic_files import write_text_atomically
from avatar_studio.avatars import storage, validation
from avatar_studio.avatars.metadata import META_FILE, AvatarMeta
from avatar_studio.avatars.naming import clean_display_name, folder_name_for, name_key
from avatar_studio.avatars.prepare import PrepareSettings, prepare_avatar
from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.boxes import Pads
from avatar_studio.faces.landmarks import LANDMARK_COUNT, OPEN_MOUTH_NOTE_SHARE
from avatar_studio.locks import hold_process_lock, process_holds_library
from avatar_studio.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

AVATARS_DIR = "avatars"
STAGING_DIR = ".staging"
OPEN_MOUTH_NOTE = "filmed with an open mouth: lip sync looks best on a closed-mouth clip"
NO_LANDMARKS_NOTE = "prepared before face-mesh masks: re-prepare for face-mesh masks (renders with the box mask)"


class Avatar:
    """One prepared avatar, read from its folder. Frames are decoded on demand, never all at once."""

    def __init__(self, folder: Path) -> None:
        """Load the metadata and check the files; AvatarStudioError when the folder is unusable."""
        self.folder = folder
        try:
            text = (folder / META_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise AvatarStudioError(
                f"The avatar folder {str(folder)!r} has no readable {META_FILE}; delete it or re-prepare it."
            ) from None
        self.meta = AvatarMeta.from_json(text)
        validation.check_meta(self.meta, folder)
        missing = [
            name for name in (storage.BOXES_FILE, storage.CROPS_FILE, storage.FRAMES_DIR)
            if not (folder / name).exists()
        ]  # fmt: skip
        if missing:
            raise validation.damaged(self.meta.display_name, f"its folder lacks {', '.join(missing)}")
        last = self.meta.frame_count - 1
        validation.check_frame_files(self.meta, storage.frame_path(folder, 0), storage.frame_path(folder, last))
        self._frames = storage.FrameStore(folder, self.meta.frame_count, self.meta.has_alpha, self._check_frame)
        self._arrays: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"Avatar({self.name!r}, {self.frame_count} frames at {self.fps:g} fps, {self.width}x{self.height})"

    @property
    def name(self) -> str:
        return self.meta.display_name

    @property
    def frame_count(self) -> int:
        return self.meta.frame_count

    @property
    def fps(self) -> float:
        return self.meta.fps

    @property
    def fps_fraction(self) -> Fraction:
        """The exact rate (30000/1001 rather than 29.97), for the output encoder."""
        return Fraction(self.meta.fps_rational) if self.meta.fps_rational else Fraction(self.meta.fps)

    @property
    def width(self) -> int:
        return self.meta.width

    @property
    def height(self) -> int:
        return self.meta.height

    @property
    def duration_s(self) -> float:
        return self.meta.duration_s

    @property
    def pads(self) -> Pads:
        return Pads(*self.meta.pads)

    @cached_property
    def boxes(self) -> np.ndarray:
        """(N, 4) int32 crop boxes x1, y1, x2, y2 in frame pixels (padded, smoothed, clamped)."""
        boxes = self._load_array(storage.BOXES_FILE, (self.frame_count, 4), np.int32)
        validation.check_boxes(self.meta, boxes)
        return boxes

    @cached_property
    def crops(self) -> np.ndarray:
        """(N, 96, 96, 3) uint8 BGR face crops, memory-mapped read-only (pages load on access)."""
        size = storage.CROP_SIZE
        return self._load_array(storage.CROPS_FILE, (self.frame_count, size, size, 3), np.uint8, mmap=True)

    @property
    def has_landmarks(self) -> bool:
        """Whether the avatar carries the face mesh (avatars prepared before it do not)."""
        return self.meta.landmarks

    def landmarks(self) -> np.ndarray | None:
        """(N, 468, 2) float32 face-mesh points in frame pixels, or None for an avatar without them."""
        if not self.has_landmarks:
            return None
        if storage.LANDMARKS_FILE not in self._arrays:
            landmarks = self._load_array(storage.LANDMARKS_FILE, (self.frame_count, LANDMARK_COUNT, 2), np.float32)
            validation.check_landmarks(self.meta, landmarks)
            self._arrays[storage.LANDMARKS_FILE] = landmarks
        return self._arrays[storage.LANDMARKS_FILE]

    def mouth_openness(self) -> np.ndarray | None:
        """(N,) float32 inner-lip gap over mouth width per frame, or None without landmarks."""
        if not self.has_landmarks:
            return None
        return self._cached_array(storage.MOUTH_OPENNESS_FILE, (self.frame_count,), np.float32)

    @property
    def notes(self) -> tuple[str, ...]:
        """What the library tells the user about this avatar's quality (CLI list, GUI library)."""
        if not self.has_landmarks:
            return (NO_LANDMARKS_NOTE,)
        if (self.meta.open_mouth_share or 0.0) > OPEN_MOUTH_NOTE_SHARE:
            return (OPEN_MOUTH_NOTE,)
        return ()

    @property
    def thumbnail_path(self) -> Path:
        """A small JPEG of the first frame (longest side at most 320 pixels)."""
        return self.folder / storage.THUMBNAIL_FILE

    @property
    def preview_path(self) -> Path:
        """The prepared clip as H.264 yuv420p MP4 (at most 720 lines, source audio if any)."""
        return self.folder / storage.PREVIEW_FILE

    def verify(self) -> None:
        """Load and check the per-frame arrays now (before a render starts, not in its middle)."""
        _ = self.boxes, self.crops, self.landmarks()

    @property
    def has_alpha(self) -> bool:
        """Made from a source with transparency (kept in .webm/.mov renders)."""
        return self.meta.has_alpha

    def read_frame(self, index: int, alpha: bool = False) -> np.ndarray:
        """Frame `index` as an HxWx3 BGR uint8 array (HxWx4 BGRA with `alpha`; a transparent
        avatar's frame without `alpha` is composited over black)."""
        return self._frames.read_frame(index, alpha)

    def iter_frames(self, indices: Iterable[int], alpha: bool = False) -> Generator[np.ndarray, None, None]:
        """The frames at `indices` in that order (any order, may be endless), a few decoded ahead."""
        return self._frames.iter_frames(indices, alpha)

    def _cached_array(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        if name not in self._arrays:
            self._arrays[name] = self._load_array(name, shape, dtype)
        return self._arrays[name]

    def _load_array(self, name: str, shape: tuple[int, ...], dtype: type, mmap: bool = False) -> np.ndarray:
        try:
            array = np.load(self.folder / name, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError):
            array = None
        if array is None or array.shape != shape or array.dtype != dtype:
            raise validation.damaged(self.name, f"{name} is unreadable or not {dtype.__name__} of shape {shape}")
        return array

    def _check_frame(self, frame: np.ndarray, index: int) -> None:
        validation.check_frame_size(self.meta, (frame.shape[1], frame.shape[0]), f"frame {index}")


class AvatarLibrary:
    """The avatars in `<root>/avatars/`. Cleans leftovers of interrupted work on construction."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.avatars_dir = self.root / AVATARS_DIR
        self.staging_dir = self.avatars_dir / STAGING_DIR
        try:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AvatarStudioError(
                f"Cannot create the library folder {str(self.avatars_dir)!r} ({error.strerror}); "
                "choose a writable library folder."
            ) from None
        #: Folders the last `list()` skipped, with the reason: shown by the CLI and GUI.
        self.skipped: list[tuple[Path, str]] = []
        hold_process_lock(self.root)
        self._clean_staging()

    # -- reading ---------------------------------------------------------------------------------

    def list(self) -> list[Avatar]:
        """Every readable avatar, sorted by display name; unreadable folders go to `skipped`."""
        avatars, skipped = [], []
        for folder in sorted(self.avatars_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                avatars.append(Avatar(folder))
            except AvatarStudioError as error:
                log.info("Skipping avatar folder %s: %s", folder, error)
                skipped.append((folder, str(error)))
        self.skipped = skipped
        return sorted(avatars, key=lambda avatar: (name_key(avatar.name), avatar.folder.name))

    def get(self, name: str) -> Avatar:
        """The avatar called `name` (display name in any case, or folder name)."""
        avatars = self.list()
        # A display name wins over another avatar's folder name.
        found = _with_display_name(avatars, name) or next((a for a in avatars if a.folder.name == name.strip()), None)
        if found is not None:
            return found
        for folder, reason in self.skipped:  # a damaged avatar of that name: say what is wrong with it
            if folder.name == name.strip() or name_key(_recorded_name(folder)) == name_key(name):
                raise AvatarStudioError(reason)
        known = ", ".join(repr(avatar.name) for avatar in avatars) or "none yet"
        raise AvatarStudioError(
            f"No avatar is called {name!r} (known: {known}); check the name or prepare it first."
        )

    def get_by_id(self, avatar_id: str, name: str = "") -> Avatar:
        """The avatar whose folder is `avatar_id` (its stable id: a rename keeps the folder).

        `name` is what the caller knew it as, for the message when the avatar has been deleted;
        an empty id (a job queued before ids existed) falls back to looking `name` up.
        """
        if not avatar_id:
            return self.get(name)
        folder = self.avatars_dir / avatar_id
        if avatar_id.startswith(".") or folder.parent != self.avatars_dir or not folder.is_dir():
            shown = repr(name) if name else f"with the id {avatar_id!r}"
            raise AvatarStudioError(
                f"The avatar {shown} is no longer in the library (it was deleted); "
                "prepare it again or choose another avatar."
            )
        return Avatar(folder)

    def find(self, name: str) -> Avatar | None:
        """Like `get`, but None when there is no such avatar."""
        try:
            return self.get(name)
        except AvatarStudioError:
            return None

    # -- changing --------------------------------------------------------------------------------

    def prepare(
        self,
        source: Path | str,
        name: str,
        settings: PrepareSettings = PrepareSettings(),
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        replace: bool = False,
    ) -> Avatar:
        """Prepare `source` as avatar `name`; with `replace`, an existing avatar of that name is
        swapped for the new one only once it is complete. Failure or cancel changes nothing."""
        display_name = clean_display_name(name)
        existing = _with_display_name(self.list(), display_name)
        if existing is not None and not replace:
            raise AvatarStudioError(
                f"An avatar called {existing.name!r} already exists; choose another name or replace it."
            )
        folder_name = existing.folder.name if existing else folder_name_for(display_name, self._folder_names())
        try:
            work = self._new_staging_folder("prep")
        except OSError as error:
            raise self._cannot_change(error) from None
        try:
            prepare_avatar(
                source, work, settings, progress, cancel, display_name=display_name, folder_name=folder_name
            )
            target = self.avatars_dir / folder_name
            if existing is not None:
                self._swap_in(work, existing.folder)
            else:
                if target.exists():
                    raise AvatarStudioError(
                        f"The library folder {folder_name!r} appeared while preparing; try again."
                    )
                os.rename(work, target)
        except OSError as error:  # disk full, permissions: the user can act on those
            _remove_tree(work)
            raise self._cannot_change(error) from error
        except BaseException:
            _remove_tree(work)
            raise
        return Avatar(target)

    def reprepare(
        self,
        name: str,
        settings: PrepareSettings = PrepareSettings(),
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Avatar:
        """Prepare avatar `name` again from its recorded source file with other settings."""
        avatar = self.get(name)
        source = Path(avatar.meta.source_file)
        if not source.is_file():
            raise AvatarStudioError(
                f"The source of {avatar.name!r} ({str(source)!r}) is gone; prepare the avatar again from a file."
            )
        return self.prepare(source, avatar.name, settings, progress, cancel, replace=True)

    def rename(self, old: str, new_display_name: str) -> Avatar:
        """Give avatar `old` a new display name (its folder stays where it is)."""
        avatar = self.get(old)
        new_name = clean_display_name(new_display_name)
        other = _with_display_name(self.list(), new_name)
        if other is not None and other.folder != avatar.folder:
            raise AvatarStudioError(f"An avatar called {other.name!r} already exists; choose another name.")
        meta = dataclass_replace(avatar.meta, display_name=new_name)
        try:
            write_text_atomically(avatar.folder / META_FILE, meta.to_json())
        except OSError as error:
            raise self._cannot_change(error) from None
        return Avatar(avatar.folder)

    def delete(self, name: str) -> None:
        """Remove avatar `name` (moved into staging first, so it vanishes at once and whole)."""
        avatar = self.get(name)
        try:
            doomed = self._new_staging_folder("del", create=False)
            os.rename(avatar.folder, doomed)
        except OSError as error:
            raise self._cannot_change(error) from None
        _remove_tree(doomed)

    # -- internals -------------------------------------------------------------------------------

    def _cannot_change(self, error: OSError) -> AvatarStudioError:
        """The sentence for a library the operating system would not let us change."""
        if error.errno == errno.ENOSPC:
            advice = "free some disk space and try again"
        elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            advice = "choose a writable library folder (--library) or make this one writable"
        else:
            advice = "check that the library folder is writable and has free space"
        return AvatarStudioError(
            f"Could not change the avatar library {str(self.avatars_dir)!r} ({error.strerror or error}); {advice}."
        )

    def _folder_names(self) -> set[str]:
        return {entry.name for entry in self.avatars_dir.iterdir()}

    def _new_staging_folder(self, kind: str, create: bool = True) -> Path:
        """A unique folder in staging whose name records this process, for `_clean_staging`."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        path = self.staging_dir / f"{kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        if create:
            path.mkdir()
        return path

    def _swap_in(self, new: Path, old: Path) -> None:
        """Put the finished folder `new` where `old` is; `old` survives if anything fails."""
        aside = self._new_staging_folder("old", create=False)
        os.rename(old, aside)
        try:
            os.rename(new, old)
        except BaseException:
            os.rename(aside, old)
            raise
        _remove_tree(aside)

    def _clean_staging(self) -> None:
        """Remove what interrupted work left in staging, except folders of live processes."""
        for entry in self.staging_dir.iterdir():
            pid = _staging_pid(entry.name)
            # This process's own entries are work in progress of another AvatarLibrary object.
            if pid is not None and process_holds_library(self.root, pid):
                continue
            log.info("Removing leftover of interrupted work: %s", entry)
            _remove_tree(entry)


def _with_display_name(avatars: list[Avatar], name: str) -> Avatar | None:
    """The avatar whose display name equals `name` ignoring case (display names are unique so);
    AvatarStudioError when several do (folders copied by hand, e.g. "Man" and "MAN")."""
    key = name_key(name)
    found = [avatar for avatar in avatars if name_key(avatar.name) == key]
    if len(found) > 1:
        folders = ", ".join(repr(avatar.folder.name) for avatar in found)
        raise AvatarStudioError(
            f"Several avatars are called {validation.printable(found[0].name)!r} (folders {folders}); "
            "give the folder name instead, or rename or delete all but one."
        )
    return found[0] if found else None


def _recorded_name(folder: Path) -> str:
    """The display name a (possibly damaged) folder's avatar.json records; "" when unreadable."""
    try:
        name = json.loads((folder / META_FILE).read_text(encoding="utf-8")).get("display_name")
    except (OSError, ValueError, AttributeError):
        return ""
    return name if isinstance(name, str) else ""


def _staging_pid(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        log.warning("Could not remove %s completely; it will be retried on the next start.", path)

