"""`avatar-studio batch MANIFEST`: render every row of a CSV/JSON manifest, here or on a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from avatar_studio.cli.common import add_common_options

if TYPE_CHECKING:
    from avatar_studio.batch.progress import BatchProgressCallback
    from avatar_studio.batch.run import BatchSummary

EXIT_ROWS_FAILED = 1
EXIT_CANCELLED = 130


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="render every row of a CSV or JSON manifest",
        description="Render one video per manifest row (columns: avatar, audio, optional output and any render "
        "setting by its option name, e.g. crf, preset, loop, seconds). The whole manifest is checked first; "
        "rows finished by an earlier run are skipped, so an interrupted batch resumes.",
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="a .csv file with a header row or a .json list of objects")
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N",
        help="rows rendered at once (default: 1 here; with --ray, as many as the cluster fits)",
    )
    parser.add_argument(
        "--ray", metavar="ADDRESS", default=None,
        help='render on a Ray cluster: its address (e.g. 10.0.0.5:6379 or "auto"), or "local" to start one '
        'on this machine (needs pip install "avatar-studio[cluster]")',
    )
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that exist (not those this batch finished)")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from avatar_studio.batch.check import ManifestProblems, check_manifest
    from avatar_studio.batch.manifest import read_manifest
    from avatar_studio.batch.run import LocalExecutor, RowExecutor, queue_plan, run_batch
    from avatar_studio.cli.common import tqdm_progress
    from avatar_studio.jobs.store import JobStore
    from avatar_studio.paths import library_dir

    executor: RowExecutor
    cluster: AbstractContextManager[object] = nullcontext()
    if args.ray is not None:
        from avatar_studio.batch.ray_runner import RayExecutor, require_ray

        require_ray()  # before checking anything: say what to install first
        executor = cluster = RayExecutor(args.ray, max_in_flight=args.jobs)
    else:
        executor = LocalExecutor(args.jobs or 1)
    library = library_dir(args.library)
    manifest = read_manifest(args.manifest)
    with JobStore.for_library(library) as store:
        try:
            plan = check_manifest(manifest, library, store, overwrite=args.overwrite)
        except ManifestProblems as problems:
            print(f"avatar-studio: error: {problems}", file=sys.stderr)
            return 2
        skipped = len(plan.rows) - len(plan.to_render)
        print(f"Batch {plan.group!r}: {len(plan.rows)} rows, {skipped} finished before, "
              f"{len(plan.to_render)} to render.")  # fmt: skip
        with tqdm_progress() as on_prepare:
            queued = queue_plan(plan, store, library, progress=on_prepare)
        with cluster, _batch_bars() as on_progress:
            summary = run_batch(plan, queued, store, library, executor, progress=on_progress)
    _print_summary(summary)
    if summary.count("cancelled"):
        return EXIT_CANCELLED
    return 0 if summary.succeeded else EXIT_ROWS_FAILED


@contextmanager
def _batch_bars() -> Iterator[BatchProgressCallback]:
    """Two tqdm bars: the whole batch in frames (rows done/failed beside it) and the latest row."""
    from tqdm import tqdm

    from avatar_studio.batch.progress import BatchProgress

    total = tqdm(desc="batch", unit="frame", dynamic_ncols=True, position=0, disable=None)
    row = tqdm(desc="row", unit="frame", dynamic_ncols=True, position=1, leave=False, disable=None)
    shown_row: list[int | None] = [None]

    def on_progress(progress: BatchProgress) -> None:
        total.total = progress.frames_total
        total.update(progress.frames_done - total.n)
        total.set_postfix_str(f"rows {progress.rows_done}/{progress.rows_total} done, {progress.rows_failed} failed")
        if progress.row is not None and progress.row_progress is not None:
            if progress.row != shown_row[0]:
                shown_row[0] = progress.row
                row.reset(total=progress.row_progress.total)
                row.set_description_str(f"row {progress.row}")
            row.update(progress.row_progress.done - row.n)

    try:
        yield on_progress
    finally:
        row.close()
        total.close()


def _print_summary(summary: BatchSummary) -> None:
    width = max((len(outcome.state) for outcome in summary.outcomes), default=0)
    for outcome in summary.outcomes:
        detail = f": {outcome.message}" if outcome.message else ""
        print(f"row {outcome.number:>4}  {outcome.state:<{width}}  {outcome.output}{detail}")
    print(
        f"{summary.count('done')} rendered, {summary.count('skipped')} skipped, {summary.count('failed')} failed, "
        f"{summary.count('cancelled')} cancelled."
    )
