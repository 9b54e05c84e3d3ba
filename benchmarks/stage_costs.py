"""What each render stage costs when it runs alone, on the same frames the render uses.

The render overlaps five stages in threads (render/pipeline.py). On a small CPU they compete for
the same cores, so the best a render can do is the sum of its stages' CPU time per frame divided
by the cores (the "ideal"); on a GPU machine the model is fast and the slowest stage alone sets
the pace. Each stage here is timed alone, in the same process and with the same backend and
settings as the render, and reports:

- CPU per frame: this process's user+system time over all threads plus the CPU of child
  processes reaped meanwhile (the encoder's ffmpeg), so it stays meaningful on a loaded machine;
- wall per frame alone: what that stage could sustain by itself.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_studio.audio import load_audio
from avatar_studio.avatars.library import Avatar
from avatar_studio.media.output_formats import output_format
from avatar_studio.media.video_writer import VideoWriter
from avatar_studio.render.frame_compositor import FrameCompositor
from avatar_studio.render.model_io import face_batch, predictions_to_images
from avatar_studio.render.schedule import source_frame
from avatar_studio.render.settings import RenderSettings

STAGES = ("inputs", "model", "decode", "composite", "encode")


@dataclass(frozen=True)
class Cost:
    name: str
    cpu_ms: float  # CPU time per frame, all threads and reaped children
    wall_ms: float  # wall time per frame when the stage runs alone

    @property
    def frames_per_second(self) -> float:
        return 1000.0 / self.wall_ms if self.wall_ms > 0 else float("inf")


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and of its reaped child processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(name: str, frames: int, work: Callable[[], object]) -> Cost:
    cpu, wall = cpu_seconds(), time.perf_counter()
    work()
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    return Cost(name, 1000.0 * cpu / frames, 1000.0 * wall / frames)


def stage_costs(
    avatar: Avatar, speech: Path, backend, settings: RenderSettings, output: Path, batches: int
) -> list[Cost]:
    """Every stage of a render of `avatar` speaking `speech`, alone, on `batches` model batches."""
    size = backend.batch_size
    n = batches * size
    fps = avatar.fps_fraction
    windows = load_audio(speech).windows(fps, n)
    indices = [np.array([source_frame(i, avatar.frame_count, settings.loop) for i in range(b * size, (b + 1) * size)])
               for b in range(batches)]  # fmt: skip
    inputs: list[tuple[np.ndarray, np.ndarray]] = []
    mouths: list[np.ndarray] = []
    decoded: list[np.ndarray] = []
    sources = np.concatenate(indices)
    compositor = FrameCompositor(settings, avatar.boxes, avatar.landmarks(), None)

    def prepare_inputs() -> None:
        for b, batch in enumerate(indices):
            inputs.append((windows.batch(b * size, (b + 1) * size), face_batch(avatar.crops[batch])))

    def infer() -> None:
        for mel, face in inputs:
            mouths.extend(predictions_to_images(backend.predict(mel, face)))

    def decode() -> None:
        decoded.extend(avatar.iter_frames(int(i) for batch in indices for i in batch))

    def composite(frames: list[np.ndarray]) -> Callable[[], None]:
        def run() -> None:
            for output_index, (frame, mouth, source) in enumerate(zip(frames, mouths, sources, strict=True)):
                compositor.paste(frame, mouth, int(source), output_index)

        return run

    def encode() -> None:
        with VideoWriter(
            output, avatar.width, avatar.height, fps, audio=speech, crf=settings.crf, preset=settings.preset,
            overwrite=True, audio_duration_s=float(n / fps),
            encoder=output_format(output).chosen_encoder(settings.encoder),
        ) as writer:  # fmt: skip
            for frame in decoded:
                writer.write(frame)

    costs = [measure("inputs", n, prepare_inputs)]
    backend.predict(*inputs[0])  # warm-up: session initialisation and first allocations
    costs.append(measure("model", n, infer))
    costs.append(measure("decode", n, decode))
    writable = [frame.copy() for frame in decoded]
    costs.append(measure("composite", n, composite(writable)))
    decoded[:] = writable
    costs.append(measure("encode", n, encode))
    return costs
