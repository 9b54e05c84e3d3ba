"""Faults that already held in the reliability review, kept held: a disk that fills up during a
prepare or a render (a real, tiny tmpfs where the test may mount one), and two prepares of the
same name racing into one library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_studio.cli.main import main
from render_media import TALKING, make_still, write_beeps
from standin_models import write_identity_model

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """`tiny_disk(kib)`: a tmpfs of that size (root only; skipped elsewhere), unmounted afterwards."""
    mounted: list[Path] = []

    def mount(kib: int) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(point)], capture_output=True
        )
        if result.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:  # lazily: the library's process lock file stays open in this process
        subprocess.run(["umount", "-l", str(point)], check=True)


def _visible(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".locks" not in p.parts)


def test_a_disk_filling_up_during_a_render_is_one_sentence_and_leaves_nothing(
    render_avatar, render_library: Path, tiny_disk, tmp_path: Path, capsys
) -> None:
    render_avatar("still")
    out = tiny_disk(16)  # less than the two seconds of AAC alone
    beeps = write_beeps(tmp_path / "beeps.wav", seconds=2.0)
    model = write_identity_model(tmp_path / "identity.onnx")
    code = main([
        "render", "--library", str(render_library), "--avatar", "still", "--audio", str(beeps),
        "--model", str(model), "-o", str(out / "video.mp4"), "--preset", "ultrafast", "--crf", "0",
    ])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "internal error" not in err and len(err.splitlines()) == 1, err
    assert "disk space" in err, err
    assert list(out.iterdir()) == []


def test_a_disk_filling_up_during_a_prepare_is_one_sentence_and_changes_nothing(
    shared_media: Path, tiny_disk, tmp_path: Path, capsys
) -> None:
    library = tiny_disk(256)
    assert main(["avatars", "--library", str(library)]) == 0  # an empty library fits
    before = _visible(library)
    code = main(["prepare", str(shared_media / TALKING), "--name", "Too big", "--library", str(library)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "internal error" not in err and "free space" in err, err
    assert _visible(library) == before


def test_two_prepares_of_one_name_at_once_leave_exactly_one_avatar(shared_media: Path, tmp_path: Path) -> None:
    still = make_still(shared_media / TALKING, tmp_path / "still.png", height=128)
    library = tmp_path / "lib"
    command = [
        sys.executable,
        "-m",
        "avatar_studio",
        "prepare",
        str(still),
        "--name",
        "Same",
        "--library",
        str(library),
    ]
    racers = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(racer.wait(300), racer.stderr.read().decode()) for racer in racers]
    assert sorted(code for code, _ in results) == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "internal error" not in loser and len(loser.strip().splitlines()) == 1, loser
    avatars = [p for p in (library / "avatars").iterdir() if not p.name.startswith(".")]
    assert len(avatars) == 1
    assert main(["avatars", "--library", str(library)]) == 0
