"""`avatar-studio prepare` and `avatar-studio avatars` through the real entry point: output, exit
codes (2 and one line on stderr for bad input) and what they leave on disk."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

from avatar_studio.avatars.library import NO_LANDMARKS_NOTE, OPEN_MOUTH_NOTE
from avatar_studio.cli.main import main

TALKING = "talking_man_25fps_844x844.mp4"
#: What an open library holds while this (test) process uses it: see avatar_studio.locks.
OPEN_LIBRARY_MARKERS = {".locks", f"process-{os.getpid()}.lock"}


@pytest.fixture(scope="module")
def still_png(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frame 30 of the talking-man clip at 256 lines, as a PNG: a one-frame avatar prepares fast."""
    from avatar_studio.media.image_io import write_png
    from avatar_studio.media.video_reader import open_video

    with open_video(shared_media / TALKING, max_height=256) as video:
        frame = next(itertools.islice(video.frames(), 30, None))
    return write_png(tmp_path_factory.mktemp("still") / "portrait.png", frame)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


def test_prepare_list_rename_delete(
    capsys: pytest.CaptureFixture[str], still_png: Path, tmp_path: Path
) -> None:
    library = str(tmp_path / "lib")
    code, out, _ = run(capsys, "prepare", str(still_png), "--name", "Anna Müller", "--fps", "30",
                       "--pads", "0", "0.25", "0", "0", "--smooth", "0", "--library", library)  # fmt: skip
    assert code == 0 and "Prepared 'Anna Müller': 1 frames" in out

    code, out, _ = run(capsys, "avatars", "--library", library)
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split() == ["NAME", "FRAMES", "FPS", "SIZE", "DURATION", "CREATED", "NOTES"]
    assert row.startswith("Anna Müller") and " 1 " in row and " 30 " in row and "256x256" in row

    code, out, _ = run(capsys, "avatars", "--json", "--library", library)
    records = json.loads(out)
    assert code == 0 and len(records) == 1
    record = records[0]
    assert (record["name"], record["frames"], record["fps"], record["width"]) == ("Anna Müller", 1, 30.0, 256)
    assert record["pads"] == [0.0, 0.25, 0.0, 0.0] and record["smooth_window"] == 0
    assert Path(record["preview"]).is_file() and Path(record["thumbnail"]).is_file()
    assert record["landmarks"] is True and 0 <= record["open_mouth_share"] <= 1
    assert record["notes"] == ([OPEN_MOUTH_NOTE] if record["open_mouth_share"] > 0.5 else [])

    code, out, _ = run(capsys, "avatars", "rename", "anna müller", "Anna (office)", "--library", library)
    assert code == 0 and "Anna (office)" in out
    code, out, err = run(capsys, "avatars", "delete", "Anna (office)", "--library", library)
    assert code == 2 and one_line(err) and "--yes" in err  # stdin is not a terminal under pytest
    code, out, _ = run(capsys, "avatars", "--json", "--library", library)
    assert [r["name"] for r in json.loads(out)] == ["Anna (office)"]
    code, out, _ = run(capsys, "avatars", "delete", "Anna (office)", "--yes", "--library", library)
    assert code == 0
    code, out, _ = run(capsys, "avatars", "--json", "--library", library)
    assert json.loads(out) == []
    assert [p.name for p in (tmp_path / "lib" / "avatars").iterdir()] == [".staging"]


def test_library_defaults_to_avatar_studio_home(
    capsys: pytest.CaptureFixture[str], still_png: Path, isolated_home: Path
) -> None:
    assert run(capsys, "prepare", str(still_png), "--name", "Home")[0] == 0
    assert (isolated_home / "avatars").is_dir()
    code, out, _ = run(capsys, "avatars")
    assert code == 0 and "Home" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["prepare", "{text}", "--name", "X"],
        ["prepare", "{missing}", "--name", "X"],
        ["prepare", "{still}", "--name", "   "],
        ["prepare", "{still}", "--name", "X", "--smooth", "-3"],
        ["prepare", "{still}", "--name", "X", "--fps", "0"],
        ["avatars", "rename", "nobody", "Somebody"],
        ["avatars", "rename", "only-one-name"],
        ["avatars", "delete", "nobody", "--yes"],
    ],
    ids=["text-file", "missing-file", "blank-name", "negative-smooth", "zero-fps",
         "rename-unknown", "rename-one-name", "delete-unknown"],  # fmt: skip
)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], still_png: Path, tmp_path: Path, argv: list[str]
) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    values = {"{text}": str(text), "{missing}": str(tmp_path / "nope.mp4"), "{still}": str(still_png)}
    library = tmp_path / "lib"
    code, out, err = run(capsys, *(values.get(a, a) for a in argv), "--library", str(library))
    assert code == 2
    assert one_line(err) and err.startswith("avatar-studio: error: ")
    assert {p.name for p in library.rglob("*")} <= {"avatars", ".staging", *OPEN_LIBRARY_MARKERS}  # no avatar, no leftovers


def test_prepare_refuses_a_taken_name_unless_replace(
    capsys: pytest.CaptureFixture[str], still_png: Path, tmp_path: Path
) -> None:
    library = str(tmp_path / "lib")
    assert run(capsys, "prepare", str(still_png), "--name", "Twin", "--library", library)[0] == 0
    code, _, err = run(capsys, "prepare", str(still_png), "--name", "twin", "--library", library)
    assert code == 2 and "already exists" in err and one_line(err)
    code, out, _ = run(capsys, "prepare", str(still_png), "--name", "Twin", "--fps", "50",
                       "--replace", "--library", library)  # fmt: skip
    assert code == 0
    code, out, _ = run(capsys, "avatars", "--json", "--library", library)
    assert [(r["name"], r["fps"]) for r in json.loads(out)] == [("Twin", 50.0)]


def test_prepare_a_video_without_a_face_exits_2_and_keeps_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from media_clips import ffmpeg

    clip = tmp_path / "pattern.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x96:rate=25:duration=0.4", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip))  # fmt: skip
    library = tmp_path / "lib"
    code, _, err = run(capsys, "prepare", str(clip), "--name", "Nobody", "--library", str(library))
    assert code == 2
    # The detection bar may precede it; the error itself is one line, with no traceback.
    assert err.strip().splitlines()[-1].startswith("avatar-studio: error: No face was found in any of the 10 frames")
    assert "Traceback" not in err
    assert {p.name for p in library.rglob("*")} <= {"avatars", ".staging", *OPEN_LIBRARY_MARKERS}


def test_the_list_notes_avatars_without_face_mesh_landmarks(
    capsys: pytest.CaptureFixture[str], still_png: Path, tmp_path: Path
) -> None:
    library = str(tmp_path / "lib")
    assert run(capsys, "prepare", str(still_png), "--name", "Old", "--library", library)[0] == 0
    (folder,) = [p for p in (tmp_path / "lib" / "avatars").iterdir() if not p.name.startswith(".")]
    meta = json.loads((folder / "avatar.json").read_text(encoding="utf-8"))
    del meta["landmarks"], meta["open_mouth_share"]  # as written before the face mesh existed
    (folder / "avatar.json").write_text(json.dumps(meta), encoding="utf-8")
    code, out, _ = run(capsys, "avatars", "--library", library)
    assert code == 0 and out.strip().splitlines()[1].endswith(NO_LANDMARKS_NOTE)
    code, out, _ = run(capsys, "avatars", "--json", "--library", library)
    assert json.loads(out)[0]["notes"] == [NO_LANDMARKS_NOTE] and json.loads(out)[0]["landmarks"] is False
