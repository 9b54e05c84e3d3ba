"""The whole `avatar-studio render` command against the bare model and the seed article's pipeline.

What a user waits for: process start to file closed, for an ONNX Runtime fp32 model on the CPU
with the default settings. Printed as ratios measured in one run, because this machine is shared:

- (c) command share: the command's frames/s (frames / wall time of the whole process) over the bare
  model's frames/s (timed through the same ONNX Runtime backend just before and just after);
- (d) seed ratio: the wall time of `seed_pipeline.py` (JPEG files, two ffmpeg passes) over ours, on
  the same avatar folder, audio and model.

Each shared clip is prepared at full size; the speech is `speech_en_22k_mono.wav` looped to length.

    .venv/bin/python benchmarks/bench_command.py [--seconds 60] [--clips talking_man anime_portrait]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_render import CLIPS, bare_model_fps, make_models, make_speech

from avatar_studio.audio import load_audio
from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.choices import DEFAULT_PRESET
from avatar_studio.model.backends.onnx_backend import OnnxBackend

HERE = Path(__file__).resolve().parent
COMMAND_TARGET = 0.80
SEED_TARGET = 1.15


def timed(command: list[str]) -> tuple[float, str]:
    """Wall seconds of `command` from spawn to exit, and its stderr (it must succeed)."""
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{command[:4]} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return elapsed, proc.stderr


def run_clip(name: str, folder: Path, model: Path, speech: Path, options: argparse.Namespace) -> None:
    library_root = folder / "library"
    avatar = AvatarLibrary(library_root).prepare(CLIPS[name], name)
    with OnnxBackend(model, "cpu", "fp32", 16) as backend:
        before = bare_model_fps(avatar, speech, backend, options.model_batches)
    ours_out, seed_out = folder / f"{name}_ours.mp4", folder / f"{name}_seed.mp4"
    ours_s, _ = timed([
        sys.executable, "-m", "avatar_studio", "render", "--library", str(library_root), "--avatar", name,
        "--audio", str(speech), "-o", str(ours_out), "--model", str(model), "--backend", "onnx",
        "--device", "cpu", "--precision", "fp32", "--overwrite",
    ])  # fmt: skip
    seed_s, _ = timed([
        sys.executable, str(HERE / "seed_pipeline.py"), str(avatar.folder), str(speech), str(model),
        str(seed_out), "--preset", options.seed_preset,
    ])  # fmt: skip
    with OnnxBackend(model, "cpu", "fp32", 16) as backend:
        after = bare_model_fps(avatar, speech, backend, options.model_batches)
    frames = load_audio(speech).frame_count(avatar.fps_fraction)
    bare = (before + after) / 2
    command_fps = frames / ours_s
    share, ratio = command_fps / bare, seed_s / ours_s
    print(
        f"\n== {name}: {avatar.width}x{avatar.height}, {frames} frames ({options.seconds:g} s of speech) =="
        f"\nbare model:      {bare:7.2f} frames/s ({before:.2f} before, {after:.2f} after)"
        f"\nwhole command:   {ours_s:7.1f} s = {command_fps:.2f} frames/s, share {100 * share:.1f} % "
        f"(target >= {100 * COMMAND_TARGET:.0f} %: {'met' if share >= COMMAND_TARGET else 'NOT met'}); "
        f"{ours_out.stat().st_size / 1e6:.2f} MB"
        f"\nseed pipeline:   {seed_s:7.1f} s (x264 {options.seed_preset}), {seed_s / ours_s:.2f}x ours "
        f"(target >= {SEED_TARGET:.2f}x: {'met' if ratio >= SEED_TARGET else 'NOT met'}); "
        f"{seed_out.stat().st_size / 1e6:.2f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the speech (default 60)")
    parser.add_argument("--clips", nargs="+", choices=sorted(CLIPS), default=sorted(CLIPS))
    parser.add_argument("--seed-preset", default=DEFAULT_PRESET, help="x264 preset of the seed pipeline")
    parser.add_argument("--model-batches", type=int, default=6, help="batches of 16 timed for the bare model")
    options = parser.parse_args()
    missing = [str(CLIPS[name]) for name in options.clips if not CLIPS[name].is_file()]
    if missing:
        sys.exit(f"{', '.join(missing)} missing; the benchmark needs ../shared/media.")
    with tempfile.TemporaryDirectory(prefix="bench command ") as tmp:
        folder = Path(tmp)
        model = make_models(folder)["synthetic"]
        speech = make_speech(folder / "speech.wav", options.seconds)
        for name in options.clips:
            run_clip(name, folder, model, speech, options)


if __name__ == "__main__":
    main()
