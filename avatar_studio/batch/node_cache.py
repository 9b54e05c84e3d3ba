"""Files that travel to cluster nodes, named by their content hash and kept on each node.

The submitter packs an avatar folder (only what a render reads) or a model file into bytes once
and names them by their SHA-256; a node unpacks them into `<cache>/<kind>/<digest>/` the first
time a task needs them and reuses that copy for every later row, whichever worker process runs
it. A file lock per digest makes concurrent workers on one node fetch and unpack it once; the
copy is unpacked beside its place and renamed in, so a worker killed while unpacking leaves
nothing that looks finished.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from avatar_studio.avatars.library import AVATARS_DIR
from avatar_studio.avatars.storage import PREVIEW_FILE, THUMBNAIL_FILE
from avatar_studio.errors import AvatarStudioError

#: Where a node keeps what it was sent (default: the user cache folder).
CACHE_ENV = "AVATAR_STUDIO_CLUSTER_CACHE"
AVATARS_KIND = "avatars"
MODELS_KIND = "models"
#: An avatar's preview clip and thumbnail are for people, not for rendering: they stay home.
_NOT_SENT = frozenset({PREVIEW_FILE, THUMBNAIL_FILE})


@dataclass(frozen=True)
class Packed:
    """Bytes to send and the name they are known by on every node."""

    kind: str
    digest: str
    name: str
    data: bytes


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("AvatarStudio", appauthor=False)) / "cluster"


def pack_avatar(folder: Path) -> Packed:
    """An avatar folder as a tar whose bytes depend only on the files' names and contents."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name in _NOT_SENT:
                continue
            info = tarfile.TarInfo(f"{AVATARS_DIR}/{folder.name}/{path.relative_to(folder).as_posix()}")
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    data = buffer.getvalue()
    return Packed(AVATARS_KIND, hashlib.sha256(data).hexdigest(), folder.name, data)


def pack_file(path: Path) -> Packed:
    data = path.read_bytes()
    return Packed(MODELS_KIND, hashlib.sha256(data).hexdigest(), path.name, data)


def materialise(kind: str, digest: str, fetch: Callable[[], bytes], name: str = "",
                root: Path | None = None) -> tuple[Path, bool]:  # fmt: skip
    """The node's copy of what `digest` names, fetched and unpacked first when missing.

    Returns the folder `<root>/<kind>/<digest>` (for an avatar: a library root holding it; for a
    model: the folder holding the file `name`) and whether this call had to fetch it.
    """
    from filelock import FileLock  # part of the cluster extra (Ray depends on it too)

    base = (root or cache_root()) / kind
    base.mkdir(parents=True, exist_ok=True)
    target = base / digest
    with FileLock(str(base / f"{digest}.lock")):
        if target.is_dir():
            return target, False
        data = fetch()
        if hashlib.sha256(data).hexdigest() != digest:
            raise AvatarStudioError(f"The {kind[:-1]} sent to this node arrived damaged; run the batch again.")
        work = base / f".{digest}.{uuid.uuid4().hex[:8]}.partial"
        work.mkdir()
        try:
            if kind == AVATARS_KIND:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
                    archive.extractall(work, filter="data")
            else:
                (work / name).write_bytes(data)
            os.rename(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return target, True
