"""The PyTorch backend: exact fp32 output, fp16 on the CPU, batch splitting and out-of-memory halving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.backends.torch_backend import TorchBackend


class RecordingBackend(TorchBackend):
    """Records the size of every batch that reaches the model; fails like a full GPU above `fits`."""

    def __init__(self, *args, fits: int | None = None, **kwargs) -> None:
        self.batches: list[int] = []
        self.cache_releases = 0
        self.fits = fits
        super().__init__(*args, **kwargs)

    def _forward(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        self.batches.append(len(mel))
        if self.fits is not None and len(mel) > self.fits:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super()._forward(mel, face)

    def _release_cached_memory(self) -> None:
        self.cache_releases += 1
        super()._release_cached_memory()


def test_fp32_reproduces_reference_in_batches(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    backend = RecordingBackend(synthetic_checkpoint, device="cpu", batch_size=2)
    output = backend(reference_forward["mel"], reference_forward["face"])
    assert output.dtype == np.float32 and output.shape == (3, 3, 96, 96)
    assert np.abs(output - reference_forward["output"]).max() < 1e-4
    assert backend.batches == [2, 1]
    assert backend.describe() == "PyTorch · cpu · fp32 · batch 2"


def test_auto_picks_cpu_and_fp32_without_a_gpu(synthetic_checkpoint: Path) -> None:
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("a GPU is present")
    backend = TorchBackend(synthetic_checkpoint)
    assert (backend.device_label, backend.precision, backend.batch_size) == ("cpu", "fp32", 16)


def test_fp16_on_cpu_is_close_to_fp32(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    """fp16 keeps 11 significant bits (relative step 2^-11 ~ 5e-4 per rounding). Over the ~40 layers
    the rounding errors grow to ~1e-3 before the final sigmoid (slope <= 1/4), so 1e-2 leaves a
    wide margin, while a mis-wired half model (wrong cast, a layer left in fp32 inputs) is off by
    tenths. A difference of exactly 0 would mean fp16 never ran."""
    notices: list[str] = []
    backend = TorchBackend(synthetic_checkpoint, device="cpu", precision="fp16", on_notice=notices.append)
    assert backend.precision == "fp16" and next(backend._model.parameters()).dtype == torch.float16
    assert notices == ["fp16 on the CPU runs much slower than fp32 on most processors; choose fp32 for speed."]
    output = backend(reference_forward["mel"][:1], reference_forward["face"][:1])
    assert output.dtype == np.float32
    difference = np.abs(output - reference_forward["output"][:1]).max()
    assert 0 < difference < 1e-2


def test_channels_last_gives_the_same_output(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    backend = TorchBackend(synthetic_checkpoint, device="cpu", channels_last=True)
    assert backend.describe().endswith("· channels-last")
    output = backend(reference_forward["mel"], reference_forward["face"])
    assert np.abs(output - reference_forward["output"]).max() < 1e-4


def test_any_input_layout_is_accepted(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    """Read-only, float64 and non-contiguous inputs give the same result as plain float32 ones."""
    backend = TorchBackend(synthetic_checkpoint, device="cpu")
    mel = reference_forward["mel"].astype(np.float64)
    face = np.asfortranarray(reference_forward["face"])
    face.setflags(write=False)
    assert np.abs(backend(mel, face) - reference_forward["output"]).max() < 1e-4
    assert backend(mel[:0], face[:0]).shape == (0, 3, 96, 96)


def test_out_of_memory_halves_the_batch_and_says_so(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    notices: list[str] = []
    backend = RecordingBackend(synthetic_checkpoint, device="cpu", batch_size=4, on_notice=notices.append, fits=1)
    output = backend(reference_forward["mel"], reference_forward["face"])
    assert np.abs(output - reference_forward["output"]).max() < 1e-4
    assert backend.batches == [3, 2, 1, 1, 1]  # 4 (3 samples) -> OOM, 2 -> OOM, then 1+1+1 fit
    assert backend.batch_size == 1
    assert backend.cache_releases == 2
    assert notices == [
        "Out of memory on cpu: batch size lowered to 2.",
        "Out of memory on cpu: batch size lowered to 1.",
    ]


def test_out_of_memory_at_batch_one_gives_up_clearly(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    backend = RecordingBackend(synthetic_checkpoint, device="cpu", batch_size=2, fits=0)
    with pytest.raises(AvatarStudioError, match="ran out of memory even at batch size 1;"):
        backend(reference_forward["mel"], reference_forward["face"])
    assert backend.batches == [2, 1]


def test_other_errors_are_not_mistaken_for_out_of_memory(synthetic_checkpoint: Path) -> None:
    backend = TorchBackend(synthetic_checkpoint, device="cpu")
    assert not backend._is_out_of_memory(RuntimeError("MPS backend out of memory"))  # not on MPS here
    assert backend._is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    with pytest.raises(ValueError, match="expected mel"):
        backend(np.zeros((2, 1, 80, 15), np.float32), np.zeros((2, 6, 96, 96), np.float32))


def test_unavailable_devices_are_clear_errors(synthetic_checkpoint: Path) -> None:
    if not torch.cuda.is_available():
        with pytest.raises(AvatarStudioError, match="The CUDA device was requested but PyTorch sees no CUDA GPU"):
            TorchBackend(synthetic_checkpoint, device="cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(AvatarStudioError, match="The MPS device was requested but it is not available"):
            TorchBackend(synthetic_checkpoint, device="mps")
    with pytest.raises(AvatarStudioError, match="Unknown precision 'bf16'"):
        TorchBackend(synthetic_checkpoint, device="cpu", precision="bf16")


def test_closed_backend_refuses_work(synthetic_checkpoint: Path, reference_forward: dict) -> None:
    with TorchBackend(synthetic_checkpoint, device="cpu") as backend:
        backend(reference_forward["mel"][:1], reference_forward["face"][:1])
    with pytest.raises(AvatarStudioError, match="This model has been closed"):
        backend(reference_forward["mel"][:1], reference_forward["face"][:1])
