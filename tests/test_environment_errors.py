"""A library the user cannot write, a file where the library should be, a disk that fills up:
one sentence (exit 2) each, and nothing left behind."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from avatar_studio.cli.main import main
from media_clips import pattern_clip

pytestmark = pytest.mark.slow


def _tree(folder: Path) -> list[str]:
    """Every path under `folder` but the library's own lock folder (see `avatar_studio.locks`)."""
    paths = (str(path.relative_to(folder)) for path in folder.rglob("*"))
    return sorted(path for path in paths if not path.startswith(".locks"))


@pytest.fixture
def library_with_avatar(render_avatar, tmp_path: Path) -> Path:
    """A library holding a copy of the still test avatar."""
    library = tmp_path / "lib"
    source = render_avatar("still").folder
    shutil.copytree(source, library / "avatars" / source.name)
    (library / "avatars" / ".staging").mkdir()
    return library


@pytest.fixture
def read_only(library_with_avatar: Path):
    """The library made read-only for real: a read-only bind mount as root (root ignores file
    modes), the write bits removed otherwise; skipped where neither is possible."""
    library = library_with_avatar
    if os.geteuid() != 0:
        for path in [library, *library.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        yield library
        for path in [library, *library.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        return
    mounted = subprocess.run(["mount", "--bind", str(library), str(library)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot bind-mount here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(library)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        yield library
    finally:
        subprocess.run(["umount", str(library)], check=True)


def _one_sentence(capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err, err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize(
    "command", [["avatars", "rename", "still", "New name"], ["avatars", "delete", "still", "--yes"]]
)
def test_changing_a_read_only_library_is_one_sentence(read_only: Path, capsys, command: list[str]) -> None:
    before = _tree(read_only)
    assert main([*command, "--library", str(read_only)]) == 2
    _one_sentence(capsys, "writable")
    assert _tree(read_only) == before


def test_preparing_into_a_read_only_library_is_one_sentence(read_only: Path, tmp_path: Path, capsys) -> None:
    clip = pattern_clip(tmp_path / "clip.mp4", size="64x48", seconds=0.2)
    before = _tree(read_only)
    assert main(["prepare", str(clip), "--name", "New", "--library", str(read_only)]) == 2
    _one_sentence(capsys, "writable")
    assert _tree(read_only) == before


@pytest.mark.parametrize(
    "command", [["avatars"], ["info"], ["render", "--avatar", "a", "--audio", "a.wav", "-o", "o.mp4"]]
)
def test_a_library_that_is_a_regular_file_is_one_sentence(tmp_path: Path, capsys, command: list[str]) -> None:
    not_a_folder = tmp_path / "library.txt"
    not_a_folder.write_text("my notes")
    assert main([*command, "--library", str(not_a_folder)]) == 2
    _one_sentence(capsys, "is a file", "choose a folder")
    assert not_a_folder.read_text() == "my notes"


def test_a_full_disk_during_rename_is_one_sentence_and_leaves_no_temporary_file(
    library_with_avatar: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    real_write_bytes = Path.write_bytes
    failed: list[Path] = []

    def disk_full(self: Path, data: bytes) -> int:
        if self.name.startswith(".avatar.") and ".partial" in self.name:
            real_write_bytes(self, data[:3])  # a few bytes land, then the disk is full
            failed.append(self)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write_bytes(self, data)

    before = _tree(library_with_avatar)
    monkeypatch.setattr(Path, "write_bytes", disk_full)
    assert main(["avatars", "rename", "still", "New name", "--library", str(library_with_avatar)]) == 2
    _one_sentence(capsys, "No space left on device", "free some disk space")
    assert failed, "the rename never wrote avatar.json"
    assert _tree(library_with_avatar) == before
