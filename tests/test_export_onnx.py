"""`avatar-studio export-onnx`: verified fp32/fp16 exports with a dynamic batch axis, written safely."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from avatar_studio.cli.export_onnx import default_output
from avatar_studio.cli.main import main
from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.model import export
from avatar_studio.progress import CancelToken


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def run_cli(*argv: str) -> CliRun:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv))
    return CliRun(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def exports(synthetic_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, CliRun]]:
    """One fp32 and one fp16 export per test session (each takes seconds); fp16 replaces an old file."""
    folder = tmp_path_factory.mktemp("exports")
    fp32 = folder / "wav2lip.onnx"
    fp16 = folder / "wav2lip_fp16.onnx"
    fp16.write_bytes(b"an older export")
    with pytest.MonkeyPatch.context() as patch:  # session fixtures run before the per-test isolated_home
        patch.setenv("AVATAR_STUDIO_HOME", str(folder / "library"))
        patch.setenv("AVATAR_STUDIO_MODELS", str(folder / "models"))
        return {
            "fp32": (fp32, run_cli("export-onnx", str(synthetic_checkpoint), "-o", str(fp32))),
            "fp16": (
                fp16,
                run_cli("export-onnx", str(synthetic_checkpoint), "-o", str(fp16), "--precision", "fp16", "--overwrite"),
            ),
        }


def reported_difference(stdout: str) -> tuple[float, float]:
    match = re.search(r"largest difference from the PyTorch model: (\S+) \(limit (\S+)\)\.", stdout)
    assert match, stdout
    return float(match[1]), float(match[2])


@pytest.mark.parametrize("precision, element_type, tolerance", [("fp32", "float", 1e-4), ("fp16", "float16", 2e-2)])
def test_export_runs_batch_1_and_3_like_pytorch(
    exports: dict, reference_forward: dict, precision: str, element_type: str, tolerance: float
) -> None:
    path, run = exports[precision]
    assert run.code == 0, run.stderr
    difference, limit = reported_difference(run.stdout)
    assert 0 <= difference <= limit == tolerance
    assert f"Wrote {path} ({precision}," in run.stdout

    graph = onnx.load(str(path)).graph
    declared = {v.name: (v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
                for v in [*graph.input, *graph.output]}
    elem = getattr(onnx.TensorProto, element_type.upper())
    assert declared == {
        "mel_batch": (elem, ["batch", 1, 80, 16]),
        "face_batch": (elem, ["batch", 6, 96, 96]),
        "output": (elem, ["batch", 3, 96, 96]),
    }

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    dtype = np.float16 if precision == "fp16" else np.float32
    for count in (1, 3):
        (output,) = session.run(
            ["output"],
            {"mel_batch": reference_forward["mel"][:count].astype(dtype), "face_batch": reference_forward["face"][:count].astype(dtype)},
        )
        assert output.shape == (count, 3, 96, 96) and output.dtype == dtype
        assert np.abs(output.astype(np.float32) - reference_forward["output"][:count]).max() < tolerance


def test_existing_output_is_refused_and_left_alone(exports: dict, synthetic_checkpoint: Path) -> None:
    path, _ = exports["fp32"]
    before = path.read_bytes()
    run = run_cli("export-onnx", str(synthetic_checkpoint), "-o", str(path))
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines()[-1] == (
        f"avatar-studio: error: '{path}' already exists; choose another name or allow replacing it (--overwrite)."
    )
    assert path.read_bytes() == before


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder of its own (tmp_path also holds the isolated library and models folders)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_failed_verification_keeps_nothing(
    synthetic_checkpoint: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exporter that writes a subtly different network (one bias off by 0.5) must be caught."""
    real_trace = export._trace_to_onnx

    def faulty_trace(model, dtype, path):
        model.output_block[1].bias.data += 0.5
        real_trace(model, dtype, path)

    monkeypatch.setattr(export, "_trace_to_onnx", faulty_trace)
    target = out_dir / "broken.onnx"
    run = run_cli("export-onnx", str(synthetic_checkpoint), "-o", str(target))
    assert run.code == 2
    message = run.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"avatar-studio: error: The fp32 ONNX export of 'wav2lip_synthetic.pth' differs from the PyTorch model by "
        r"0\.\d+ \(more than 0\.0001\), so it was not kept; please report the problem\.",
        message,
    ), message
    assert list(out_dir.iterdir()) == []


def test_cancel_leaves_nothing(synthetic_checkpoint: Path, out_dir: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        export.export_onnx(synthetic_checkpoint, out_dir / "a.onnx", cancel=token)

    token = CancelToken()
    stages: list[int] = []

    def cancel_after_loading(progress) -> None:
        stages.append(progress.done)
        token.cancel()

    with pytest.raises(Cancelled):
        export.export_onnx(synthetic_checkpoint, out_dir / "b.onnx", progress=cancel_after_loading, cancel=token)
    assert stages == [1]
    assert list(out_dir.iterdir()) == []


def test_bad_requests_are_one_sentence(synthetic_checkpoint: Path, out_dir: Path) -> None:
    with pytest.raises(AvatarStudioError, match=r"must end in \.onnx"):
        export.export_onnx(synthetic_checkpoint, out_dir / "model.pth")
    onnx_model = out_dir / "model.onnx"
    onnx_model.write_bytes(b"onnx")
    with pytest.raises(AvatarStudioError, match="is already an ONNX model"):
        export.export_onnx(onnx_model, out_dir / "again.onnx")
    with pytest.raises(AvatarStudioError, match="Unknown export precision 'int8'"):
        export.export_onnx(synthetic_checkpoint, out_dir / "q.onnx", precision="int8")  # type: ignore[arg-type]
    garbage = out_dir / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    run = run_cli("export-onnx", str(garbage), "-o", str(out_dir / "garbage.onnx"))
    assert run.code == 2 and "'garbage.pth' is not a readable PyTorch checkpoint" in run.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["garbage.pth", "model.onnx"]


def test_unwritable_destination_is_one_sentence(synthetic_checkpoint: Path, out_dir: Path) -> None:
    blocker = out_dir / "not-a-folder"
    blocker.write_bytes(b"a file where the export's folder should be")
    with pytest.raises(AvatarStudioError, match=r"^Could not write '.*not-a-folder/model\.onnx' \("):
        export.export_onnx(synthetic_checkpoint, blocker / "model.onnx")


def test_default_output_sits_beside_the_model() -> None:
    assert default_output(Path("models/wav2lip_gan.pth"), "fp32") == Path("models/wav2lip_gan.onnx")
    assert default_output(Path("models/wav2lip_gan.pth"), "fp16") == Path("models/wav2lip_gan_fp16.onnx")
