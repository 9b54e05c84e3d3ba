"""The GPU paths themselves, where a GPU is present (the CPU-only tests beside them skip there).

Each test here is the positive twin of a test that skips when a GPU exists: auto picks CUDA and
fp16, an explicit `cuda` really runs on the device, ONNX Runtime keeps its CUDA provider, and
`info` calls that provider usable. On a machine without an NVIDIA GPU they skip, saying so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_studio import system_info
from avatar_studio.model.backends import onnx_backend
from avatar_studio.model.backends.onnx_backend import CUDA, TENSORRT, OnnxBackend
from avatar_studio.model.backends.torch_backend import TorchBackend
from standin_models import write_identity_model

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
needs_nvidia_driver = pytest.mark.skipif(not onnx_backend.nvidia_driver_present(), reason="no NVIDIA driver here")


@needs_cuda
def test_auto_picks_cuda_and_fp16_with_a_gpu(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    with TorchBackend(synthetic_checkpoint) as backend:
        assert backend.device_label.startswith("cuda") and backend.precision == "fp16"
        output = backend(reference_forward["mel"], reference_forward["face"])
    # fp16 on the GPU: the same margin as the CPU fp16 test (a mis-wired half model is off by tenths).
    assert output.dtype == np.float32
    assert np.abs(output - reference_forward["output"]).max() < 1e-2


@needs_cuda
def test_explicit_cuda_fp32_matches_the_reference(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    with TorchBackend(synthetic_checkpoint, device="cuda", precision="fp32") as backend:
        assert backend.describe().startswith("PyTorch · cuda")
        output = backend(reference_forward["mel"], reference_forward["face"])
    # TF32 convolutions may be on: looser than the CPU's 1e-4, far tighter than any wiring mistake.
    assert np.abs(output - reference_forward["output"]).max() < 5e-3


@needs_nvidia_driver
def test_onnx_runtime_keeps_a_cuda_provider_and_agrees_with_the_cpu(tmp_path: Path) -> None:
    model = write_identity_model(tmp_path / "identity.onnx")
    rng = np.random.default_rng(3)
    mel = rng.uniform(-4, 4, (5, 1, 80, 16)).astype(np.float32)
    face = rng.uniform(0, 1, (5, 6, 96, 96)).astype(np.float32)
    notices: list[str] = []
    with OnnxBackend(model, device="cuda", precision="fp32", on_notice=notices.append) as gpu:
        assert gpu.device_label in (CUDA, TENSORRT), (gpu.device_label, notices)
        on_gpu = gpu(mel, face)
    with OnnxBackend(model, device="cpu", precision="fp32") as cpu:
        on_cpu = cpu(mel, face)
    assert np.abs(on_gpu - on_cpu).max() < 1e-5


@needs_nvidia_driver
def test_info_calls_the_cuda_provider_usable() -> None:
    assert system_info._provider_state(CUDA) == system_info.USABLE
