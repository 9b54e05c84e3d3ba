"""`avatar-studio gui`: open the desktop app (what `make run` calls)."""

from __future__ import annotations

import argparse
from pathlib import Path

from avatar_studio.cli.common import add_common_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui", help="open the desktop app (also what a bare `avatar-studio` does)",
        description="Open the desktop app. Its messages go to logs/avatar-studio.log in the library; "
                    "--verbose shows them on the console as well.")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avatar_studio.gui.app import run as run_app

    return run_app(Path(args.library) if args.library else None, verbose=args.verbose)
