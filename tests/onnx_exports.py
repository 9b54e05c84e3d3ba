"""ONNX files for the backend tests, made inside the test session.

The full Wav2Lip export (synthetic weights) proves numerical agreement; it takes seconds, so each
precision is exported once per session and shared. Where only the input/output plumbing matters
(names, order, a fixed batch axis), a tiny module with Wav2Lip's shapes exports in milliseconds.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from avatar_studio.model.wav2lip import Wav2Lip
from synthetic_weights import synthetic_torch_state_dict


class ShapeTwin(nn.Module):
    """Wav2Lip's inputs and output shapes with a cheap body whose output depends on both inputs,
    so feeding the audio and face the wrong way round gives a different answer, not just a crash."""

    def __init__(self, face_first: bool = False) -> None:
        super().__init__()
        self.face_first = face_first
        self.mix = nn.Conv2d(6, 3, 1)
        self.audio = nn.Linear(80 * 16, 3)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        mel, face = (second, first) if self.face_first else (first, second)
        audio = self.audio(mel.flatten(1)).view(-1, 3, 1, 1)
        return torch.sigmoid(self.mix(face) + audio)

    def reference(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """The output for named inputs, whatever the export's order."""
        with torch.inference_mode():
            return self(face, mel) if self.face_first else self(mel, face)


def export(
    module: nn.Module,
    path: Path,
    input_names: tuple[str, str],
    output_name: str = "output",
    *,
    face_first: bool = False,
    fixed_batch: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Export `module` the way the various public converters do: any names, either input order,
    a dynamic or a fixed batch axis, fp32 or fp16."""
    batch = fixed_batch or 2
    mel = torch.rand(batch, 1, 80, 16, dtype=dtype)
    face = torch.rand(batch, 6, 96, 96, dtype=dtype)
    args = (face, mel) if face_first else (mel, face)
    dynamic = None if fixed_batch else {name: {0: "batch"} for name in (*input_names, output_name)}
    torch.onnx.export(
        module.eval(), args, str(path), dynamo=False,
        input_names=list(input_names), output_names=[output_name], dynamic_axes=dynamic,
    )
    return path


@functools.cache
def synthetic_wav2lip() -> Wav2Lip:
    model = Wav2Lip().eval()
    model.load_state_dict(synthetic_torch_state_dict())
    return model


@functools.cache
def synthetic_wav2lip_onnx(folder: Path, precision: str = "fp32") -> Path:
    """The synthetic-weights Wav2Lip exported with the seed article's names, once per session folder."""
    fp32 = export(synthetic_wav2lip(), folder / "wav2lip_synthetic_fp32.onnx", ("mel_batch", "face_batch"))
    return fp32 if precision == "fp32" else convert_to_fp16(fp32, folder / "wav2lip_synthetic_fp16.onnx")


def convert_to_fp16(source: Path, target: Path) -> Path:
    """Rewrite an fp32 graph as fp16 (weights, inputs, output), as the float16 converters do.

    Cheaper than exporting a half-precision torch model, whose forward pass (run while tracing)
    is very slow on the CPU.
    """
    model = onnx.load(str(source))
    for tensor in model.graph.initializer:
        if tensor.data_type == onnx.TensorProto.FLOAT:
            tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), tensor.name))
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT16
    del model.graph.value_info[:]
    onnx.save(model, str(target))
    return target
