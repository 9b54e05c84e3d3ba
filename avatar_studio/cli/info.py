"""`avatar-studio info`: versions, devices, ONNX Runtime providers and folders, for bug reports."""

from __future__ import annotations

import argparse

from avatar_studio.cli.common import add_common_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="show versions, torch devices, ONNX Runtime providers and the library and models folders",
        description="Show what this installation can run on. ONNX Runtime providers are started once on a "
        "tiny model, so a GPU provider listed as usable really runs here.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from avatar_studio.system_info import collect_system_info

    info = collect_system_info(args.library)
    print(json.dumps(info.as_dict(), indent=2) if args.json else "\n".join(info.lines()))
    return 0
