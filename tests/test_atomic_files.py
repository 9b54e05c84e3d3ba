"""The one write-beside-then-rename helper: complete files or none, and no temporary file left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from avatar_studio import atomic_files
from avatar_studio.atomic_files import atomic_output, write_text_atomically
from avatar_studio.errors import AvatarStudioError


def test_the_new_content_appears_whole_and_nothing_else_is_left(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    target.write_text("old", encoding="utf-8")
    write_text_atomically(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json"]


def test_a_failure_inside_the_block_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="export failed"), atomic_output(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".") and temp.suffix == ".onnx"
        temp.write_bytes(b"half")
        raise RuntimeError("export failed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_full_disk_at_flush_time_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC often surfaces only when the data is flushed; the rename must then not happen."""
    target = tmp_path / "settings.json"
    target.write_text("{}", encoding="utf-8")

    def disk_full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic_files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        write_text_atomically(target, '{"crf": 20}')
    assert target.read_text(encoding="utf-8") == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions without root")
def test_an_unwritable_folder_is_one_sentence_before_any_work(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(AvatarStudioError, match="Cannot write into the folder .*choose a writable folder"):
            write_text_atomically(folder / "a.txt", "x")
    finally:
        folder.chmod(0o700)
