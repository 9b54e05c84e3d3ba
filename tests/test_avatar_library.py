"""The avatar library on the real clips: what preparation stores, how it is read back, and
list/get/rename/delete, corrupt folders, crash leftovers and names that try to leave the library."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_studio.avatars.library import (
    NO_LANDMARKS_NOTE,
    OPEN_MOUTH_NOTE,
    AvatarLibrary,
)
from avatar_studio.avatars.metadata import FORMAT_VERSION, AvatarMeta
from avatar_studio.avatars.naming import folder_name_for
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.detector import FaceDetector
from avatar_studio.faces.landmarks import (
    EYE_CORNERS,
    LANDMARK_COUNT,
    MOUTH_OPEN_RATIO,
    OUTER_LIPS,
)
from avatar_studio.media.probe import probe_media
from media_clips import ffmpeg_header

TALKING = "talking_man_25fps_844x844.mp4"
ANIME = "anime_portrait_25fps_704x1216.mp4"


@pytest.fixture(scope="module")
def still_jpg(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frame 50 of the talking-man clip as a JPEG (a photo of a face)."""
    from avatar_studio.media.image_io import write_jpeg
    from avatar_studio.media.video_reader import open_video

    with open_video(shared_media / TALKING) as video:
        frame = next(itertools.islice(video.frames(), 50, None))
    return write_jpeg(tmp_path_factory.mktemp("still") / "portrait photo.jpg", frame, 95)


@pytest.fixture(scope="module")
def library(shared_media: Path, still_jpg: Path, tmp_path_factory: pytest.TempPathFactory) -> AvatarLibrary:
    """Both shared clips (the anime one at 360 lines) and the still, each prepared once."""
    lib = AvatarLibrary(tmp_path_factory.mktemp("library"))
    lib.prepare(shared_media / TALKING, "Talking man")
    lib.prepare(shared_media / ANIME, "Anime portrait", PrepareSettings(max_height=360))
    lib.prepare(still_jpg, "Still photo")
    return lib


def test_metadata_of_the_prepared_clips(library: AvatarLibrary, shared_media: Path) -> None:
    man = library.get("Talking man")
    assert (man.frame_count, man.width, man.height, man.fps) == (125, 844, 844, 25.0)
    assert man.meta.fps_choice == "source constant 25"
    assert man.duration_s == pytest.approx(5.0)
    assert man.meta.source_file == str((shared_media / TALKING).resolve())
    assert man.meta.frames_without_face == 0
    assert man.meta.rotation == 0 and man.meta.detector == "short_range"
    assert man.meta.pads == (0.0, 0.2, 0.0, 0.0) and man.meta.smooth_window == 5
    assert man.meta.format_version == FORMAT_VERSION
    assert datetime.fromisoformat(man.meta.created_at).tzinfo is not None

    anime = library.get("Anime portrait")
    assert (anime.frame_count, anime.height, anime.meta.max_height) == (268, 360, 360)
    assert anime.width % 2 == 0 and anime.width == pytest.approx(704 * 360 / 1216, abs=2)
    assert (anime.meta.source_width, anime.meta.source_height) == (704, 1216)


def test_still_image_becomes_one_frame_at_25_fps(library: AvatarLibrary) -> None:
    still = library.get("Still photo")
    assert (still.frame_count, still.fps, still.meta.fps_choice) == (1, 25.0, "still image at 25")
    assert still.boxes.shape == (1, 4) and still.crops.shape == (1, 96, 96, 3)
    assert still.read_frame(0).shape == (844, 844, 3)


