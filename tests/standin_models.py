"""Tiny stand-ins for Wav2Lip whose output is known, exported as real ONNX files.

No real weights exist offline, and random weights draw noise, so these prove what weights cannot:

* `identity`: returns the reference half of the face input (channels 3-5) unchanged, so a
  correct renderer reproduces the avatar's own frames - wrong paste coordinates, RGB/BGR swaps or
  a shuffled frame order all show up as a low PSNR against the expected frame.
* `tint`: the identity with the red channel raised by `TINT_LEVELS` (clipped), a model whose
  colour is off: colour matching must take the tint out again.
* `loudness`: returns a flat grey image whose brightness is the loudness of the mel window, so
  the mouth region of the output traces the audio and any frame lag between sound and picture
  shows up as a shifted curve.

They use the input and output names of the seed article's export (`mel_batch`, `face_batch`,
`output`) with a dynamic batch axis, and run through the real `OnnxBackend` and render pipeline.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

#: The normalized mel of digital silence is -4 and of a loud tone +4 (see the audio front end).
MEL_FLOOR = -4.0
MEL_RANGE = 8.0


class IdentityStandIn(nn.Module):
    """Output = the unmasked reference crop the renderer gave the model."""

    def forward(self, mel_batch: torch.Tensor, face_batch: torch.Tensor) -> torch.Tensor:
        # The zero-weighted mel term keeps `mel_batch` a real graph input of the export.
        return face_batch[:, 3:6] + 0.0 * mel_batch[:, :, :1, :1]


#: How many levels (of 255) the tint stand-in adds to red.
TINT_LEVELS = 64


class TintStandIn(nn.Module):
    """Output = the reference crop with red (channel 2: the renderer works in BGR) raised by 64 levels."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("tint", torch.tensor([0.0, 0.0, TINT_LEVELS / 255.0]).view(1, 3, 1, 1))

    def forward(self, mel_batch: torch.Tensor, face_batch: torch.Tensor) -> torch.Tensor:
        reference = face_batch[:, 3:6] + 0.0 * mel_batch[:, :, :1, :1]
        return (reference + self.tint).clamp(0.0, 1.0)


class LoudnessStandIn(nn.Module):
    """Output = a flat image of brightness `loudness(mel window)` in [0, 1].

    Loudness of one mel column = its loudest band mapped from [-4, 4] to [0, 1]; of the window =
    the mean over its 16 columns, i.e. roughly the share of the 200 ms that is sound.
    """

    def forward(self, mel_batch: torch.Tensor, face_batch: torch.Tensor) -> torch.Tensor:
        return standin_loudness(mel_batch).view(-1, 1, 1, 1) + 0.0 * face_batch[:, 3:6]


def standin_loudness(mel_batch: torch.Tensor) -> torch.Tensor:
    """(B,1,80,16) normalized mel -> (B,) brightness the loudness stand-in paints."""
    loudest = mel_batch.amax(dim=2)  # (B, 1, 16)
    return ((loudest - MEL_FLOOR) / MEL_RANGE).clamp(0.0, 1.0).mean(dim=(1, 2))


def export_onnx(module: nn.Module, path: Path) -> Path:
    """Export `module` with the seed's input/output names and a dynamic batch axis."""
    mel = torch.zeros(2, 1, 80, 16)
    face = torch.zeros(2, 6, 96, 96)
    torch.onnx.export(
        module.eval(), (mel, face), str(path), dynamo=False,
        input_names=["mel_batch", "face_batch"], output_names=["output"],
        dynamic_axes={"mel_batch": {0: "batch"}, "face_batch": {0: "batch"}, "output": {0: "batch"}},
    )
    return path


def write_identity_model(path: Path) -> Path:
    return export_onnx(IdentityStandIn(), path)


def write_tint_model(path: Path) -> Path:
    return export_onnx(TintStandIn(), path)


def write_loudness_model(path: Path) -> Path:
    return export_onnx(LoudnessStandIn(), path)
