"""`avatar-studio prepare SOURCE --name NAME`: add a video or a still image to the avatar library."""

from __future__ import annotations

import argparse

from avatar_studio.choices import MAX_FACELESS_SHARE
from avatar_studio.cli.common import add_common_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="add a video or still image to the avatar library",
        description="Detect the face in every frame of SOURCE (a video or a JPEG/PNG/WebP picture) and "
        "store it as an avatar for rendering.",
    )
    parser.add_argument("source", metavar="SOURCE", help="video (mp4, mov, mkv, webm, avi) or image (jpg, png, webp)")
    parser.add_argument("--name", required=True, help="display name of the avatar (any text)")
    parser.add_argument(
        "--fps", type=float, default=None,
        help="frame rate to store (default: the video's own rate; variable-rate video is normalised; images: 25)",
    )
    parser.add_argument(
        "--pads", type=float, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"), default=None,
        help="margins around the detected face as fractions of its size (default: 0 0.2 0 0, keeps the chin in)",
    )
    parser.add_argument(
        "--smooth", type=int, default=None, metavar="N",
        help="average face boxes over N frames (default: 5; 0 turns smoothing off)",
    )
    parser.add_argument(
        "--max-height", type=int, default=None, metavar="H",
        help="downscale taller footage to H lines (default: 1080; 0 keeps the full size)",
    )
    parser.add_argument(
        "--allow-missing-faces", action="store_true",
        help=f"accept a clip where over {MAX_FACELESS_SHARE:.0%}% of the frames show no face "
        "(they get the nearest face's box)",
    )
    parser.add_argument("--replace", action="store_true", help="replace an existing avatar of the same name")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.avatars.prepare import PrepareSettings
    from avatar_studio.cli.common import tqdm_progress
    from avatar_studio.faces.boxes import Pads
    from avatar_studio.paths import library_dir

    defaults = PrepareSettings()
    settings = PrepareSettings(
        fps=args.fps,
        pads=Pads(*args.pads) if args.pads else defaults.pads,
        smooth_window=defaults.smooth_window if args.smooth is None else args.smooth,
        max_height=defaults.max_height if args.max_height is None else (args.max_height or None),
        allow_missing_faces=args.allow_missing_faces,
    )
    library = AvatarLibrary(library_dir(args.library))
    with tqdm_progress() as progress:
        avatar = library.prepare(args.source, args.name, settings, progress=progress, replace=args.replace)
    meta = avatar.meta
    print(
        f"Prepared {avatar.name!r}: {meta.frame_count} frames, {meta.width}x{meta.height}, "
        f"{meta.fps:g} fps ({meta.fps_choice}), {meta.duration_s:.1f} s; "
        f"{meta.frames_without_face} frames without a detected face were filled. Stored in {avatar.folder}"
    )
    return 0
