"""Entry point of `avatar-studio`: builds the subcommand parsers and turns errors into one line.

Each subcommand lives in its own module exposing `add_parser(subparsers)`, which registers a parser
whose `func(args) -> int` does the work. Command modules import heavy libraries (torch, Qt) inside
their `func`, so `avatar-studio --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence

from avatar_studio import __version__
from avatar_studio.errors import AvatarStudioError, Cancelled

COMMAND_MODULES = ("info", "export_onnx", "prepare", "avatars", "models", "render", "batch", "gui")

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatar-studio",
        description="Lip-synced talking-avatar videos from one presenter clip and any voice recording.",
    )
    parser.add_argument("--version", action="version", version=f"avatar-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"avatar_studio.cli.{name}").add_parser(subparsers)
    return parser


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (a closed terminal, `kill`, a service manager) stop a command the way
    Ctrl+C does: as KeyboardInterrupt, so every half-written file is removed on the way out."""
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)  # Windows has no SIGHUP
        if number is not None:
            signal.signal(number, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    """`avatar-studio [COMMAND ...]`; with no arguments at all it opens the app, like `gui`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(arguments or ["gui"])
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    if args.verbose:  # debug lines include each ffmpeg command, ready to re-run by hand
        logging.basicConfig(format="avatar-studio: %(name)s: %(message)s")
        logging.getLogger("avatar_studio").setLevel(logging.DEBUG)
    # Only on the real command line (not for a caller passing its own arguments), and not for the
    # GUI, whose Qt event loop would leave a Python handler waiting until the next Python call.
    if argv is None and args.command != "gui":
        _interrupt_on_termination()
    try:
        return int(args.func(args) or 0)
    except Cancelled as error:
        print(f"avatar-studio: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`avatar-studio avatars | head`): not an error.
        # Point stdout at the null device so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("avatar-studio: interrupted; nothing unfinished was kept.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except AvatarStudioError as error:
        if args.verbose:
            traceback.print_exc()
        print(f"avatar-studio: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - last line of defence: one line unless --verbose
        if args.verbose:
            traceback.print_exc()
        print(
            f"avatar-studio: internal error: {type(error).__name__}: {error} (run again with --verbose for details)",
            file=sys.stderr,
        )
        return 1


def gui_main() -> int:
    """The `avatar-studio-gui` launcher (a gui-script: on Windows it opens no console window)."""
    return main(["gui", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
