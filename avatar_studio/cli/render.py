"""`avatar-studio render`: a prepared avatar speaking an audio file, written as MP4, WebM or QuickTime."""

from __future__ import annotations

import argparse
import sys

from avatar_studio.choices import (
    BACKENDS,
    DEFAULT_ENHANCER_BLEND,
    DEFAULT_ENHANCER_REGION,
    DEFAULT_ENHANCER_WEIGHT,
    DEFAULT_MASK,
    DEFAULT_MASK_BLUR,
    DEFAULT_MOUTH_DILATE,
    DEFAULT_SILENCE,
    DEVICES,
    ENCODER_PRESETS,
    ENHANCER_REGIONS,
    LOOP_MODES,
    MASK_KINDS,
    OUTPUT_FORMATS,
    PRECISIONS,
    SILENCE_MODES,
    VIDEO_ENCODERS,
)
from avatar_studio.cli.common import add_common_options, tqdm_progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render a lip-synced video of an avatar speaking an audio file",
        description="Render a prepared avatar lip-synced to an audio file. The output's suffix picks the format: "
        + "; ".join(f"{suffix} {what}" for suffix, what in OUTPUT_FORMATS.items())
        + ". Model, backend and encoder options default to the library's settings.",
    )
    parser.add_argument("--avatar", required=True, metavar="NAME", help="a prepared avatar's name")
    parser.add_argument("--audio", required=True, metavar="FILE", help="speech to lip-sync (any audio ffmpeg reads)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="video file to write: .mp4/.m4v/.mkv, or .webm/.mov to keep transparency")
    parser.add_argument(
        "--model", metavar="PATH", default=None,
        help="Wav2Lip checkpoint (.pth) or ONNX export (default: the configured model, else the only one in the models folder)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default=None, help="inference engine (default: settings, else auto)")
    parser.add_argument("--device", choices=DEVICES, default=None, help="where the model runs (default: settings, else auto)")
    parser.add_argument("--precision", choices=PRECISIONS, default=None, help="fp16 needs a GPU (default: settings, else auto)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N", help="frames per model call (default: settings)")
    parser.add_argument("--loop", choices=LOOP_MODES, default="pingpong", help="how the avatar's frames repeat (default: pingpong)")
    parser.add_argument("--crf", type=int, default=None, metavar="N", help="quality 0-51, lower is better, the same scale for every encoder (default: settings, 18)")
    parser.add_argument("--preset", choices=ENCODER_PRESETS, default=None, help="encoder speed/size trade-off, x264 names mapped to each encoder (default: settings)")
    parser.add_argument(
        "--encoder", choices=VIDEO_ENCODERS, default=None,
        help="H.264/H.265 encoder for .mp4/.m4v/.mkv; auto takes a hardware one that starts here, else libx264 "
        "(default: settings, else auto; `avatar-studio info` lists the usable ones)",
    )
    parser.add_argument("--seconds", type=float, default=None, metavar="S", help="render only the first S seconds (a preview)")
    parser.add_argument("--feather", type=float, default=None, metavar="F", help="soft mask edge as a fraction of the face box")
    quality = parser.add_argument_group("mouth quality")
    quality.add_argument(
        # No argparse `choices`: a bad value then gets the engine's one-line error naming the valid ones.
        "--mask", default=DEFAULT_MASK, metavar="|".join(MASK_KINDS),
        help="where the new mouth is blended in: the face below the nose (lower-face), the lips only "
        f"(mouth), or the old feathered box (box); avatars without face-mesh landmarks use box (default: {DEFAULT_MASK})",
    )
    quality.add_argument(
        "--mask-blur", type=float, default=DEFAULT_MASK_BLUR, metavar="F",
        help=f"soft edge of the lower-face and mouth masks as a fraction of the face size (default: {DEFAULT_MASK_BLUR:g})",
    )
    quality.add_argument(
        "--mouth-dilate", type=float, default=DEFAULT_MOUTH_DILATE, metavar="F",
        help=f"how far the mouth mask reaches beyond the lips, fraction of the face size (default: {DEFAULT_MOUTH_DILATE:g})",
    )
    quality.add_argument(
        "--color-match", action=argparse.BooleanOptionalAction, default=True,
        help="match the new mouth's colour to the face around it (default: on)",
    )
    quality.add_argument(
        "--silence", default=DEFAULT_SILENCE, metavar="|".join(SILENCE_MODES),
        help=f"silent stretches: keep lip-syncing, or show the avatar's own frames (original) (default: {DEFAULT_SILENCE})",
    )
    quality.add_argument(
        "--enhancer", metavar="MODEL", default=None,
        help="face-restoration ONNX model (GFPGAN, CodeFormer, GPEN-BFR, RestoreFormer++) run after the lip sync",
    )
    quality.add_argument(
        "--enhancer-blend", type=float, default=DEFAULT_ENHANCER_BLEND, metavar="0..1",
        help=f"share of the restored face (default: {DEFAULT_ENHANCER_BLEND})",
    )
    quality.add_argument(
        "--enhancer-region", default=DEFAULT_ENHANCER_REGION, metavar="|".join(ENHANCER_REGIONS),
        help="restore only where the lip sync drew (mouth) or the whole face (default: %(default)s)",
    )
    quality.add_argument(
        "--enhancer-weight", type=float, default=DEFAULT_ENHANCER_WEIGHT, metavar="0..1",
        help=f"CodeFormer's fidelity: 0 restores most, 1 keeps closest to the input (default: {DEFAULT_ENHANCER_WEIGHT})",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.mp4 if it exists")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from avatar_studio.paths import library_dir
    from avatar_studio.render.request import RenderRequest, run_render_request
    from avatar_studio.render.settings import RenderSettings
    from avatar_studio.settings import EngineSettings

    library = library_dir(args.library)
    engine = EngineSettings.load(library)
    request = RenderRequest(
        avatar=args.avatar,
        audio=Path(args.audio),
        output=Path(args.output),
        settings=RenderSettings(
            loop=args.loop,
            crf=engine.crf if args.crf is None else args.crf,
            preset=engine.preset if args.preset is None else args.preset,
            encoder=engine.encoder if args.encoder is None else args.encoder,
            seconds=args.seconds,
            overwrite=args.overwrite,
            **({} if args.feather is None else {"feather": args.feather}),
            mask=args.mask,
            mask_blur=args.mask_blur,
            mouth_dilate=args.mouth_dilate,
            color_match=args.color_match,
            silence=args.silence,
            enhancer=args.enhancer,
            enhancer_region=args.enhancer_region,
            enhancer_blend=args.enhancer_blend,
            enhancer_weight=args.enhancer_weight,
        ),
        model=args.model,
        backend=args.backend,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
    )
    with tqdm_progress() as on_progress:
        result = run_render_request(
            request, library, progress=on_progress, on_notice=_print_notice, on_backend_ready=print
        )
    print(
        f"Wrote {result.output} ({result.frame_count} frames, {result.duration_s:.2f} s) "
        f"in {result.elapsed_s:.1f} s ({result.frames_per_second:.1f} frames/s, {result.video_codec})."
    )
    return 0


def _print_notice(message: str) -> None:
    print(f"avatar-studio: {message}", file=sys.stderr)
