"""Render inputs that used to destroy a file, give the wrong advice or fail late: the real CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.audio.decode import decode_audio
from avatar_studio.cli.main import main
from avatar_studio.media.ffmpeg import ffmpeg_exe
from avatar_studio.media.probe import probe_media
from media_clips import pattern_clip
from render_media import write_beeps
from standin_models import write_identity_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_model(tmp_path_factory.mktemp("refusal_models") / "identity.onnx")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _render(library: Path, avatar: str, audio: Path, output: Path, model: Path, *extra: str) -> int:
    return main([
        "render", "--library", str(library), "--avatar", avatar, "--audio", str(audio), "-o", str(output),
        "--model", str(model), "--preset", "ultrafast", *extra,
    ])  # fmt: skip


@pytest.mark.parametrize("how", ["same path", "symbolic link", "hard link"])
def test_an_output_that_is_the_audio_input_is_refused_even_with_overwrite(
    render_avatar, render_library: Path, identity_model: Path, tmp_path: Path, capsys, how: str
) -> None:
    render_avatar("still")
    clip = pattern_clip(tmp_path / "clip.mp4", size="64x48", seconds=0.4, audio=True)
    before = _digest(clip)
    output = clip
    if how == "symbolic link":
        output = tmp_path / "link.mp4"
        output.symlink_to(clip)
    elif how == "hard link":
        output = tmp_path / "hard.mp4"
        os.link(clip, output)
    assert _render(render_library, "still", clip, output, identity_model, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "is the input" in err and "choose another output" in err, err
    assert _digest(clip) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_output_that_is_the_avatars_source_is_refused(
    render_avatar, render_library: Path, identity_model: Path, tmp_path: Path, capsys
) -> None:
    source = Path(render_avatar("hue").meta.source_file)
    before = _digest(source)
    beeps = write_beeps(tmp_path / "beeps.wav", seconds=0.4)
    assert _render(render_library, "hue", beeps, source, identity_model, "--overwrite") == 2
    assert "is the input" in capsys.readouterr().err
    assert _digest(source) == before


def test_a_wrong_extension_is_named_before_the_overwrite_question(
    render_avatar, render_library: Path, identity_model: Path, tmp_path: Path, capsys
) -> None:
    render_avatar("still")
    beeps = write_beeps(tmp_path / "beeps.wav", seconds=0.4)
    existing = tmp_path / "voice.wav"
    existing.write_bytes(b"the user's file")
    assert _render(render_library, "still", beeps, existing, identity_model) == 2
    err = capsys.readouterr().err
    assert "'voice.wav' does not end in a video suffix" in err and ".mp4" in err and "--overwrite" not in err, err
    assert existing.read_bytes() == b"the user's file"


def test_a_tiny_frame_rate_is_refused_in_one_sentence(shared_media: Path, tmp_path: Path, capsys) -> None:
    clip = pattern_clip(tmp_path / "clip.mp4", size="64x48", seconds=0.4)
    assert main(["prepare", str(clip), "--name", "Slow", "--fps", "0.001", "--library", str(tmp_path / "lib")]) == 2
    err = capsys.readouterr().err.strip()
    assert "frame rate of 0.001 is not usable" in err and "1 to 240" in err and len(err.splitlines()) == 1


def test_nan_and_inf_samples_are_silenced_with_a_notice_also_in_the_muxed_audio(
    render_avatar, render_library: Path, identity_model: Path, tmp_path: Path, capsys
) -> None:
    render_avatar("still")
    signal = (0.3 * np.sin(np.arange(24000) * 2 * np.pi * 440 / 48000)).astype("<f4")
    signal[[100, 9000, 20000]] = [np.nan, np.inf, -np.inf]
    raw = tmp_path / "raw.f32"
    raw.write_bytes(signal.tobytes())
    wav = tmp_path / "damaged.wav"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "f32le", "-ar", "48000", "-ac", "1", "-i", str(raw),
                    "-c:a", "pcm_f32le", str(wav)], check=True)  # fmt: skip
    output = tmp_path / "video.mp4"
    assert _render(render_library, "still", wav, output, identity_model) == 0
    assert (
        "contains invalid (NaN or infinite) samples; they are rendered and encoded as silence"
        in capsys.readouterr().err
    )
    assert probe_media(output).has_audio
    muxed = decode_audio(output)
    assert muxed.size > 0 and np.isfinite(muxed).all() and np.abs(muxed).max() > 0.1
