"""Start-up: process start to the first frame handed to the encoder, for an ONNX model (target < 2 s),
and how long `avatar-studio --help` and `info` take.

Each command runs as a user runs it: a fresh `python -m avatar_studio` process. For the render the
child notes the moment its first "Rendering" progress report arrives (sent right after frame 1
was piped into ffmpeg) and its own CPU time so far; the clock starts just before the parent
spawns it. CPU seconds are printed beside wall seconds because the machine is shared: the CPU
figure is what the start-up costs, the wall figure what a user waited under this load.

As installed, Python's bytecode is compiled once (pip does it at install time); a checkout run with
PYTHONDONTWRITEBYTECODE=1 recompiles every module at every start (~1 s of CPU here). So the
children keep their bytecode in a temporary PYTHONPYCACHEPREFIX and one unmeasured run goes first.

    .venv/bin/python benchmarks/bench_startup.py [--max-height 1080] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_render import AVATAR_CLIP, make_models, make_speech

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import PrepareSettings

TARGET_S = 2.0
PYCACHE = tempfile.mkdtemp(prefix="bench startup pycache ")
#: Run in the child: report the first rendered frame, then run the CLI as usual.
_CHILD = """
import os, resource, sys, time
from contextlib import contextmanager
import avatar_studio.cli.common as common

plain = common.tqdm_progress

@contextmanager
def first_frame_noted(unit="frame"):
    with plain(unit) as forward:
        def on_progress(progress):
            if progress.stage == "Rendering" and progress.done >= 1 and not os.environ.get("_NOTED"):
                os.environ["_NOTED"] = "1"
                usage = resource.getrusage(resource.RUSAGE_SELF)
                wall = time.time() - float(os.environ["BENCH_T0"])
                print(f"FIRST-FRAME {wall:.3f} {usage.ru_utime + usage.ru_stime:.3f}", file=sys.stderr)
            forward(progress)
        yield on_progress

common.tqdm_progress = first_frame_noted
from avatar_studio.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_command(argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (the process and its children) of `argv`, and its stderr."""
    cpu, started = children_cpu(), time.perf_counter()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env |= {"BENCH_T0": repr(time.time()), "PYTHONPYCACHEPREFIX": PYCACHE}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{argv[:5]} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return wall, children_cpu() - cpu, proc.stderr


def first_frame(library: Path, model: Path, speech: Path, out: Path) -> tuple[float, float]:
    argv = [
        sys.executable, "-c", _CHILD, "render", "--library", str(library), "--avatar", "bench",
        "--audio", str(speech), "-o", str(out), "--model", str(model), "--backend", "onnx",
        "--device", "cpu", "--precision", "fp32", "--overwrite",
    ]  # fmt: skip
    _, _, stderr = timed_command(argv)
    line = next(line for line in stderr.splitlines() if line.startswith("FIRST-FRAME "))
    wall, cpu = map(float, line.split()[1:])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-height", type=int, default=PrepareSettings().max_height)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, argv in (("--help", ["--help"]), ("info", ["info"])):
        timed_command([sys.executable, "-m", "avatar_studio", *argv])  # compiles the bytecode once
        runs = [timed_command([sys.executable, "-m", "avatar_studio", *argv])[:2] for _ in range(options.repeats)]
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(f"avatar-studio {name:<7} {wall:6.2f} s wall, {cpu:5.2f} s CPU (median of {options.repeats})")
    with tempfile.TemporaryDirectory(prefix="bench startup ") as tmp:
        folder = Path(tmp)
        library = folder / "library"
        AvatarLibrary(library).prepare(AVATAR_CLIP, "bench", PrepareSettings(max_height=options.max_height))
        model = make_models(folder)["synthetic"]
        speech = make_speech(folder / "speech.wav", 3.0)
        first_frame(library, model, speech, folder / "out.mp4")  # bytecode of the render path
        runs = [first_frame(library, model, speech, folder / "out.mp4") for _ in range(options.repeats)]
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        verdict = "met" if wall < TARGET_S else "NOT met"
        print(
            f"render, start to first frame encoded: {wall:.2f} s wall, {cpu:.2f} s CPU of the Python process "
            f"(median of {options.repeats}: {', '.join(f'{w:.2f}' for w, _ in runs)} s; "
            f"target < {TARGET_S:g} s: {verdict})"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
