"""Export a Wav2Lip checkpoint to ONNX and prove the file computes what the checkpoint does.

The ONNX file is what people carry to other machines (other GPUs, DirectML, CoreML), so it is
verified before it is kept: ONNX Runtime on the CPU runs it on random inputs at a batch size other
than the one traced (which also proves the batch axis is dynamic), and its output is compared with
the float32 PyTorch model. The file appears under its final name only after that check passes.

fp16 exports are traced from a half-precision copy of the model on the CPU (torch 2.13 runs fp16
convolutions there, slowly), so they need no GPU.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avatar_studio.atomic_files import atomic_output
from avatar_studio.choices import EXPORT_PRECISIONS, MODEL_SUFFIXES_ONNX, ExportPrecision, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.temp_files import remove_dead_partials
from avatar_studio.model.checkpoint import load_wav2lip
from avatar_studio.model.shapes import FACE_SHAPE, MEL_SHAPE
from avatar_studio.progress import CancelToken, ProgressCallback, ProgressReporter

#: Largest allowed |ONNX - PyTorch fp32| per precision (outputs are in [0, 1]).
TOLERANCE: dict[ExportPrecision, float] = {"fp32": 1e-4, "fp16": 2e-2}
INPUT_NAMES = ("mel_batch", "face_batch")
OUTPUT_NAME = "output"
#: Old enough for every ONNX Runtime build still in use (DirectML and CoreML lag behind).
OPSET = 17
TRACE_BATCH = 1
VERIFY_BATCH = 3
_STEPS = ("load", "reference", "export", "verify")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass(frozen=True)
class ExportReport:
    """What was written and how closely it matches the PyTorch model."""

    path: Path
    precision: ExportPrecision
    max_abs_diff: float
    seconds: float

    @property
    def tolerance(self) -> float:
        return TOLERANCE[self.precision]


def export_onnx(
    model_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    precision: ExportPrecision = "fp32",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Write `model_path` (a Wav2Lip checkpoint) as a verified ONNX model at `output`."""
    started = time.perf_counter()
    output = Path(output)
    if Path(model_path).suffix.lower() in MODEL_SUFFIXES_ONNX:
        raise AvatarStudioError(
            f"{Path(model_path).name!r} is already an ONNX model; export from the .pth checkpoint it was made from."
        )
    check_choice("export precision", precision, EXPORT_PRECISIONS)
    _check_output(output, overwrite)
    steps = ProgressReporter("Exporting to ONNX", len(_STEPS), progress, cancel)
    steps.check_cancelled()

    model = load_wav2lip(model_path)
    steps.advance()
    mel, face = _random_inputs(VERIFY_BATCH)
    with torch.inference_mode():
        expected = model(torch.from_numpy(mel), torch.from_numpy(face)).numpy()
    steps.advance()

    # Beside the output (atomic_output), named after this process so the next export into the
    # folder removes it if we are killed; hidden, so no catalog lists it.
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_partials(output.parent)
        with atomic_output(output) as temp:
            _trace_to_onnx(model, _DTYPES[precision], temp)
            del model
            steps.advance()
            max_abs_diff = _max_difference(temp, mel, face, expected)
            if not max_abs_diff <= TOLERANCE[precision]:  # also catches NaN
                raise AvatarStudioError(
                    f"The {precision} ONNX export of {Path(model_path).name!r} differs from the PyTorch model by "
                    f"{max_abs_diff:.3g} (more than {TOLERANCE[precision]:g}), so it was not kept; "
                    + ("try fp32 instead." if precision == "fp16" else "please report the problem.")
                )
            steps.advance()
            _check_output(output, overwrite)  # again: the file may have appeared while we were exporting
    except OSError as error:
        raise AvatarStudioError(
            f"Could not write {str(output)!r} ({error.strerror or error}); choose a folder you can write to "
            "with enough free space."
        ) from None
    return ExportReport(output, precision, max_abs_diff, time.perf_counter() - started)


def _check_output(output: Path, overwrite: bool) -> None:
    if output.suffix.lower() != ".onnx":
        raise AvatarStudioError(f"The export file name {output.name!r} must end in .onnx; choose a name like model.onnx.")
    if output.is_dir():
        raise AvatarStudioError(f"{str(output)!r} is a folder; give the export a file name ending in .onnx.")
    if output.exists() and not overwrite:
        raise AvatarStudioError(
            f"{str(output)!r} already exists; choose another name or allow replacing it (--overwrite)."
        )


def _random_inputs(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs spanning the real ranges: normalised mel in [-4, 4], face pixels in [0, 1]."""
    rng = np.random.default_rng(0)
    mel = rng.uniform(-4.0, 4.0, (batch, *MEL_SHAPE)).astype(np.float32)
    face = rng.uniform(0.0, 1.0, (batch, *FACE_SHAPE)).astype(np.float32)
    return mel, face


def _trace_to_onnx(model: torch.nn.Module, dtype: torch.dtype, path: Path) -> None:
    """TorchScript-trace export (no onnxscript needed) with the batch axis of every tensor dynamic."""
    model = model.to(dtype)
    example = (torch.zeros(TRACE_BATCH, *MEL_SHAPE, dtype=dtype), torch.zeros(TRACE_BATCH, *FACE_SHAPE, dtype=dtype))
    with warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice, not the user's concern
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: {0: "batch"} for name in (*INPUT_NAMES, OUTPUT_NAME)},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _max_difference(path: Path, mel: np.ndarray, face: np.ndarray, expected: np.ndarray) -> float:
    """Run the written file with ONNX Runtime on the CPU; largest |difference| from `expected`."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {}
        for node in session.get_inputs():
            dtype = np.float16 if node.type == "tensor(float16)" else np.float32
            feed[node.name] = (mel if node.name == INPUT_NAMES[0] else face).astype(dtype)
        (actual,) = session.run([OUTPUT_NAME], feed)
    except Exception as error:  # noqa: BLE001 - any runtime failure means the export is unusable
        raise AvatarStudioError(
            f"ONNX Runtime could not run the exported model ({type(error).__name__}: {str(error).splitlines()[0]}), "
            "so it was not kept; export in fp32 or report the problem."
        ) from None
    if actual.shape != expected.shape:
        raise AvatarStudioError(
            f"The exported model returned shape {actual.shape} instead of {expected.shape}, so it was not kept; "
            "report the problem."
        )
    return float(np.abs(actual.astype(np.float32) - expected).max())
