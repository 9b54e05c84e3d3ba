"""`avatar-studio render`: the command line over the real pipeline, its defaults and its refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_studio.cli.main import main
from avatar_studio.media.probe import probe_media
from render_media import write_beeps
from standin_models import write_identity_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_model(tmp_path_factory.mktemp("cli_models") / "identity.onnx")


@pytest.fixture(scope="session")
def beeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beeps(tmp_path_factory.mktemp("cli_audio") / "beeps.wav")


@pytest.fixture
def render_args(render_avatar, render_library: Path, beeps: Path, tmp_path: Path):
    """`render_args(*extra)`: a full `render` command line for the still avatar into tmp_path/out."""
    render_avatar("still")
    out = tmp_path / "out"
    out.mkdir()

    def args(*extra: str, output: Path | None = None) -> list[str]:
        return [
            "render", "--library", str(render_library), "--avatar", "still", "--audio", str(beeps),
            "-o", str(output or out / "video.mp4"), "--preset", "ultrafast", *extra,
        ]  # fmt: skip

    args.out = out  # type: ignore[attr-defined]
    return args


def test_render_writes_the_video_and_names_the_backend(render_args, identity_model: Path, capsys) -> None:
    assert main(render_args("--model", str(identity_model), "--batch-size", "4", "--loop", "loop")) == 0
    stdout = capsys.readouterr().out
    assert "ONNX Runtime" in stdout and "batch 4" in stdout
    info = probe_media(render_args.out / "video.mp4")
    assert info.has_audio and info.frame_count == 65  # 2.6 s at 25 fps


def test_model_defaults_to_the_only_one_in_the_models_folder(render_args, identity_model: Path) -> None:
    models = Path(os.environ["AVATAR_STUDIO_MODELS"])
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(identity_model, models / "only.onnx")
    assert main(render_args("--seconds", "0.5")) == 0
    assert probe_media(render_args.out / "video.mp4").frame_count == 13


def _refused(capsys, argv: list[str], out: Path, before: list[str], fragment: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert sorted(p.name for p in out.iterdir()) == before


def test_no_model_anywhere_says_where_to_put_one(render_args, capsys) -> None:
    _refused(capsys, render_args(), render_args.out, [], "models folder")


def test_garbage_model_file_is_refused(render_args, tmp_path: Path, capsys) -> None:
    garbage = tmp_path / "broken.onnx"
    garbage.write_bytes(b"\x00not a model" * 100)
    _refused(capsys, render_args("--model", str(garbage)), render_args.out, [], "broken.onnx")


@pytest.mark.parametrize("problem", ["missing", "not audio"])
def test_bad_audio_is_refused(render_args, identity_model: Path, tmp_path: Path, capsys, problem: str) -> None:
    argv = render_args("--model", str(identity_model))
    audio = tmp_path / "voice.mp3"
    if problem == "not audio":
        audio.write_text("just some words\n" * 50)
    argv[argv.index("--audio") + 1] = str(audio)
    _refused(capsys, argv, render_args.out, [], "voice.mp3")


def test_unwritable_output_folder_is_refused(render_args, identity_model: Path, tmp_path: Path, capsys) -> None:
    blocker = render_args.out / "a-file"
    blocker.write_text("x")
    argv = render_args("--model", str(identity_model), output=blocker / "video.mp4")
    _refused(capsys, argv, render_args.out, ["a-file"], "folder")


def test_existing_output_needs_overwrite(render_args, identity_model: Path, capsys) -> None:
    target = render_args.out / "video.mp4"
    target.write_bytes(b"keep me")
    assert main(render_args("--model", str(identity_model))) == 2
    captured = capsys.readouterr()
    assert "--overwrite" in captured.err
    assert "ONNX Runtime" not in captured.out  # refused before the model was even loaded
    assert target.read_bytes() == b"keep me"
    assert main(render_args("--model", str(identity_model), "--overwrite", "--seconds", "0.4")) == 0
    assert probe_media(target).frame_count == 10


def test_unknown_avatar_and_bad_settings_are_refused(render_args, identity_model: Path, capsys) -> None:
    argv = render_args("--model", str(identity_model))
    argv[argv.index("--avatar") + 1] = "nobody"
    _refused(capsys, argv, render_args.out, [], "nobody")
    _refused(capsys, render_args("--model", str(identity_model), "--seconds", "-1"), render_args.out, [], "seconds")


def test_summary_and_device_line_name_the_encoder(render_args, identity_model: Path, capsys) -> None:
    from avatar_studio.media.encoders import resolve_encoder

    assert main(render_args("--model", str(identity_model), "--seconds", "0.3", "--encoder", "libx265")) == 0
    stdout = capsys.readouterr().out
    assert "video encoder libx265" in stdout and "frames/s, libx265)." in stdout
    assert probe_media(render_args.out / "video.mp4").video_codec == "hevc"
    assert main(render_args("--model", str(identity_model), "--seconds", "0.3", "--overwrite")) == 0
    assert f"video encoder {resolve_encoder('auto')}" in capsys.readouterr().out  # auto, resolved


def test_an_encoder_that_cannot_start_is_refused_before_the_model_loads(render_args, tmp_path: Path, capsys) -> None:
    from avatar_studio.media.encoders import encoder_options

    missing = next((o.name for o in encoder_options() if not o.usable), None)
    if missing is None:
        pytest.skip("every encoder starts on this machine")
    garbage = tmp_path / "broken.onnx"  # loading it would fail: the encoder must be refused first
    garbage.write_bytes(b"\x00not a model" * 100)
    _refused(capsys, render_args("--model", str(garbage), "--encoder", missing), render_args.out, [], f"The {missing} encoder")
    assert main(render_args("--model", str(garbage), "--encoder", missing)) == 2
    assert "encoders that work here: libx264" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [("--mask", "oval", "box, lower-face, mouth"), ("--silence", "mute", "lipsync, original"),
     ("--mask-blur", "0.9", "Mask blur"), ("--mouth-dilate", "-0.1", "Mouth dilation")],  # fmt: skip
)
def test_bad_quality_options_get_one_line_naming_the_valid_values(
    render_args, identity_model: Path, capsys, option: str, value: str, fragment: str
) -> None:
    _refused(capsys, render_args("--model", str(identity_model), option, value), render_args.out, [], fragment)


def test_an_avatar_without_landmarks_renders_with_the_box_mask_and_says_so(
    render_args, render_library: Path, identity_model: Path, tmp_path: Path, capsys
) -> None:
    import json

    from avatar_studio.avatars.library import AvatarLibrary

    old = tmp_path / "old library" / "avatars" / "old-still"  # a library of its own: the shared one stays as it is
    shutil.copytree(AvatarLibrary(render_library).get("still").folder, old)
    for name in ("landmarks.npy", "mouth_openness.npy"):
        (old / name).unlink()
    meta = json.loads((old / "avatar.json").read_text(encoding="utf-8"))
    del meta["landmarks"], meta["open_mouth_share"]  # as written before the face mesh existed
    (old / "avatar.json").write_text(json.dumps(meta), encoding="utf-8")
    argv = render_args("--model", str(identity_model), "--seconds", "0.2")
    argv[argv.index("--library") + 1] = str(tmp_path / "old library")
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "box mask" in err and "re-prepare it for face-mesh masks" in err


def test_an_onnx_render_imports_neither_torch_nor_librosa(render_args, identity_model: Path) -> None:
    """Start-up: torch alone costs seconds of CPU to import, librosa/scipy.signal over one more;
    an ONNX render needs neither (checked in a fresh interpreter, as a user's command runs)."""
    code = (
        "import sys\nfrom avatar_studio.cli.main import main\nrc = main(sys.argv[1:])\n"
        "print(sorted(m for m in ('torch', 'librosa', 'scipy.signal') if m in sys.modules))\nsys.exit(rc)"
    )
    argv = render_args("--model", str(identity_model), "--seconds", "0.3")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert probe_media(render_args.out / "video.mp4").frame_count == 8
