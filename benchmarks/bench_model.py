"""Model-only speed: frames/s of each inference engine on the CPU at several batch sizes.

    .venv/bin/python benchmarks/bench_model.py            # batches 1, 8, 16, 32 (a few minutes on 2 cores)
    .venv/bin/python benchmarks/bench_model.py --quick    # batches 1 and 8, one timed run: a smoke test
    .venv/bin/python benchmarks/bench_model.py --markdown # also print the table for docs/benchmarks.md

Measures the real backends (`TorchBackend`, `OnnxBackend`) through `predict`, so input casting and
copies count, exactly what the renderer pays; face detection, audio and video I/O do not. The weights
are the synthetic ones of the tests (speed does not depend on their values), exported to ONNX with
the project's own verified exporter. Each point: warm-up runs, then timed runs until both a minimum
count and a minimum time are reached; frames/s is samples timed / seconds timed.

Run it on an otherwise idle machine: other processes on the same cores change the numbers a lot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # synthetic_weights lives with the tests

from avatar_studio.model.backends.base import InferenceBackend  # noqa: E402

FULL_BATCHES = (1, 8, 16, 32)
QUICK_BATCHES = (1, 8)


@dataclass(frozen=True)
class Engine:
    """One way of running the model, opened from the files `prepare_models` wrote."""

    label: str
    open: Callable[[dict[str, Path], int, int | None], InferenceBackend]


def _torch(channels_last: bool) -> Callable[[dict[str, Path], int, int | None], InferenceBackend]:
    def open_torch(files: dict[str, Path], batch: int, threads: int | None) -> InferenceBackend:
        from avatar_studio.model.backends.torch_backend import TorchBackend

        return TorchBackend(files["pth"], "cpu", "fp32", batch, channels_last=channels_last)

    return open_torch


def _onnx(precision: str) -> Callable[[dict[str, Path], int, int | None], InferenceBackend]:
    def open_onnx(files: dict[str, Path], batch: int, threads: int | None) -> InferenceBackend:
        from avatar_studio.model.backends.onnx_backend import OnnxBackend

        return OnnxBackend(files[f"onnx_{precision}"], "cpu", "auto", batch, threads=threads)

    return open_onnx


ENGINES = (
    Engine("PyTorch fp32", _torch(channels_last=False)),
    Engine("PyTorch fp32 channels-last", _torch(channels_last=True)),
    Engine("ONNX Runtime fp32", _onnx("fp32")),
    Engine("ONNX Runtime fp16", _onnx("fp16")),
)


@dataclass(frozen=True)
class Measurement:
    engine: str
    batch: int
    frames_per_s: float
    #: Seconds per run: the spread shows how steady the machine was.
    run_times: tuple[float, ...]


def prepare_models(folder: Path) -> dict[str, Path]:
    """A synthetic checkpoint and its verified fp32 and fp16 ONNX exports."""
    from avatar_studio.model.export import export_onnx
    from synthetic_weights import write_checkpoint

    checkpoint = write_checkpoint(folder / "wav2lip_synthetic.pth")
    files = {"pth": checkpoint}
    for precision in ("fp32", "fp16"):
        files[f"onnx_{precision}"] = export_onnx(checkpoint, folder / f"wav2lip_{precision}.onnx", precision).path
    return files


def measure(backend: InferenceBackend, batch: int, warmup: int, min_runs: int, min_seconds: float) -> tuple[float, ...]:
    """Seconds per `predict` of `batch` samples, after `warmup` untimed runs."""
    rng = np.random.default_rng(0)
    mel = rng.uniform(-4, 4, (batch, 1, 80, 16)).astype(np.float32)
    face = rng.uniform(0, 1, (batch, 6, 96, 96)).astype(np.float32)
    for _ in range(warmup):
        backend.predict(mel, face)
    times: list[float] = []
    while len(times) < min_runs or sum(times) < min_seconds:
        started = time.perf_counter()
        backend.predict(mel, face)
        times.append(time.perf_counter() - started)
    return tuple(times)


def run_benchmark(
    batches: Sequence[int] = FULL_BATCHES,
    engines: Sequence[Engine] = ENGINES,
    warmup: int = 1,
    min_runs: int = 3,
    min_seconds: float = 2.0,
    threads: int | None = None,
    report: Callable[[Measurement], None] = lambda m: None,
) -> list[Measurement]:
    """Measure every engine at every batch size; `report` sees each result as it comes."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-model-") as folder:
        files = prepare_models(Path(folder))
        for engine in engines:
            for batch in batches:
                with engine.open(files, batch, threads) as backend:
                    times = measure(backend, batch, warmup, min_runs, min_seconds)
                result = Measurement(engine.label, batch, batch * len(times) / sum(times), times)
                report(result)
                results.append(result)
    return results


def machine_info() -> dict[str, str]:
    """What a reader needs to compare numbers across machines."""
    import onnxruntime
    import torch

    from avatar_studio.model.backends.onnx_backend import cpu_threads

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": f"{cpu_threads() or '?'} physical usable, {os.cpu_count()} logical",
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a",
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": f"{torch.__version__} ({torch.get_num_threads()} threads)",
        "onnxruntime": f"{onnxruntime.__version__} ({', '.join(onnxruntime.get_available_providers())})",
        "numpy": np.__version__,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown_table(results: Sequence[Measurement], batches: Sequence[int]) -> str:
    """Engines as rows, batch sizes as columns, frames/s in the cells, the best one in bold."""
    lines = [
        "| engine | " + " | ".join(f"batch {b}" for b in batches) + " |",
        "|---|" + "---:|" * len(batches),
    ]
    for engine in dict.fromkeys(r.engine for r in results):
        row = {r.batch: r.frames_per_s for r in results if r.engine == engine}
        best = max(row.values())
        cells = [(f"**{row[b]:.1f}**" if row[b] == best else f"{row[b]:.1f}") if b in row else "-" for b in batches]
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="batches 1 and 8, one timed run each (smoke test)")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes to measure (default 1 8 16 32)")
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: physical cores)")
    parser.add_argument("--markdown", action="store_true", help="also print a table for docs/benchmarks.md")
    args = parser.parse_args(argv)
    batches = args.batches or (QUICK_BATCHES if args.quick else FULL_BATCHES)
    timing = {"min_runs": 1, "min_seconds": 0.0} if args.quick else {"min_runs": 3, "min_seconds": 2.0}

    for key, value in machine_info().items():
        print(f"{key:>13}: {value}")
    print(f"{'engine':<28} {'batch':>5} {'frames/s':>9}   seconds per run")

    def report(m: Measurement) -> None:
        spread = ", ".join(f"{t:.3f}" for t in m.run_times)
        median = statistics.median(m.run_times)
        print(f"{m.engine:<28} {m.batch:>5} {m.frames_per_s:>9.1f}   median {median:.3f} ({spread})", flush=True)

    results = run_benchmark(batches, threads=args.threads, report=report, **timing)
    for engine in dict.fromkeys(r.engine for r in results):
        best = max((r for r in results if r.engine == engine), key=lambda r: r.frames_per_s)
        print(f"best {engine}: {best.frames_per_s:.1f} frames/s at batch {best.batch}")
    if args.markdown:
        print()
        print(markdown_table(results, batches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
