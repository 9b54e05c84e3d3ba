"""Render throughput and memory: how close the pipeline gets to the bare model, and whether memory stays flat.

1. Speed: the real Wav2Lip with synthetic weights exported to ONNX, on ONNX Runtime fp32 CPU
   (or `--backend torch|onnx --device cuda` on a GPU machine). First every stage alone on the same
   frames (`stage_costs.py`: inputs, model, decode, composite, encode; CPU ms per frame and wall
   frames/s each), then a full `render_video` of 60 s of speech with the same backend object, and
   the bare `backend.predict` before and after it. Printed: (a) the render's wall time against the
   ideal (sum of the stages' CPU per frame / cores; target within 10 %), (b) its share of the bare
   model's frames/s (target >= 85 %), and each stage's share of the render time, so on a GPU the
   stage that sets the pace is named.
2. Memory (target: a 10-minute render peaks within 300 MB of a 30-second one): each render runs in
   its own subprocess, which reports its peak resident memory (VmHWM; the ffmpeg encoder streams
   and is not counted: getrusage's child figure includes the parent's memory at fork). The model
   there is the identity stand-in by default (`--memory-model synthetic` for the real network):
   the network's memory does not depend on the audio length, and the stand-in makes a 10-minute
   render take minutes instead of an hour on a CPU.

The avatar is `../shared/media/talking_man_25fps_844x844.mp4`, prepared at full size; the speech
is `speech_en_22k_mono.wav` looped to length. Everything is made in a temporary folder.

    .venv/bin/python benchmarks/bench_render.py [--quick] [--batch-size 16] [--threads N] [--skip-memory]
    .venv/bin/python benchmarks/bench_render.py --skip-memory --device cuda --backend torch --precision fp16 --max-height 720
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_MEDIA = ROOT.parent / "shared" / "media"
sys.path.insert(0, str(ROOT / "tests"))  # synthetic weights and stand-in models live with the tests

from memory import peak_rss_mb  # noqa: E402 - benchmarks/memory.py (this folder is on sys.path)

from avatar_studio.avatars.library import Avatar, AvatarLibrary  # noqa: E402
from avatar_studio.avatars.prepare import PrepareSettings  # noqa: E402
from avatar_studio.choices import (  # noqa: E402
    DEFAULT_ENCODER,
    DEFAULT_PRESET,
    ENCODER_PRESETS,
    PRECISIONS,
    VIDEO_ENCODERS,
)
from avatar_studio.media.ffmpeg import base_args  # noqa: E402

CLIPS = {
    "talking_man": SHARED_MEDIA / "talking_man_25fps_844x844.mp4",
    "anime_portrait": SHARED_MEDIA / "anime_portrait_25fps_704x1216.mp4",
}
AVATAR_CLIP = CLIPS["talking_man"]
SPEECH = SHARED_MEDIA / "speech_en_22k_mono.wav"
SPEED_TARGET = 0.85
MEMORY_TARGET_MB = 300.0




def make_speech(path: Path, seconds: float) -> Path:
    args = ["-stream_loop", "-1", "-i", str(SPEECH), "-t", f"{seconds}", "-ac", "1", "-c:a", "pcm_s16le", str(path)]
    subprocess.run([*base_args(), "-y", *args], check=True)
    return path


def make_models(folder: Path) -> dict[str, Path]:
    """The synthetic-weight Wav2Lip and the identity stand-in, both as ONNX files."""
    from avatar_studio.model.export import export_onnx
    from standin_models import write_identity_model
    from synthetic_weights import write_checkpoint

    checkpoint = write_checkpoint(folder / "wav2lip_synthetic.pth")
    return {
        "checkpoint": checkpoint,
        "synthetic": export_onnx(checkpoint, folder / "wav2lip_synthetic.onnx").path,
        "identity": write_identity_model(folder / "identity.onnx"),
    }


def bare_model_fps(avatar: Avatar, speech: Path, backend, batches: int) -> float:
    """Frames/s of `backend.predict` alone, on the inputs a render of `speech` would feed it."""
    from avatar_studio.audio import load_audio
    from avatar_studio.render.model_io import face_batch
    from avatar_studio.render.schedule import source_frame

    size = backend.batch_size
    # As many windows as the timing needs; past the end of short audio they repeat the final one.
    windows = load_audio(speech).windows(avatar.fps_fraction, (batches + 1) * size)
    inputs = []
    for b in range(batches + 1):
        frames = range(b * size, (b + 1) * size)
        indices = [source_frame(i, avatar.frame_count) for i in frames]
        inputs.append((windows.batch(frames.start, frames.stop), face_batch(avatar.crops[indices])))
    backend.predict(*inputs[0])  # warm-up: session initialisation and first allocations
    started = time.perf_counter()
    for mel, face in inputs[1:]:
        backend.predict(mel, face)
    return batches * size / (time.perf_counter() - started)


def open_bench_backend(models: dict[str, Path], options: argparse.Namespace):
    """The backend the speed run uses: ONNX Runtime fp32 on the CPU by default, or what
    --backend/--device/--precision ask for (torch loads the synthetic .pth)."""
    from avatar_studio.model.backends.base import BackendSettings
    from avatar_studio.model.backends.factory import open_backend
    from avatar_studio.model.backends.onnx_backend import OnnxBackend

    if options.backend == "onnx" and options.device == "cpu":
        return OnnxBackend(models["synthetic"], "cpu", options.precision, options.batch_size, threads=options.threads)
    model = models["checkpoint"] if options.backend == "torch" else models["synthetic"]
    return open_backend(BackendSettings(model, options.backend, options.device, options.precision, options.batch_size))


def run_speed(avatar: Avatar, models: dict[str, Path], speech: Path, out: Path, options: argparse.Namespace) -> None:
    from stage_costs import cpu_seconds, stage_costs

    from avatar_studio.media.encoders import encoder_threads
    from avatar_studio.render.pipeline import render_video
    from avatar_studio.render.settings import RenderSettings

    settings = RenderSettings(overwrite=True, preset=options.preset, encoder=options.encoder)
    cores = encoder_threads()
    with open_bench_backend(models, options) as backend:
        print(f"backend: {backend.describe()}")
        # The bare model is timed before and after the render, so a drift in machine load shows
        # up as two different numbers instead of silently skewing the share.
        before = bare_model_fps(avatar, speech, backend, options.model_batches)
        costs = stage_costs(avatar, speech, backend, settings, out / "stages.mp4", options.stage_batches)
        cpu = cpu_seconds()
        result = render_video(avatar, speech, backend, out / "speed.mp4", settings)
        render_cpu_ms = 1000.0 * (cpu_seconds() - cpu) / result.frame_count
        after = bare_model_fps(avatar, speech, backend, options.model_batches)
    bare = (before + after) / 2
    share = result.frames_per_second / bare
    render_ms = 1000.0 / result.frames_per_second
    total_cpu = sum(c.cpu_ms for c in costs)
    ideal_fps = 1000.0 * cores / total_cpu
    slowest = max(costs, key=lambda c: c.wall_ms)
    print(f"\nstage        CPU ms/frame  of CPU   alone: ms/frame  frames/s  of render time   ({options.stage_batches} batches)")
    for c in costs:
        print(
            f"{c.name:<12} {c.cpu_ms:10.2f}  {100 * c.cpu_ms / total_cpu:6.1f} %  {c.wall_ms:13.2f}  {c.frames_per_second:8.1f}"
            f"  {100 * c.wall_ms / render_ms:8.1f} %"
        )
    print(
        f"sum          {total_cpu:10.2f}   -> ideal on {cores} cores: {ideal_fps:.2f} frames/s"
        f"\nrender:      {result.frames_per_second:7.2f} frames/s ({result.frame_count} frames in {result.elapsed_s:.1f} s, "
        f"{render_cpu_ms:.2f} ms CPU/frame, {result.video_codec})"
        f"\n(a) overlap: wall {100 * ideal_fps / result.frames_per_second:6.1f} % of the ideal (target <= 110 %)"
        f"\nslowest stage alone: {slowest.name} at {slowest.frames_per_second:.1f} frames/s; render reaches "
        f"{100 * result.frames_per_second / slowest.frames_per_second:.1f} % of it"
        f"\nbare model:  {bare:7.2f} frames/s ({before:.2f} before, {after:.2f} after the render; "
        f"{options.model_batches} batches of {options.batch_size} each)"
        f"\n(b) share:   {100 * share:6.1f} % of the bare model (target >= {100 * SPEED_TARGET:.0f} %: "
        f"{'met' if share >= SPEED_TARGET else 'NOT met'})"
    )


def run_memory_child(options: argparse.Namespace) -> None:
    """In a fresh process: render `--child-audio` with `--child-model`, print peak memory as JSON."""
    from avatar_studio.model.backends.onnx_backend import OnnxBackend
    from avatar_studio.render.pipeline import render_video
    from avatar_studio.render.settings import RenderSettings

    avatar = AvatarLibrary(Path(options.child_library)).get("bench")
    with OnnxBackend(Path(options.child_model), "cpu", "fp32", options.batch_size, threads=options.threads) as backend:
        result = render_video(
            avatar, Path(options.child_audio), backend, Path(options.child_output),
            RenderSettings(overwrite=True, preset=options.preset),
        )  # fmt: skip
    print(json.dumps({"frames": result.frame_count, "fps": result.frames_per_second, "peak_rss_mb": peak_rss_mb()}))


def run_memory(library: Path, model: Path, folder: Path, lengths: tuple[float, float], options) -> None:
    peaks = []
    for seconds in lengths:
        speech = make_speech(folder / f"speech_{seconds:g}s.wav", seconds)
        command = [
            sys.executable, __file__, "--child-library", str(library), "--child-model", str(model),
            "--child-audio", str(speech), "--child-output", str(folder / f"memory_{seconds:g}s.mp4"),
            "--batch-size", str(options.batch_size), "--preset", options.preset, *(["--threads", str(options.threads)] if options.threads else []),
        ]  # fmt: skip
        report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        peaks.append(report["peak_rss_mb"])
        print(
            f"{seconds:6.0f} s audio: {report['frames']:6d} frames at {report['fps']:6.1f} frames/s, "
            f"peak {report['peak_rss_mb']:7.1f} MB"
        )
    growth = peaks[1] - peaks[0]
    verdict = "met" if growth <= MEMORY_TARGET_MB else "NOT met"
    print(f"growth:      {growth:+7.1f} MB (target within {MEMORY_TARGET_MB:.0f} MB: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small avatar, 8 s of speech, memory 5 s vs 40 s: checks the script runs")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: the backend's choice)")
    parser.add_argument("--preset", choices=ENCODER_PRESETS, default=DEFAULT_PRESET, help="x264 preset of the renders")
    parser.add_argument("--backend", choices=("onnx", "torch"), default="onnx", help="model runtime of the speed run")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the model runs (cuda: every stage's share is printed)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--encoder", choices=VIDEO_ENCODERS, default=DEFAULT_ENCODER, help="H.264/H.265 encoder of the renders")
    parser.add_argument("--max-height", type=int, default=None, help="prepare the avatar at most this tall (e.g. 720)")
    parser.add_argument("--clip", choices=sorted(CLIPS), default="talking_man", help="the shared clip made into the avatar")
    parser.add_argument("--seconds", type=float, default=None, help="speech length of the speed run (default 60, --quick 8)")
    parser.add_argument("--stage-batches", type=int, default=4, help="model batches each stage is timed on alone")
    parser.add_argument("--memory-model", choices=("identity", "synthetic"), default="identity")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    for name in ("library", "model", "audio", "output"):
        parser.add_argument(f"--child-{name}", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child_library:
        run_memory_child(options)
        return
    source = CLIPS[options.clip]
    if not source.is_file():
        sys.exit(f"{source} is missing; the benchmark needs ../shared/media.")

    speech_s, memory_lengths = (8.0, (5.0, 40.0)) if options.quick else (60.0, (30.0, 600.0))
    speech_s = options.seconds or speech_s
    options.model_batches = 2 if options.quick else 8
    with tempfile.TemporaryDirectory(prefix="bench render ") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        library_root = folder / "library"
        max_height = 256 if options.quick else options.max_height or PrepareSettings().max_height
        avatar = AvatarLibrary(library_root).prepare(source, "bench", PrepareSettings(max_height=max_height))
        models = make_models(folder)
        print(
            f"avatar: {avatar.width}x{avatar.height}, {avatar.frame_count} frames at {float(avatar.fps_fraction):g} fps; "
            f"setup {time.perf_counter() - started:.1f} s"
        )
        if not options.skip_speed:
            speech = make_speech(folder / "speech.wav", speech_s)
            print(
                f"\n== speed: {speech_s:g} s of speech, synthetic Wav2Lip, {options.backend} {options.precision} "
                f"{options.device}, encoder {options.encoder} {options.preset} =="
            )
            run_speed(avatar, models, speech, folder, options)
        if not options.skip_memory:
            print(f"\n== peak memory: {memory_lengths[0]:g} s vs {memory_lengths[1]:g} s of audio, {options.memory_model} model ==")
            run_memory(library_root, models[options.memory_model], folder, memory_lengths, options)


if __name__ == "__main__":
    main()
