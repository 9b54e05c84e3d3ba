"""What the batch tests share: a library holding the still test avatar and the identity stand-in
model, and short recordings to lip-sync (1-1.2 s, so a row renders in about a second)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from avatar_studio.avatars.library import AvatarLibrary
from render_media import write_beeps
from standin_models import write_identity_model

#: (beeps, seconds) of the recordings `speech(folder, count)` writes, in turn.
_RECORDINGS = ((((0.2, 0.4),), 1.0), (((0.1, 0.3),), 1.2), (((0.5, 0.7),), 1.0), (((0.0, 0.2),), 1.1))


@pytest.fixture(scope="session")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_model(tmp_path_factory.mktemp("batch_models") / "identity.onnx")


@pytest.fixture
def models_folder(identity_model: Path) -> Path:
    """This test's models folder holding only the identity model, so it is the default."""
    models = Path(os.environ["AVATAR_STUDIO_MODELS"])
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(identity_model, models / "identity.onnx")
    return models


@pytest.fixture
def batch_library(tmp_path: Path, render_avatar, models_folder: Path) -> Path:
    """A library of this test's own (its queue starts empty) with the still avatar in it."""
    still = render_avatar("still")
    library = tmp_path / "batch_library"
    AvatarLibrary(library)  # creates the layout
    shutil.copytree(still.folder, library / "avatars" / still.folder.name)
    return library


def speech(folder: Path, count: int) -> list[Path]:
    """`count` short beep recordings `voice1.wav`, `voice2.wav`, ... in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_beeps(folder / f"voice{i + 1}.wav", beeps=beeps, seconds=seconds)
        for i, (beeps, seconds) in enumerate(_RECORDINGS[i % len(_RECORDINGS)] for i in range(count))
    ]


def write_manifest(folder: Path, rows: list[str], name: str = "lessons.csv", header: str = "avatar,audio,output,preset") -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
