"""`avatar-studio info` and the facts behind it (shared with the app's About dialog)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import onnxruntime as ort
import pytest
import torch

from avatar_studio import __version__, system_info
from avatar_studio.choices import VIDEO_ENCODERS
from avatar_studio.cli.main import main
from avatar_studio.model.backends import onnx_backend
from avatar_studio.settings import EngineSettings


@pytest.fixture(scope="module")
def info_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`info --json` once for the module (it imports torch and starts ONNX sessions)."""
    folder = tmp_path_factory.mktemp("info")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:  # module fixtures run before the per-test isolated_home
        patch.setenv("AVATAR_STUDIO_HOME", str(folder / "library"))
        patch.setenv("AVATAR_STUDIO_MODELS", str(folder / "models"))
        with contextlib.redirect_stdout(out):
            assert main(["info", "--json"]) == 0
    return json.loads(out.getvalue())


def test_text_output_names_versions_devices_providers_and_folders(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, tmp_path: Path
) -> None:
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == ["avatar-studio", __version__]
    for component in ("python", "torch", "onnxruntime", "opencv", "mediapipe", "PySide6", "ffmpeg"):
        assert any(line.startswith(component + " ") for line in lines), component
    assert f"torch          {torch.__version__} (" in text
    assert f"onnxruntime    {ort.__version__} (" in text
    assert "Torch devices:\n  cpu (" in text
    assert "  CPUExecutionProvider: usable" in text
    assert "  libx264: usable" in text and "  libx265: usable" in text
    assert f"Library folder: {isolated_home.resolve()}" in lines
    assert f"Models folder:  {(tmp_path / 'models').resolve()}" in lines


def test_json_output_is_complete(info_json: dict) -> None:
    assert set(info_json) == {"versions", "torch_devices", "onnx_providers", "library_dir", "models_dir", "video_encoders"}
    assert info_json["video_encoders"]["libx264"] == "usable"  # a real trial encode ran
    assert list(info_json["video_encoders"]) == [name for name in VIDEO_ENCODERS if name != "auto"]
    assert all(v == "usable" or v.startswith("not usable: ") for v in info_json["video_encoders"].values())
    assert info_json["versions"]["avatar-studio"] == __version__
    assert "not installed" not in info_json["versions"].values()
    assert list(info_json["onnx_providers"]) == ort.get_available_providers()
    assert info_json["onnx_providers"]["CPUExecutionProvider"] == "usable"
    cuda_lines = [d for d in info_json["torch_devices"] if d.startswith("cuda")]
    if torch.cuda.is_available():
        assert cuda_lines[0].startswith(f"cuda:0 {torch.cuda.get_device_name(0)} (")
    else:
        assert cuda_lines == [
            "cuda: not available (this PyTorch is a CPU-only build)"
            if torch.version.cuda is None
            else f"cuda: not available (PyTorch built for CUDA {torch.version.cuda} finds no GPU or driver)"
        ]


def test_models_folder_follows_the_library_settings(tmp_path: Path) -> None:
    library = tmp_path / "other-library"
    library.mkdir()
    EngineSettings(models_dir=str(tmp_path / "my-models")).save(library)
    info = system_info.collect_system_info(library)
    assert info.library_dir == str(library.resolve())
    assert info.models_dir == str((tmp_path / "my-models").resolve())


def test_gpu_provider_that_cannot_start_is_reported_not_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the driver check bypassed, ONNX Runtime really tries CUDA here and falls back to the CPU."""
    if onnx_backend.nvidia_driver_present():
        pytest.skip("an NVIDIA driver is present; CUDA may really start")
    assert system_info._provider_state("CUDAExecutionProvider") == "not usable: no NVIDIA driver found"
    monkeypatch.setattr(onnx_backend, "nvidia_driver_present", lambda: True)
    state = system_info._provider_state("CUDAExecutionProvider")
    assert state.startswith("not usable: ")


def test_missing_library_versions_read_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(system_info.DISTRIBUTIONS, "imaginary", ("no-such-distribution-avatar-studio",))
    assert system_info.versions()["imaginary"] == "not installed"
