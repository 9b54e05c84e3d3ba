"""Preparation with awkward input: rotation, variable frame rate, bad files, no face, cancel,
and replacing an avatar (only on success). After every failure the library is exactly as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.progress import CancelToken, Progress
from media_clips import ffmpeg, with_display_rotation

TALKING = "talking_man_25fps_844x844.mp4"
SMALL = PrepareSettings(max_height=240)


@pytest.fixture(scope="module")
def short_clip(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 frames of the talking man at 240x240 (quick to prepare)."""
    out = tmp_path_factory.mktemp("clips") / "short.mp4"
    ffmpeg("-i", str(shared_media / TALKING), "-frames:v", "12", "-vf", "scale=240:240", "-an",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))  # fmt: skip
    return out


def faceless_clip(folder: Path) -> Path:
    """Half a second of ffmpeg's moving test pattern: plenty of detail, no face."""
    out = folder / "pattern.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x96:rate=25:duration=0.5", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))  # fmt: skip
    return out


def library_state(library: AvatarLibrary) -> dict[str, float]:
    """Every path under the library, files with their modification time: equal states mean nothing
    changed (a folder's own time changes when work starts and is cleaned up inside it)."""
    return {str(p.relative_to(library.root)): p.is_file() and p.stat().st_mtime for p in library.root.rglob("*")}


def test_rotated_phone_footage_is_stored_upright(short_clip: Path, tmp_path: Path) -> None:
    source = tmp_path / "landscape.mp4"
    ffmpeg("-i", str(short_clip), "-vf", "scale=240:160", "-c:v", "libx264", "-preset", "ultrafast", str(source))
    rotated = with_display_rotation(source, tmp_path / "phone.mp4", -90)  # a phone's rotate=90
    avatar = AvatarLibrary(tmp_path / "lib").prepare(rotated, "Phone")
    assert (avatar.width, avatar.height, avatar.meta.rotation) == (160, 240, 90)
    assert avatar.boxes.shape == (12, 4)


def test_variable_frame_rate_face_clip(short_clip: Path, tmp_path: Path) -> None:
    vfr = tmp_path / "vfr_face.mp4"
    ffmpeg("-i", str(short_clip), "-vf", "setpts='if(lt(N,6),N,6+(N-6)*3)/25/TB'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", str(vfr))  # fmt: skip
    seen: list[Progress] = []
    avatar = AvatarLibrary(tmp_path / "lib").prepare(vfr, "VFR", progress=seen.append)
    assert avatar.meta.fps_choice.startswith("normalised from variable rate to 25")
    assert avatar.fps == 25.0
    assert avatar.frame_count >= 12  # the slow part is repeated to keep its timing
    for stage in ("Detecting faces", "Cutting face crops"):
        last = [p for p in seen if p.stage == stage][-1]
        assert last.done == last.total == avatar.frame_count


def test_requested_rate_is_recorded(short_clip: Path, tmp_path: Path) -> None:
    avatar = AvatarLibrary(tmp_path / "lib").prepare(short_clip, "Thirty", PrepareSettings(fps=30, max_height=240))
    assert avatar.fps == 30.0 and avatar.meta.fps_rational == "30/1"
    assert avatar.meta.fps_choice == "converted from source constant 25 to 30 as requested"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "notes.mp4").write_text("not a video, just text\n") and d / "notes.mp4", "not a media file"),
        (lambda d: (d / "empty.mp4").write_bytes(b"") is not None and d / "empty.mp4", "empty"),
        (faceless_clip, "No face was found"),
        (lambda d: d / "missing.mp4", "does not exist"),
    ],
    ids=["text-file", "zero-bytes", "no-face", "missing"],
)
def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path, make, message: str) -> None:  # noqa: ANN001
    library = AvatarLibrary(tmp_path / "lib")
    before = library_state(library)
    with pytest.raises(AvatarStudioError, match=message) as caught:
        library.prepare(make(tmp_path), "Bad", SMALL)
    assert "\n" not in str(caught.value)
    assert library_state(library) == before
    assert list(library.staging_dir.iterdir()) == []