@pytest.mark.parametrize("name", ["Talking man", "Anime portrait", "Still photo"])
def test_one_box_per_frame_inside_the_frame_and_around_the_face(library: AvatarLibrary, name: str) -> None:
    avatar = library.get(name)
    boxes = avatar.boxes
    assert boxes.shape == (avatar.frame_count, 4) and boxes.dtype == np.int32
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= avatar.width).all() and (boxes[:, 3] <= avatar.height).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    with FaceDetector() as detector:
        for index in sorted({0, avatar.frame_count // 2, avatar.frame_count - 1}):
            raw = detector.detect(avatar.read_frame(index))[0]
            x1, y1, x2, y2 = boxes[index]
            width = raw.x2 - raw.x1
            assert abs((x1 + x2) / 2 - (raw.x1 + raw.x2) / 2) < 0.1 * width
            for x, y in raw.keypoints[2:4]:  # nose tip and mouth centre
                assert x1 < x < x2 and y1 < y < y2
            # The chin is below the detection's lower edge: the default pads keep 20 % more below.
            assert y2 >= raw.y2 + 0.1 * (raw.y2 - raw.y1) or y2 == avatar.height


@pytest.mark.parametrize("name", ["Talking man", "Anime portrait", "Still photo"])
def test_face_mesh_landmarks_of_every_frame_lie_on_the_face(library: AvatarLibrary, name: str) -> None:
    avatar = library.get(name)
    assert avatar.meta.landmarks and avatar.has_landmarks
    points = avatar.landmarks()
    assert points is not None and points.shape == (avatar.frame_count, LANDMARK_COUNT, 2)
    assert points.dtype == np.float32 and np.isfinite(points).all()
    boxes = avatar.boxes.astype(np.float32)
    lips = points[:, list(OUTER_LIPS)]
    eyes = points[:, list(EYE_CORNERS)]
    for box_part, lip_part in ((boxes[:, 0], lips[..., 0].min(axis=1)), (lips[..., 0].max(axis=1), boxes[:, 2])):
        assert (box_part < lip_part).all()  # the lips are inside the crop box, left and right
    assert (eyes[..., 1].max(axis=1) < lips[..., 1].min(axis=1)).all()
    openness = avatar.mouth_openness()
    assert openness is not None and openness.shape == (avatar.frame_count,)
    assert avatar.meta.open_mouth_share == pytest.approx(float(np.mean(openness >= MOUTH_OPEN_RATIO)))


def test_an_avatar_that_talks_through_the_clip_gets_the_open_mouth_note(library: AvatarLibrary) -> None:
    man, anime = library.get("Talking man"), library.get("Anime portrait")
    assert (man.meta.open_mouth_share or 0) > 0.5 and man.notes == (OPEN_MOUTH_NOTE,)
    assert (anime.meta.open_mouth_share or 0) < 0.5 and anime.notes == ()


def test_an_avatar_prepared_before_the_face_mesh_still_loads(library: AvatarLibrary) -> None:
    """An avatar.json written before `landmarks` existed (and no landmark files) loads as box-only."""
    old = library.avatars_dir / "old-000000"
    source = library.get("Still photo").folder
    old.mkdir()
    try:
        for name in ("boxes.npy", "crops.npy", "frames"):
            (old / name).symlink_to(source / name, target_is_directory=name == "frames")
        data = json.loads((source / "avatar.json").read_text(encoding="utf-8"))
        for key in ("landmarks", "open_mouth_share"):
            del data[key]
        data["display_name"] = "Old one"
        (old / "avatar.json").write_text(json.dumps(data), encoding="utf-8")
        avatar = library.get("Old one")
        assert not avatar.has_landmarks and avatar.landmarks() is None and avatar.mouth_openness() is None
        assert avatar.notes == (NO_LANDMARKS_NOTE,) and "re-prepare for face-mesh masks" in NO_LANDMARKS_NOTE
    finally:
        for entry in old.iterdir():
            entry.unlink()
        old.rmdir()


def test_crops_are_the_resized_boxes_and_memory_mapped(library: AvatarLibrary) -> None:
    avatar = library.get("Anime portrait")
    crops = avatar.crops
    assert isinstance(crops, np.memmap) and not crops.flags.writeable
    assert crops.shape == (268, 96, 96, 3) and crops.dtype == np.uint8
    for index in (0, 133, 267):
        x1, y1, x2, y2 = avatar.boxes[index]
        expected = cv2.resize(avatar.read_frame(index)[y1:y2, x1:x2], (96, 96))
        assert np.array_equal(crops[index], expected)


def test_thumbnail_and_playable_preview(library: AvatarLibrary) -> None:
    man = library.get("Talking man")
    thumbnail = cv2.imread(str(man.thumbnail_path))
    assert thumbnail is not None and max(thumbnail.shape[:2]) <= 320
    info = probe_media(man.preview_path)
    assert info.video_codec == "h264" and info.fps == 25.0
    assert info.frame_count == man.frame_count and info.has_audio
    assert "yuv420p" in ffmpeg_header(man.preview_path)
    anime = probe_media(library.get("Anime portrait").preview_path)
    assert (anime.height, anime.frame_count, anime.has_audio) == (360, 268, False)


def test_iter_frames_in_pingpong_order_matches_read_frame(library: AvatarLibrary) -> None:
    avatar = library.get("Talking man")
    order = [0, 1, 2, 3, 2, 1, 0, 1, 124, 123]
    for index, frame in zip(order, avatar.iter_frames(order), strict=True):
        assert np.array_equal(frame, avatar.read_frame(index))
    endless = itertools.cycle(range(avatar.frame_count))
    frames = avatar.iter_frames(endless)
    taken = list(itertools.islice(frames, 130))
    frames.close()  # leaving an endless read early stops the read-ahead
    assert len(taken) == 130 and np.array_equal(taken[125], taken[0])


def test_list_get_rename_delete(library: AvatarLibrary, still_jpg: Path) -> None:
    assert [a.name for a in library.list()] == ["Anime portrait", "Still photo", "Talking man"]
    man = library.get("TALKING MAN")
    assert library.get(man.folder.name).folder == man.folder
    with pytest.raises(AvatarStudioError, match="Anime portrait"):
        library.get("nobody")

    extra = library.prepare(still_jpg, "Temporary")
    renamed = library.rename("temporary", "Zoë im Büro")
    assert renamed.folder == extra.folder and library.get("zoë im büro").name == "Zoë im Büro"
    assert library.get_by_id(extra.folder.name, "Temporary").name == "Zoë im Büro"  # the id survives
    assert library.get_by_id("", "ZOË IM BÜRO").folder == extra.folder  # jobs from before ids
    for foreign in ("../library", ".staging", "nobody-000000"):
        with pytest.raises(AvatarStudioError, match="no longer in the library"):
            library.get_by_id(foreign, "Temporary")
    with pytest.raises(AvatarStudioError, match="already exists"):
        library.rename("Zoë im Büro", "talking man")
    with pytest.raises(AvatarStudioError, match="already exists"):
        library.prepare(still_jpg, "Talking Man")
    library.delete("Zoë im Büro")
    assert not extra.folder.exists()
    assert [a.name for a in library.list()] == ["Anime portrait", "Still photo", "Talking man"]
    assert list(library.staging_dir.iterdir()) == []


def test_corrupt_and_newer_avatar_folders_are_skipped_and_reported(
    library: AvatarLibrary, tmp_path: Path
) -> None:
    broken = library.avatars_dir / "broken-000000"
    broken.mkdir()
    (broken / "avatar.json").write_text("{not json", encoding="utf-8")
    newer = library.avatars_dir / "future-000000"
    newer.mkdir()
    (newer / "avatar.json").write_text(json.dumps({"format_version": FORMAT_VERSION + 1}), encoding="utf-8")
    try:
        names = [a.name for a in library.list()]
        assert names == ["Anime portrait", "Still photo", "Talking man"]
        reasons = dict((path.name, reason) for path, reason in library.skipped)
        assert "not valid JSON" in reasons["broken-000000"]
        assert "newer Avatar Studio" in reasons["future-000000"]
    finally:
        for folder in (broken, newer):
            for file in folder.iterdir():
                file.unlink()
            folder.rmdir()


def test_metadata_round_trip_and_version_guard(library: AvatarLibrary) -> None:
    meta = library.get("Talking man").meta
    assert AvatarMeta.from_json(meta.to_json()) == meta
    data = json.loads(meta.to_json())
    data["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(AvatarStudioError, match="newer"):
        AvatarMeta.from_json(json.dumps(data))


def test_leftovers_of_crashed_work_are_removed_on_start(tmp_path: Path) -> None:
    """Another process with the library open keeps its staging work; a killed one's is removed."""
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; from avatar_studio.avatars.library import AvatarLibrary; "
         "AvatarLibrary(sys.argv[1]); print('open', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert other.stdout is not None and other.stdout.readline().strip() == "open"
    staging = tmp_path / "avatars" / ".staging"
    dead = staging / "prep-999999999-abcdef"  # no such process
    stray = staging / "something-else"
    alive = staging / f"prep-{other.pid}-abcdef"
    unrelated = staging / f"prep-{os.getppid()}-abcdef"  # a live process that does not use this library
    for folder in (dead, stray, alive, unrelated):
        (folder / "frames").mkdir(parents=True)
        (folder / "frames" / "000000.jpg").write_bytes(b"partial")
    try:
        AvatarLibrary(tmp_path)
        assert not dead.exists() and not stray.exists() and not unrelated.exists()
        assert alive.exists()
    finally:
        other.kill()
        other.wait()
        other.stdin.close()  # type: ignore[union-attr]
        other.stdout.close()
    AvatarLibrary(tmp_path)
    assert not alive.exists()  # its process is gone: the OS dropped its lock


@pytest.mark.parametrize("name", ["../evil", "/abs", "a/b", "..", "..\\..\\win", "CON", "王小明"])
def test_names_never_write_outside_the_library(still_jpg: Path, tmp_path: Path, name: str) -> None:
    root = tmp_path / "lib"
    library = AvatarLibrary(root)
    before = set(tmp_path.rglob("*")) - set(root.rglob("*"))
    avatar = library.prepare(still_jpg, name)
    assert avatar.folder.parent == library.avatars_dir
    assert avatar.name == name and library.get(name).folder == avatar.folder
    assert set(tmp_path.rglob("*")) - set(root.rglob("*")) == before
    assert "/" not in avatar.folder.name and "\\" not in avatar.folder.name and "." not in avatar.folder.name


@pytest.mark.parametrize("name", ["", "   ", "tab\tname", "x" * 101])
def test_unusable_names_are_refused_before_any_work(still_jpg: Path, tmp_path: Path, name: str) -> None:
    library = AvatarLibrary(tmp_path)
    with pytest.raises(AvatarStudioError, match="name"):
        library.prepare(still_jpg, name)
    assert [p.name for p in library.avatars_dir.iterdir()] == [".staging"]
    assert list(library.staging_dir.iterdir()) == []


def test_folder_names_are_safe_capped_and_unique() -> None:
    assert folder_name_for("CON").startswith("con-")
    long = folder_name_for("a" * 100)
    assert len(long) <= 40 + 7
    first = folder_name_for("Anna")
    assert folder_name_for("Anna", taken={first}) == f"{first}-2"
    assert folder_name_for("anna") == first  # same name ignoring case: same base folder


def test_a_display_name_wins_over_another_avatars_folder_name(still_jpg: Path, tmp_path: Path) -> None:
    library = AvatarLibrary(tmp_path)
    first = library.prepare(still_jpg, "First")
    impostor = library.prepare(still_jpg, first.folder.name)  # allowed: it is not a display name
    assert library.get(first.folder.name).folder == impostor.folder
    assert library.get("first").folder == first.folder


def test_a_delete_the_file_system_refuses_is_one_sentence_and_keeps_the_avatar(
    library: AvatarLibrary, still_jpg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. Windows refusing to move a folder whose preview is open in a player."""
    avatar = library.prepare(still_jpg, "Busy")

    def refused(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch, pytest.raises(
        AvatarStudioError, match=r"^Could not change the avatar library .* \(Permission denied\); .*writable\.$"
    ):
        patch.setattr(os, "rename", refused)
        library.delete("busy")
    assert library.get("Busy").folder == avatar.folder
    library.delete("Busy")
