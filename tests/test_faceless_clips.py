"""A clip where most frames show no face is refused with the count, unless the user lets it be filled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.cli.main import main
from avatar_studio.media.image_io import read_image
from media_clips import raw_clip
from render_media import TALKING, make_still

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def face_then_grey(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 frames at 25 fps: the presenter in the first, plain grey in the other nine."""
    folder = tmp_path_factory.mktemp("faceless")
    face = read_image(make_still(shared_media / TALKING, folder / "face.png", height=128))
    face = face[:, : face.shape[1] // 2 * 2]
    grey = np.full_like(face, 128)
    return raw_clip(folder / "face_then_grey.mp4", [face] + [grey] * 9)


def test_a_clip_mostly_without_a_face_is_refused_with_the_count(face_then_grey: Path, tmp_path: Path, capsys) -> None:
    library = tmp_path / "lib"
    assert main(["prepare", str(face_then_grey), "--name", "Mostly empty", "--library", str(library)]) == 2
    err = capsys.readouterr().err.strip()
    assert "No face was found in 9 of the 10 frames" in err and "--allow-missing-faces" in err, err
    assert len(err.splitlines()) == 1
    assert [p.name for p in (library / "avatars").iterdir() if not p.name.startswith(".")] == []


def test_allowing_missing_faces_fills_them(face_then_grey: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    command = ["prepare", str(face_then_grey), "--name", "Filled", "--allow-missing-faces", "--library", str(library)]
    assert main(command) == 0
    (folder,) = [p for p in (library / "avatars").iterdir() if not p.name.startswith(".")]
    assert json.loads((folder / "avatar.json").read_text())["frames_without_face"] == 9