def test_a_video_whose_face_is_missing_in_some_frames_is_filled(short_clip: Path, tmp_path: Path) -> None:
    blanked = tmp_path / "blanked.mp4"
    ffmpeg("-i", str(short_clip), "-vf", "drawbox=enable='between(n,4,6)':x=0:y=0:w=iw:h=ih:color=gray:t=fill",
           "-c:v", "libx264", "-preset", "ultrafast", str(blanked))  # fmt: skip
    avatar = AvatarLibrary(tmp_path / "lib").prepare(blanked, "Gaps", PrepareSettings(smooth_window=0, allow_missing_faces=True))
    assert avatar.meta.frames_without_face == 3
    boxes = avatar.boxes.astype(float)
    assert boxes[5] == pytest.approx((boxes[3] + boxes[7]) / 2, abs=1)
    landmarks = avatar.landmarks()  # filled the way the boxes are: linearly between known frames
    assert landmarks is not None and np.isfinite(landmarks).all()
    assert landmarks[5] == pytest.approx((landmarks[3] + landmarks[7]) / 2, abs=0.01)


def test_without_the_face_mesh_the_avatar_is_box_only(short_clip: Path, tmp_path: Path) -> None:
    avatar = AvatarLibrary(tmp_path / "lib").prepare(short_clip, "Boxes", PrepareSettings(face_mesh=False))
    assert not avatar.meta.landmarks and avatar.landmarks() is None and avatar.meta.open_mouth_share is None
    assert not (avatar.folder / "landmarks.npy").exists()
    assert avatar.boxes.shape == (12, 4)


def test_cancel_in_the_middle_leaves_the_library_unchanged(shared_media: Path, tmp_path: Path) -> None:
    library = AvatarLibrary(tmp_path / "lib")
    before = library_state(library)
    token = CancelToken()
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        if progress.done >= 10:
            token.cancel()

    with pytest.raises(Cancelled):
        library.prepare(shared_media / TALKING, "Cancelled", SMALL, progress=on_progress, cancel=token)
    assert seen and seen[-1].done < 125
    assert library_state(library) == before
    assert list(library.staging_dir.iterdir()) == []


def test_replace_swaps_only_on_success(short_clip: Path, tmp_path: Path) -> None:
    library = AvatarLibrary(tmp_path / "lib")
    original = library.prepare(short_clip, "Presenter", SMALL)
    state = library_state(library)
    bad = tmp_path / "bad.mp4"
    bad.write_text("garbage")
    with pytest.raises(AvatarStudioError):
        library.prepare(bad, "Presenter", SMALL, replace=True)
    assert library_state(library) == state

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        library.reprepare("presenter", PrepareSettings(max_height=120), cancel=token)
    assert library_state(library) == state

    again = library.reprepare("presenter", PrepareSettings(max_height=120, smooth_window=0))
    assert again.folder == original.folder and again.height == 120 and again.meta.smooth_window == 0
    assert [a.name for a in library.list()] == ["Presenter"]
    assert list(library.staging_dir.iterdir()) == []


def test_reprepare_needs_the_source(short_clip: Path, tmp_path: Path) -> None:
    source = tmp_path / "moved away.mp4"
    source.write_bytes(short_clip.read_bytes())
    library = AvatarLibrary(tmp_path / "lib")
    library.prepare(source, "Orphan", SMALL)
    source.unlink()
    with pytest.raises(AvatarStudioError, match="is gone"):
        library.reprepare("Orphan")


def test_settings_out_of_range_are_refused(short_clip: Path, tmp_path: Path) -> None:
    library = AvatarLibrary(tmp_path / "lib")
    for settings in (PrepareSettings(pads=(0, 5, 0, 0)), PrepareSettings(smooth_window=-1), PrepareSettings(fps=0)):
        with pytest.raises(AvatarStudioError):
            library.prepare(short_clip, "X", settings)  # type: ignore[arg-type]
    assert list(library.staging_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [(".mkv", ["-c", "copy"]), (".mov", ["-c", "copy"]), (".webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime"]),
     (".avi", ["-c:v", "mpeg4", "-q:v", "3"]), (".webp", []), (".png", [])],  # fmt: skip
)
def test_common_containers_and_image_formats(short_clip: Path, tmp_path: Path, suffix: str, codec: list[str]) -> None:
    source = tmp_path / f"clip{suffix}"
    if suffix in (".webp", ".png"):
        ffmpeg("-i", str(short_clip), "-frames:v", "1", str(source))
    else:
        ffmpeg("-i", str(short_clip), *codec, str(source))
    avatar = AvatarLibrary(tmp_path / "lib").prepare(source, f"From {suffix}")
    expected_frames = 1 if suffix in (".webp", ".png") else 12
    assert (avatar.frame_count, avatar.width, avatar.height, avatar.fps) == (expected_frames, 240, 240, 25.0)
    assert avatar.meta.frames_without_face == 0
