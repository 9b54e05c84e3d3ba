"""Pieces every subcommand shares: the common options and a tqdm bar fed by engine progress."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from avatar_studio.progress import Progress, ProgressCallback


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """`--library` and `--verbose`, which every subcommand accepts."""
    parser.add_argument(
        "--library", metavar="DIR", default=None,
        help="library folder (default: $AVATAR_STUDIO_HOME, else the user data folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors and every ffmpeg command line")


@contextmanager
def tqdm_progress(unit: str = "frame") -> Iterator[ProgressCallback]:
    """A progress callback that draws one tqdm bar per stage (frames/s and ETA included)."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def on_progress(progress: Progress) -> None:
        bar = bars.get(progress.stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[progress.stage] = tqdm(
                total=progress.total, desc=progress.stage, unit=unit, dynamic_ncols=True,
                disable=None,  # no bars when stderr is not a terminal (scripts, logs)
            )
        bar.total = progress.total
        bar.update(progress.done - bar.n)

    try:
        yield on_progress
    finally:
        for bar in bars.values():
            bar.close()
