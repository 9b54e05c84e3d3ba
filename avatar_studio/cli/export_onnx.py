"""`avatar-studio export-onnx`: a Wav2Lip checkpoint as a verified ONNX model (fp32 or fp16)."""

from __future__ import annotations

import argparse
from pathlib import Path

from avatar_studio.cli.common import add_common_options, tqdm_progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="export a Wav2Lip checkpoint to ONNX (checked against PyTorch before it is kept)",
        description="Export a Wav2Lip checkpoint to ONNX with a dynamic batch axis (inputs mel_batch and "
        "face_batch, output output). The file is run with ONNX Runtime and compared with the PyTorch model; "
        "it is kept only within 1e-4 (fp32) or 2e-2 (fp16). fp16 exports need no GPU.",
    )
    parser.add_argument("model", metavar="MODEL.pth", help="Wav2Lip checkpoint to export: a path or a name in the models folder")
    parser.add_argument(
        "-o", "--output", metavar="OUT.onnx", default=None,
        help="file to write (default: beside the model, MODEL.onnx or MODEL_fp16.onnx)",
    )
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32", help="weights and inputs (default: fp32)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.onnx if it exists")
    add_common_options(parser)
    parser.set_defaults(func=run)


def default_output(model: Path, precision: str) -> Path:
    """`wav2lip_gan.pth` -> `wav2lip_gan.onnx` (fp32) or `wav2lip_gan_fp16.onnx` beside it."""
    return model.with_name(model.stem + ("_fp16" if precision == "fp16" else "") + ".onnx")


def run(args: argparse.Namespace) -> int:
    from avatar_studio.model.catalog import resolve_model
    from avatar_studio.model.export import export_onnx
    from avatar_studio.paths import library_dir, models_dir
    from avatar_studio.settings import EngineSettings

    engine = EngineSettings.load(library_dir(args.library))
    model = resolve_model(args.model, engine, models_dir(engine.models_dir or None))
    output = Path(args.output) if args.output else default_output(model, args.precision)
    with tqdm_progress(unit="step") as progress:
        report = export_onnx(model, output, args.precision, progress=progress, overwrite=args.overwrite)
    size_mb = report.path.stat().st_size / 1e6
    print(
        f"Wrote {report.path} ({report.precision}, {size_mb:.1f} MB) in {report.seconds:.1f} s; "
        f"largest difference from the PyTorch model: {report.max_abs_diff:.2e} (limit {report.tolerance:.0e})."
    )
    return 0
