"""A model that returns NaN or the wrong shape fails the render with a sentence naming it (exit 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from avatar_studio.cli.main import main
from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.backends.base import InferenceBackend
from render_media import write_beeps

pytestmark = pytest.mark.slow


class NanStandIn(nn.Module):
    def forward(self, mel_batch: torch.Tensor, face_batch: torch.Tensor) -> torch.Tensor:
        return face_batch[:, 3:6] * float("nan") + 0.0 * mel_batch[:, :, :1, :1]


class SmallOutputStandIn(nn.Module):
    def forward(self, mel_batch: torch.Tensor, face_batch: torch.Tensor) -> torch.Tensor:
        return face_batch[:, 3:6, :32, :32] + 0.0 * mel_batch[:, :, :1, :1]


def _export(module: nn.Module, path: Path) -> Path:
    torch.onnx.export(
        module.eval(), (torch.zeros(2, 1, 80, 16), torch.zeros(2, 6, 96, 96)), str(path), dynamo=False,
        input_names=["mel_batch", "face_batch"], output_names=["output"],
        dynamic_axes={"mel_batch": {0: "batch"}, "face_batch": {0: "batch"}, "output": {0: "batch"}},
    )  # fmt: skip
    return path


def _render(render_library: Path, model: Path, tmp_path: Path) -> int:
    beeps = write_beeps(tmp_path / "beeps.wav", seconds=0.4)
    return main([
        "render", "--library", str(render_library), "--avatar", "still", "--audio", str(beeps),
        "-o", str(tmp_path / "out" / "video.mp4"), "--model", str(model), "--preset", "ultrafast",
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("module", "words"),
    [
        (NanStandIn(), "returned invalid (NaN or infinite) values"),
        (SmallOutputStandIn(), "its output is (B,3,32,32), not (B,3,96,96)"),
    ],
    ids=["nan", "small-output"],
)
def test_bad_model_output_fails_the_render_naming_the_model(
    render_avatar, render_library: Path, tmp_path: Path, capsys, module: nn.Module, words: str
) -> None:
    render_avatar("still")
    (tmp_path / "out").mkdir()
    model = _export(module, tmp_path / "odd.onnx")
    assert _render(render_library, model, tmp_path) == 2
    err = capsys.readouterr().err
    assert words in err and "odd.onnx" in err and "internal error" not in err, err
    assert list((tmp_path / "out").iterdir()) == []


class _SmallOutputBackend(InferenceBackend):
    """A backend whose model declares nothing about its output and returns 32x32 images (as a
    converter that drops output shapes would let through the load-time check)."""

    engine_name = "stand-in"
    model_path = Path("undeclared.onnx")
    device_label = "cpu"
    precision = "fp32"

    def _is_out_of_memory(self, error: BaseException) -> bool:
        return False

    def _run_chunk(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        return face[:, 3:6, :32, :32]


def test_an_undeclared_wrong_output_shape_is_caught_on_the_first_batch() -> None:
    backend = _SmallOutputBackend(batch_size=4)
    with pytest.raises(AvatarStudioError, match=r"'undeclared.onnx' returned output of shape \(B,3,32,32\)"):
        backend.predict(np.zeros((3, 1, 80, 16), np.float32), np.zeros((3, 6, 96, 96), np.float32))
