"""PyTorch backend: runs a Wav2Lip checkpoint on the CPU, a CUDA GPU or Apple's MPS.

fp16 is the default on GPUs (half the memory traffic, tensor cores) and fp32 on the CPU. fp16 on
the CPU works when asked for (it is how a CPU-only machine checks an fp16 setup), but x86 CPUs
without AVX512-FP16 have no fast half-precision convolutions: torch 2.13 measured about 14x slower
per convolution than fp32 on an AVX512 CPU, so it is announced as slow.

On CUDA, "fp32" convolutions use TF32 tensor cores unless the application turns PyTorch's
process-wide `torch.backends.cudnn.allow_tf32` off; this backend leaves that global alone (on an
H200 the fixture's output then differs by 4e-4, a tenth of one 8-bit grey level).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from avatar_studio.choices import DEFAULT_BATCH_SIZE, DEVICES, PRECISIONS, DeviceChoice, PrecisionChoice, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.backends.base import InferenceBackend
from avatar_studio.model.checkpoint import load_wav2lip
from avatar_studio.model.shapes import FACE_SHAPE, MEL_SHAPE
from avatar_studio.progress import NoticeCallback

MEL_SIZE = int(np.prod(MEL_SHAPE))
FACE_SIZE = int(np.prod(FACE_SHAPE))
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def resolve_device(device: DeviceChoice) -> torch.device:
    """The torch device for a user choice; "auto" prefers CUDA, then MPS, then the CPU."""
    check_choice("device", device, DEVICES)
    cuda_ok = torch.cuda.is_available()
    mps_ok = torch.backends.mps.is_available()
    if device == "auto":
        return torch.device("cuda" if cuda_ok else "mps" if mps_ok else "cpu")
    if device == "cuda" and not cuda_ok:
        build = f"a CPU-only build ({torch.__version__})" if torch.version.cuda is None else f"torch {torch.__version__}"
        raise AvatarStudioError(
            f"The CUDA device was requested but PyTorch sees no CUDA GPU ({build}); install a CUDA build of "
            "PyTorch and the NVIDIA driver, or choose device auto or cpu."
        )
    if device == "mps" and not mps_ok:
        raise AvatarStudioError(
            "The MPS device was requested but it is not available (it needs an Apple-silicon Mac with macOS 12.3 "
            "or newer); choose device auto or cpu."
        )
    return torch.device(device)


def resolve_precision(precision: PrecisionChoice, device: torch.device) -> str:
    """The precision to run in: "auto" means fp16 on a GPU and fp32 on the CPU."""
    check_choice("precision", precision, PRECISIONS)
    if precision == "auto":
        return "fp32" if device.type == "cpu" else "fp16"
    return precision


class TorchBackend(InferenceBackend):
    """A Wav2Lip checkpoint in a PyTorch model, evaluated in inference mode."""

    engine_name = "PyTorch"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        device: DeviceChoice = "auto",
        precision: PrecisionChoice = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_notice: NoticeCallback | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__(batch_size, on_notice)
        self.model_path = Path(model_path)
        self._device = resolve_device(device)
        self._precision = resolve_precision(precision, self._device)
        self._dtype = _DTYPES[self._precision]
        self._channels_last = channels_last
        self._memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model = load_wav2lip(self.model_path)
        # Module.to() takes memory_format at run time; torch's type stubs leave it out.
        placed = model.to(self._device, self._dtype, memory_format=self._memory_format)  # type: ignore[call-overload]
        self._model: torch.nn.Module | None = placed
        self._staging = torch.empty(0)
        if self._device.type == "cpu" and self._precision == "fp16":
            self._notify("fp16 on the CPU runs much slower than fp32 on most processors; choose fp32 for speed.")

    @property
    def device_label(self) -> str:
        if self._device.type == "cuda":
            index = self._device.index if self._device.index is not None else torch.cuda.current_device()
            return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
        return self._device.type

    @property
    def precision(self) -> str:
        return self._precision

    def describe(self) -> str:
        return super().describe() + (" · channels-last" if self._channels_last else "")

    def close(self) -> None:
        self._model = None
        self._staging = torch.empty(0)
        self._release_cached_memory()

    def _run_chunk(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        if mel.shape[1:] != MEL_SHAPE or face.shape[1:] != FACE_SHAPE:
            raise ValueError(f"expected mel (B,{MEL_SHAPE}) and face (B,{FACE_SHAPE}), got {mel.shape} and {face.shape}")
        if self._model is None:
            raise AvatarStudioError("This model has been closed; open it again to keep rendering.")
        try:
            return self._forward(mel, face)
        except RuntimeError as error:
            if not self._is_out_of_memory(error):
                raise
            error_type, message = type(error), str(error)
        # Outside the except block the traceback, and the device tensors its frames hold, are gone,
        # so emptying the cache really returns the failed batch's memory before a smaller one runs.
        self._release_cached_memory()
        raise error_type(message)

    def _forward(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        """One batch: both inputs packed into one float32 host buffer, one copy to the device, one back.

        The cast to fp16 happens on the device: done on the host by numpy it cost more than the
        whole fp16 forward pass on an H200 (fp16 measured slower than fp32 that way).
        """
        count = len(mel)
        mel_end = count * MEL_SIZE
        host = self._staging_buffer(mel_end + count * FACE_SIZE)
        staged = host.numpy()  # numpy casts and copies any input layout (read-only, strided) in place
        np.copyto(staged[:mel_end].reshape(count, *MEL_SHAPE), mel)
        np.copyto(staged[mel_end:].reshape(count, *FACE_SHAPE), face)
        packed = host.to(self._device, non_blocking=True).to(self._dtype)
        mel_t = packed[:mel_end].view(count, *MEL_SHAPE)
        face_t = packed[mel_end:].view(count, *FACE_SHAPE).contiguous(memory_format=self._memory_format)
        with torch.inference_mode():
            assert self._model is not None  # _run_chunk refuses a closed backend
            output = self._model(mel_t, face_t)
        return output.float().cpu().numpy()

    def _staging_buffer(self, size: int) -> torch.Tensor:
        """A float32 host buffer reused across batches (pinned for CUDA's asynchronous copy).

        Reuse is safe: every batch ends by copying its output back, which waits for the upload.
        """
        if self._staging.numel() < size:
            self._staging = torch.empty(size, pin_memory=self._device.type == "cuda")
        return self._staging[:size]

    def _is_out_of_memory(self, error: BaseException) -> bool:
        if isinstance(error, torch.cuda.OutOfMemoryError):
            return True
        # MPS reports exhaustion as a plain RuntimeError ("MPS backend out of memory ...").
        return self._device.type == "mps" and isinstance(error, RuntimeError) and "out of memory" in str(error)

    def _release_cached_memory(self) -> None:
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
        elif self._device.type == "mps":
            torch.mps.empty_cache()
