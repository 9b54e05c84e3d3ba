"""Avatar folders damaged or edited by hand: one sentence (exit 2), never a crash or a huge allocation.

Each test copies a prepared test avatar into its own library, damages one thing, and runs the
real command line over it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.cli.main import main
from render_media import write_beeps
from standin_models import write_identity_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_model(tmp_path_factory.mktemp("damaged_models") / "identity.onnx")


@pytest.fixture(scope="module")
def beeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beeps(tmp_path_factory.mktemp("damaged_audio") / "beeps.wav", seconds=0.5)


@pytest.fixture
def copy_avatar(render_avatar, tmp_path: Path):
    """`copy_avatar(name, folder=None)`: the test avatar `name` copied into tmp_path/lib; its folder."""
    library = tmp_path / "lib"

    def copy(name: str, folder: str | None = None) -> Path:
        source = render_avatar(name).folder
        return Path(shutil.copytree(source, library / "avatars" / (folder or source.name)))

    copy.library = library  # type: ignore[attr-defined]
    return copy


def _render(library: Path, avatar: str, audio: Path, model: Path, out: Path) -> int:
    out.mkdir(exist_ok=True)
    return main([
        "render", "--library", str(library), "--avatar", avatar, "--audio", str(audio), "--model", str(model),
        "-o", str(out / "video.mp4"), "--preset", "ultrafast",
    ])  # fmt: skip


def _edit_meta(folder: Path, **changes: object) -> None:
    meta = json.loads((folder / "avatar.json").read_text(encoding="utf-8"))
    meta.update(changes)
    (folder / "avatar.json").write_text(json.dumps(meta), encoding="utf-8")


def _write_jpeg(path: Path, width: int, height: int) -> None:
    ok, data = cv2.imencode(".jpg", np.full((height, width, 3), 90, np.uint8))
    assert ok
    path.write_bytes(data.tobytes())


def _set_box(folder: Path, index: int, box: list[int]) -> None:
    boxes = np.load(folder / "boxes.npy")
    boxes[index] = box
    np.save(folder / "boxes.npy", boxes)


def _damage(case: str, folder: Path) -> str:
    """Damage `folder` as `case` says; returns what the message must name."""
    meta = json.loads((folder / "avatar.json").read_text(encoding="utf-8"))
    width, height = meta["width"], meta["height"]
    if case == "box far outside":
        _set_box(folder, 0, [-500, -500, 99999, 99999])
        return "face box of frame 0"
    if case == "inverted box":
        x1, y1, x2, y2 = np.load(folder / "boxes.npy")[0].tolist()
        _set_box(folder, 0, [x2, y2, x1, y1])
        return "face box of frame 0"
    if case == "frame of the wrong size":
        _write_jpeg(folder / "frames" / "000000.jpg", width // 2, height // 2)
        return f"not the recorded {width}x{height}"
    if case == "width in avatar.json wrong":
        _edit_meta(folder, width=width + 10)
        return f"not the recorded {width + 10}x{height}"
    if case == "height zero":
        _edit_meta(folder, height=0)
        return "height 0"
    if case == "more frames recorded than stored":
        _edit_meta(folder, frame_count=meta["frame_count"] + 5)
        return "missing"
    if case == "fps zero":
        _edit_meta(folder, fps=0, fps_rational="0/1")
        return "frame rate 0"
    if case == "landmarks far outside":
        landmarks = np.load(folder / "landmarks.npy")
        landmarks[0, 10] = [1e9, -1e9]
        np.save(folder / "landmarks.npy", landmarks)
        return "face landmarks of frame 0"
    if case == "crops of the wrong shape":
        np.save(folder / "crops.npy", np.zeros((1, 32, 32, 3), np.uint8))
        return "crops.npy"
    raise AssertionError(case)


DAMAGES = (
    "box far outside", "inverted box", "frame of the wrong size", "width in avatar.json wrong", "height zero",
    "more frames recorded than stored", "fps zero", "crops of the wrong shape", "landmarks far outside",
)  # fmt: skip


@pytest.mark.parametrize("case", DAMAGES)
def test_a_damaged_avatar_is_one_sentence_and_writes_nothing(
    copy_avatar, beeps: Path, identity_model: Path, tmp_path: Path, capsys, case: str
) -> None:
    folder = copy_avatar("still")
    what = _damage(case, folder)
    assert _render(copy_avatar.library, "still", beeps, identity_model, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert "internal error" not in err and len(err.splitlines()) == 1, err
    assert "is damaged (" in err and what in err and err.endswith("re-prepare it."), err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_wrong_sized_frame_in_the_middle_fails_the_render_when_decoded(
    copy_avatar, beeps: Path, identity_model: Path, tmp_path: Path, capsys
) -> None:
    folder = copy_avatar("hue")
    _write_jpeg(folder / "frames" / "000005.jpg", 40, 30)
    assert _render(copy_avatar.library, "hue", beeps, identity_model, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "is damaged (frame 5 is 40x30, not the recorded" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_control_characters_in_a_name_are_refused_on_read_and_never_printed(copy_avatar, capsys) -> None:
    folder = copy_avatar("still")
    _edit_meta(folder, display_name="Evil\x1b]0;pwned\x07\x1b[2J\nfake  1  25")
    assert main(["avatars", "--library", str(copy_avatar.library)]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.out + captured.err
    assert "fake" not in captured.out
    assert "control characters" in captured.err and "\\x1b" in captured.err


def test_folders_differing_only_in_case_make_a_name_ambiguous(copy_avatar, capsys) -> None:
    first = copy_avatar("still", "man-1a2b3c")
    second = copy_avatar("still", "MAN-1a2b3c")
    assert main(["avatars", "rename", "still", "Other", "--library", str(copy_avatar.library)]) == 2
    err = capsys.readouterr().err
    assert first.name in err and second.name in err and "internal error" not in err
    names = {json.loads((f / "avatar.json").read_text())["display_name"] for f in (first, second)}
    assert names == {"still"}  # nothing renamed
    assert AvatarLibrary(copy_avatar.library).get(second.name).folder == second  # the folder name still works
