"""`avatar-studio avatars`: list the avatar library, or rename or delete an avatar.

    avatar-studio avatars [--json]            a table (or JSON for scripts)
    avatar-studio avatars rename OLD NEW
    avatar-studio avatars delete NAME [--yes]

The action is a positional word rather than a nested subcommand so `--library` works anywhere on
the line (argparse lets a nested parser's defaults overwrite options given before it).
Deleting asks for confirmation when stdin is a terminal; without a terminal (scripts, CI) it
refuses unless `--yes` is given, so an unattended command never deletes by surprise.
"""

from __future__ import annotations

import argparse
import json
import sys

from avatar_studio.cli.common import add_common_options
from avatar_studio.errors import AvatarStudioError

ACTIONS = ("list", "rename", "delete")
_ARGUMENTS = {"list": (), "rename": ("OLD", "NEW"), "delete": ("NAME",)}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "avatars",
        help="list, rename or delete prepared avatars",
        description="List the avatar library (default), or rename or delete an avatar.",
        epilog='examples: avatar-studio avatars --json | avatar-studio avatars rename "Anna" "Anna (office)" '
        '| avatar-studio avatars delete "Anna" --yes',
    )
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="what to do (default: list)")
    parser.add_argument("names", nargs="*", metavar="NAME", help="rename: OLD NEW; delete: NAME")
    parser.add_argument("--json", action="store_true", help="list as JSON (for scripts)")
    parser.add_argument("-y", "--yes", action="store_true", help="delete without asking")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.paths import library_dir

    expected = _ARGUMENTS[args.action]
    if len(args.names) != len(expected):
        wanted = " ".join(expected) or "no names"
        raise AvatarStudioError(
            f"`avatars {args.action}` takes {wanted}, got {len(args.names)} name(s); quote names with spaces."
        )
    library = AvatarLibrary(library_dir(args.library))
    if args.action == "rename":
        avatar = library.rename(*args.names)
        print(f"Renamed {args.names[0]!r} to {avatar.name!r}.")
    elif args.action == "delete":
        return _delete(library, args.names[0], args.yes)
    else:
        _list(library, args.json)
    return 0


def _delete(library, name: str, yes: bool) -> int:  # noqa: ANN001 - AvatarLibrary, imported lazily
    avatar = library.get(name)
    if not yes:
        if not sys.stdin.isatty():
            raise AvatarStudioError(
                f"Deleting {avatar.name!r} needs confirmation; pass --yes when not running in a terminal."
            )
        answer = input(f"Delete avatar {avatar.name!r} ({avatar.frame_count} frames, {avatar.folder})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 0
    library.delete(avatar.folder.name)
    print(f"Deleted {avatar.name!r}.")
    return 0


def _list(library, as_json: bool) -> None:  # noqa: ANN001 - AvatarLibrary, imported lazily
    from avatar_studio.avatars.validation import printable

    avatars = library.list()
    for folder, reason in library.skipped:
        print(f"avatar-studio: warning: skipped {printable(folder.name)}: {printable(reason)}", file=sys.stderr)
    if as_json:
        print(json.dumps([_as_record(avatar) for avatar in avatars], indent=2, ensure_ascii=False))
        return
    if not avatars:
        print(f"No avatars in {library.avatars_dir}; add one with `avatar-studio prepare VIDEO --name NAME`.")
        return
    header = ("NAME", "FRAMES", "FPS", "SIZE", "DURATION", "CREATED", "NOTES")
    rows = [
        (printable(a.name), str(a.frame_count), f"{a.fps:g}", f"{a.width}x{a.height}", f"{a.duration_s:.1f} s",
         a.meta.created_at.replace("T", " ")[:16], "; ".join(a.notes))
        for a in avatars
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _as_record(avatar) -> dict[str, object]:  # noqa: ANN001 - Avatar, imported lazily
    meta = avatar.meta
    return {
        "name": avatar.name, "folder": str(avatar.folder), "frames": meta.frame_count, "fps": meta.fps,
        "fps_rational": meta.fps_rational, "fps_choice": meta.fps_choice, "width": meta.width,
        "height": meta.height, "duration_s": meta.duration_s, "created_at": meta.created_at,
        "source_file": meta.source_file, "frames_without_face": meta.frames_without_face,
        "pads": list(meta.pads), "smooth_window": meta.smooth_window, "max_height": meta.max_height,
        "thumbnail": str(avatar.thumbnail_path), "preview": str(avatar.preview_path),
        "landmarks": meta.landmarks, "open_mouth_share": meta.open_mouth_share, "notes": list(avatar.notes),
    }  # fmt: skip
