"""Transparency end to end: an RGBA still and an RGBA clip (made with the bundled ffmpeg) become
avatars that keep their alpha, .mov/.webm renders keep it, .mp4 composites over black and says
so once, and an unsupported suffix is refused with the supported ones listed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.cli.main import main
from avatar_studio.media.probe import probe_media
from avatar_studio.media.video_reader import open_video
from avatar_studio.render.schedule import source_frame
from media_clips import read_bgra, rgba_media, side_matte, sine_wav
from render_media import read_frames
from standin_enhancers import write_brightening_enhancer
from standin_models import write_identity_model

pytestmark = pytest.mark.slow
FRAMES = 6
VP9_ALPHA = ("-c:v", "libvpx-vp9")


@pytest.fixture(scope="module")
def sources(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("alpha sources")
    frames = list(open_video(shared_media / "talking_man_25fps_844x844.mp4", max_height=192).frames())[:FRAMES]
    height, width = frames[0].shape[:2]
    matte = side_matte(height, width)
    still = rgba_media(folder / "cut out.png", frames[:1], [matte], "-c:v", "png", "-frames:v", "1")
    clip = rgba_media(folder / "cut out.webm", frames, [matte] * FRAMES,
                      "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-crf", "10", "-b:v", "0")  # fmt: skip
    return {"still": still, "clip": clip, "matte": matte, "size": (width, height),
            "clip_alpha": read_bgra(clip, width, height, VP9_ALPHA)[..., 3]}  # fmt: skip


@pytest.fixture(scope="module")
def library(sources: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("alpha library")
    lib = AvatarLibrary(root)
    lib.prepare(sources["still"], "still")
    lib.prepare(sources["clip"], "clip")
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_model(tmp_path_factory.mktemp("alpha model") / "identity.onnx")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sine_wav(tmp_path_factory.mktemp("alpha audio") / "tone.wav", 0.4)


def _render(library: Path, model: Path, speech: Path, avatar: str, output: Path, *extra: str) -> int:
    return main([
        "render", "--library", str(library), "--avatar", avatar, "--audio", str(speech), "-o", str(output),
        "--model", str(model), "--batch-size", "4", "--preset", "ultrafast", *extra,
    ])  # fmt: skip


def test_preparation_keeps_the_alpha_planes(library: Path, sources: dict) -> None:
    lib = AvatarLibrary(library)
    still, clip = lib.get("still"), lib.get("clip")
    assert still.has_alpha and clip.has_alpha
    assert np.array_equal(still.read_frame(0, alpha=True)[..., 3], sources["matte"])  # PNG: lossless
    stored = np.stack([clip.read_frame(i, alpha=True)[..., 3] for i in range(clip.frame_count)])
    assert np.array_equal(stored, sources["clip_alpha"][: clip.frame_count])  # exactly what the clip holds
    x1, _, x2, _ = still.boxes[0]
    assert sources["matte"][:, x1:x2].min() == 255  # the face box lies in the opaque part


def test_an_opaque_rgba_source_makes_an_ordinary_avatar(sources: dict, tmp_path: Path) -> None:
    width, height = sources["size"]
    frame = read_bgra(sources["still"], width, height)[0, ..., :3].copy()
    opaque = rgba_media(tmp_path / "opaque.png", [frame], [np.full((height, width), 255, np.uint8)], "-c:v", "png")
    avatar = AvatarLibrary(tmp_path / "lib").prepare(opaque, "opaque")
    assert not avatar.has_alpha and not (avatar.folder / "alpha").exists()


@pytest.mark.parametrize("avatar, suffix", [("still", ".mov"), ("clip", ".webm")])
def test_mov_and_webm_renders_keep_the_alpha(library, model, speech, sources, tmp_path, avatar, suffix) -> None:
    out = tmp_path / f"talking{suffix}"
    assert _render(library, model, speech, avatar, out) == 0
    info = probe_media(out)
    assert info.has_alpha and info.has_audio
    assert (info.video_codec, info.audio_codec) == (("prores", "pcm_s16le") if suffix == ".mov" else ("vp9", "opus"))
    width, height = sources["size"]
    rendered = read_bgra(out, width, height, VP9_ALPHA if suffix == ".webm" else ())[..., 3].astype(int)
    source = (sources["matte"][None] if avatar == "still" else sources["clip_alpha"]).astype(int)
    x1, y1, x2, y2 = AvatarLibrary(library).get(avatar).boxes[0]
    assert rendered[:, y1:y2, x1:x2].min() >= 254  # the face stays opaque
    # Output frame i shows schedule frame i of the avatar (pingpong), with that frame's alpha.
    expected = source[[source_frame(i, len(source)) for i in range(len(rendered))]]
    error = np.abs(rendered - expected)
    if suffix == ".mov":  # ProRes keeps 16-bit alpha losslessly: only 8 -> 10-bit rounding on the ramp
        assert error[(expected == 0) | (expected == 255)].max() == 0
        assert error.max() <= 1
    else:  # VP9 codes the alpha plane lossily, like the picture
        assert error.max() <= 6 and error.mean() < 0.5


def test_the_face_enhancer_changes_the_picture_never_the_alpha(library, model, speech, sources, tmp_path) -> None:
    plain, enhanced = tmp_path / "plain.mov", tmp_path / "enhanced.mov"
    enhancer = write_brightening_enhancer(tmp_path / "restore_bright.onnx", delta=0.5)
    assert _render(library, model, speech, "still", plain) == 0
    assert _render(library, model, speech, "still", enhanced, "--enhancer", str(enhancer),
                   "--enhancer-region", "face", "--enhancer-blend", "1") == 0  # fmt: skip
    width, height = sources["size"]
    before, after = (read_bgra(path, width, height).astype(int) for path in (plain, enhanced))
    assert np.array_equal(after[..., 3], before[..., 3])
    x1, y1, x2, y2 = AvatarLibrary(library).get("still").boxes[0]
    assert after[:, y1:y2, x1:x2, :3].mean() > before[:, y1:y2, x1:x2, :3].mean() + 5  # the enhancer ran


def test_mp4_of_a_transparent_avatar_is_over_black_and_says_so_once(library, model, speech, sources, tmp_path, capsys) -> None:
    out = tmp_path / "talking.mp4"
    assert _render(library, model, speech, "still", out) == 0
    err = capsys.readouterr().err
    assert err.count("composited over black") == 1, err
    width, height = sources["size"]
    frame = read_frames(out, width, height)[0].astype(int)
    transparent = sources["matte"] == 0
    assert frame[transparent].max() <= 20 and frame[transparent].mean() < 2  # black (4:2:0 bleeds at the edge)
    assert frame[sources["matte"] == 255].mean() > 40  # the presenter is there


def test_unsupported_suffix_is_refused_with_the_supported_ones(library, model, speech, tmp_path, capsys) -> None:
    out = tmp_path / "talking.avi"
    assert _render(library, model, speech, "still", out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(s in err for s in (".mp4", ".webm", ".mov", ".mkv"))
    assert list(tmp_path.iterdir()) == []
