"""open_backend: the engine follows the file, explicit choices are honoured or refused clearly,
and both engines compute the same thing from the same weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.backends.base import BackendSettings
from avatar_studio.model.backends.factory import open_backend
from onnx_exports import ShapeTwin, export, synthetic_wav2lip_onnx


@pytest.fixture(scope="session")
def synthetic_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same synthetic weights as the `synthetic_checkpoint` fixture, exported to ONNX."""
    return synthetic_wav2lip_onnx(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(ShapeTwin(), tmp_path_factory.mktemp("factory") / "small.onnx", ("mel_batch", "face_batch"))


def test_both_backends_agree_on_the_same_synthetic_weights(synthetic_checkpoint, synthetic_onnx, reference_forward):
    reference = reference_forward
    outputs = {}
    for path in (synthetic_checkpoint, synthetic_onnx):
        with open_backend(BackendSettings(path, device="cpu", precision="fp32", batch_size=2)) as backend:
            outputs[backend.engine_name] = backend(reference["mel"], reference["face"])
    assert set(outputs) == {"PyTorch", "ONNX Runtime"}
    assert np.abs(outputs["PyTorch"] - outputs["ONNX Runtime"]).max() < 1e-4


def test_auto_picks_onnx_runtime_for_onnx_files_whatever_the_case(small_onnx, tmp_path):
    upper = shutil.copyfile(small_onnx, tmp_path / "MODEL.ONNX")
    with open_backend(BackendSettings(upper, device="cpu", batch_size=3)) as backend:
        assert backend.engine_name == "ONNX Runtime"
        assert backend.describe() == "ONNX Runtime · CPUExecutionProvider · fp32 · batch 3"


def test_auto_picks_pytorch_for_checkpoints(synthetic_checkpoint):
    with open_backend(BackendSettings(synthetic_checkpoint, device="cpu", precision="fp32")) as backend:
        assert backend.engine_name == "PyTorch"
        assert backend.precision == "fp32"


def test_onnx_runtime_asked_for_a_checkpoint_says_to_export_first(tmp_path):
    checkpoint = tmp_path / "wav2lip_gan.pth"
    checkpoint.write_bytes(b"not opened: the choice is refused before loading")
    with pytest.raises(AvatarStudioError, match=r"export it first with `avatar-studio export-onnx wav2lip_gan.pth"):
        open_backend(BackendSettings(checkpoint, backend="onnx"))


def test_pytorch_asked_for_an_onnx_file_is_refused(small_onnx):
    with pytest.raises(AvatarStudioError, match="PyTorch cannot run the ONNX file small.onnx"):
        open_backend(BackendSettings(small_onnx, backend="torch"))


def test_explicit_matching_choice_is_honoured(small_onnx):
    with open_backend(BackendSettings(small_onnx, backend="onnx", device="cpu")) as backend:
        assert backend.engine_name == "ONNX Runtime"


def test_unknown_backend_is_a_clear_error(small_onnx):
    with pytest.raises(AvatarStudioError, match="Unknown backend 'tensorflow'; choose one of auto, torch, onnx"):
        open_backend(BackendSettings(small_onnx, backend="tensorflow"))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(AvatarStudioError, match="does not exist"):
        open_backend(BackendSettings(tmp_path / "wav2lip.pth"))


def test_unknown_suffix_is_a_clear_error(tmp_path):
    weights = tmp_path / "wav2lip.safetensors"
    weights.write_bytes(b"\0" * 16)
    with pytest.raises(AvatarStudioError, match=r"wav2lip.safetensors is not a model file .*\.pth, \.pt, \.onnx"):
        open_backend(BackendSettings(weights))


def test_notices_reach_the_caller(small_onnx):
    notices: list[str] = []
    with open_backend(BackendSettings(small_onnx, device="cpu", precision="fp16"), notices.append):
        pass
    assert notices and "fp32 ONNX model" in notices[0]
