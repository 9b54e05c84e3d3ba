"""`avatar-studio models`: list the models folder (lip-sync models and face enhancers), or import a file.

    avatar-studio models [--json]             a table: name, kind, format, precision, size, note
    avatar-studio models import FILE          check FILE (Wav2Lip or face enhancer) and copy it in

The same catalog as the app's Models panel, so both see the same files as the same kind.
"""

from __future__ import annotations

import argparse
import json

from avatar_studio.cli.common import add_common_options

ACTIONS = ("list", "import")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the models folder (lip-sync models and face enhancers) or import a model",
        description="List the models folder (default), or check a Wav2Lip model or face enhancer and copy it in.",
    )
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="what to do (default: list)")
    parser.add_argument("file", nargs="?", metavar="FILE", help="import: the .pth or .onnx file")
    parser.add_argument("--json", action="store_true", help="list as JSON (for scripts)")
    parser.add_argument("--overwrite", action="store_true", help="import: replace a model of the same name")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avatar_studio.errors import AvatarStudioError
    from avatar_studio.model.catalog import import_model, list_models
    from avatar_studio.paths import library_dir, models_dir
    from avatar_studio.settings import EngineSettings

    folder = models_dir(EngineSettings.load(library_dir(args.library)).models_dir or None)
    if args.action == "import":
        if not args.file:
            raise AvatarStudioError("`models import` needs the model file to import, e.g. `models import gfpgan_1.4.onnx`.")
        info = import_model(args.file, folder, overwrite=args.overwrite)
        print(f"Imported {info.name} ({info.kind}{': ' + info.note if info.note else ''}).")
        return 0
    models = list_models(folder)
    if args.json:
        rows = [
            {"name": m.name, "kind": m.kind, "format": m.format, "precision": m.precision,
             "size_bytes": m.size_bytes, "note": m.note, "path": str(m.path)}
            for m in models
        ]  # fmt: skip
        print(json.dumps(rows, indent=2))
        return 0
    if not models:
        print(f"The models folder {folder} is empty.")
    for m in models:
        print(f"{m.name:32} {m.kind:9} {m.format:8} {m.precision:8} {m.size_bytes / 1e6:8.1f} MB  {m.note}".rstrip())
    return 0
