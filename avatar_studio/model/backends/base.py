"""The one interface every inference backend offers, and what they share.

`backend.predict(mel_batch, face_batch)` takes float32 arrays (B,1,80,16) and (B,6,96,96) with any B
and returns float32 (B,3,96,96) in [0, 1], BGR. The base class splits B into chunks of the current
batch size and, when the device runs out of memory, halves the batch size and retries (telling the
caller through `on_notice`); only at batch size 1 does it give up with a clear message. The face
enhancer (`model/enhancers.py`) runs its batches through the same `BatchShrinking` mechanism.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_studio.choices import DEFAULT_BATCH_SIZE, BackendChoice, DeviceChoice, PrecisionChoice, check_batch_size
from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.shapes import OUTPUT_SHAPE
from avatar_studio.progress import NoticeCallback


@dataclass(frozen=True)
class BackendSettings:
    """What the user chose: which model file and how to run it."""

    model_path: Path
    backend: BackendChoice = "auto"
    device: DeviceChoice = "auto"
    precision: PrecisionChoice = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE


class BatchShrinking(ABC):
    """A model run in chunks of `batch_size` samples that halves the batch when the device runs out of memory."""

    def __init__(self, batch_size: int, on_notice: NoticeCallback | None = None) -> None:
        check_batch_size(batch_size)
        self.batch_size = batch_size
        self._on_notice = on_notice

    @property
    @abstractmethod
    def device_label(self) -> str:
        """The device or execution provider really in use, e.g. 'cuda:0' or 'CPUExecutionProvider'."""

    @abstractmethod
    def _is_out_of_memory(self, error: BaseException) -> bool:
        """True when `error` means the device ran out of memory for this chunk."""

    def _run_chunked(self, count: int, run_chunk: Callable[[int, int], np.ndarray]) -> list[np.ndarray]:
        """`run_chunk(start, stop)` over `count` samples in chunks of the current batch size, retrying a
        chunk at half the batch size after an out-of-memory error; the chunks' outputs in order."""
        outputs: list[np.ndarray] = []
        start = 0
        while start < count:
            stop = min(start + self.batch_size, count)
            try:
                outputs.append(run_chunk(start, stop))
            except Exception as error:  # noqa: BLE001 - filtered by _is_out_of_memory
                if not self._is_out_of_memory(error):
                    raise
                self._shrink_batch_after_oom()
                continue
            start = stop
        return outputs

    def _shrink_batch_after_oom(self) -> None:
        if self.batch_size == 1:
            raise AvatarStudioError(
                f"The {self.device_label} device ran out of memory even at batch size 1; "
                "close other programs using it, choose fp16, or run on the CPU."
            )
        self.batch_size = max(1, self.batch_size // 2)
        self._notify(f"Out of memory on {self.device_label}: batch size lowered to {self.batch_size}.")

    def _notify(self, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(message)


class InferenceBackend(BatchShrinking):
    """A loaded model ready to predict mouth images."""

    #: "PyTorch" or "ONNX Runtime"
    engine_name: str = ""
    #: The model file, named in errors about what it produced.
    model_path: Path

    @property
    @abstractmethod
    def precision(self) -> str:
        """'fp32' or 'fp16'."""

    @abstractmethod
    def _run_chunk(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        """Run at most `batch_size` samples; return float32 (b,3,96,96)."""

    def close(self) -> None:
        """Release the model and any device memory it holds."""

    def describe(self) -> str:
        """One line for the app's status bar and the CLI: backend, device/provider, precision, batch."""
        return f"{self.engine_name} · {self.device_label} · {self.precision} · batch {self.batch_size}"

    def predict(self, mel_batch: np.ndarray, face_batch: np.ndarray) -> np.ndarray:
        """Predict mouth images for any number of samples, adapting the batch size to memory."""
        if len(mel_batch) != len(face_batch):
            raise ValueError(f"{len(mel_batch)} mel windows but {len(face_batch)} faces")
        outputs = self._run_chunked(
            len(mel_batch),
            lambda start, stop: self._checked(self._run_chunk(mel_batch[start:stop], face_batch[start:stop]), stop - start),
        )
        if not outputs:
            return np.zeros((0, 3, 96, 96), np.float32)
        return np.concatenate(outputs, axis=0)

    __call__ = predict

    def _checked(self, output: np.ndarray, count: int) -> np.ndarray:
        """`output` if it is `count` finite mouth images; else a sentence naming the model, not garbage."""
        expected = (count, *OUTPUT_SHAPE)
        if output.shape != expected:
            shown = "(B," + ",".join(str(d) for d in output.shape[1:]) + ")"
            raise AvatarStudioError(
                f"The model {self.model_path.name!r} returned output of shape {shown} instead of (B,3,96,96); "
                "choose a Wav2Lip model."
            )
        if not np.isfinite(output).all():
            raise AvatarStudioError(
                f"The model {self.model_path.name!r} returned invalid (NaN or infinite) values in {self.precision}; "
                "it is damaged or unsuited to this precision: choose another model or fp32."
            )
        return output

    def __enter__(self) -> InferenceBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
