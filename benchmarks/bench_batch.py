"""Throughput of a batch: the same 20-row manifest rendered locally, then with `--ray local --jobs 2`
(a local Ray cluster with two worker processes, so two rows render at once).

Each run is the whole `avatar-studio batch` command in its own process (check, queue, render, write),
timed from spawn to exit, on a fresh copy of the manifest and audio (so nothing is skipped). The
avatar is the shared talking-man clip prepared at 256 lines; the model is the real Wav2Lip network
with synthetic weights as ONNX fp32 on the CPU (or the identity stand-in with `--model identity`).

    .venv/bin/python benchmarks/bench_batch.py [--rows 20] [--seconds 2] [--model synthetic]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_render import AVATAR_SOURCE, make_models, make_speech

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import PrepareSettings

AVATAR = "presenter"


def write_project(folder: Path, rows: int, speech: Path, model: Path) -> Path:
    """`rows` rows of the same avatar, each its own copy of the speech, in a fresh folder."""
    folder.mkdir(parents=True)
    lines = ["avatar,audio,output,model,backend,device,precision"]
    for row in range(1, rows + 1):
        shutil.copy(speech, folder / f"voice{row:02d}.wav")
        lines.append(f"{AVATAR},voice{row:02d}.wav,clip{row:02d}.mp4,{model},onnx,cpu,fp32")
    manifest = folder / "batch.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def timed_batch(manifest: Path, library: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "avatar_studio", "batch", str(manifest), "--library", str(library), *extra]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(extra) or 'local'} batch failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each row's audio")
    parser.add_argument("--model", choices=("synthetic", "identity"), default="synthetic")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as temp:
        root = Path(temp)
        library = root / "library"
        AvatarLibrary(library).prepare(AVATAR_SOURCE, AVATAR, PrepareSettings(max_height=256))
        model = make_models(root)[options.model]
        speech = make_speech(root / "speech.wav", options.seconds)
        frames = options.rows * round(options.seconds * 25)
        load_before = os.getloadavg()[0]
        results = {}
        for label, extra in (("local", []), ("ray local, 2 workers", ["--ray", "local", "--jobs", "2"])):
            manifest = write_project(root / label.replace(" ", "_").replace(",", ""), options.rows, speech, model)
            results[label] = timed_batch(manifest, library, extra)
        load_after = os.getloadavg()[0]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{when}, {platform.node()}, {os.cpu_count()} cores, load average {load_before:.1f} -> {load_after:.1f}")
    print(f"{options.rows} rows x {options.seconds:g} s ({frames} frames), {options.model} model, ONNX fp32 CPU")
    print("| run | wall time | rows/min | frames/s |")
    print("|---|---:|---:|---:|")
    for label, seconds in results.items():
        print(f"| {label} | {seconds:.1f} s | {options.rows / seconds * 60:.1f} | {frames / seconds:.1f} |")


if __name__ == "__main__":
    main()
