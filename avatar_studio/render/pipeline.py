"""Render a prepared avatar speaking an audio file, streaming from decoder to encoder.

Five stages run at once, joined by small bounded queues (see `stages.py`):

    inputs     crops + mel windows of the next batch -> model input arrays      (small arrays)
    inference  backend.predict, the only thread touching the backend            (small arrays)
    decode     the avatar's full frames, in schedule order, one at a time       (bounded by bytes)
    composite  each mouth blended in through its mask (`frame_compositor`)     (a few frames)
    enhance    only with a face enhancer: faces restored a batch at a time      (one batch of frames)
    encode     frames piped into the one ffmpeg process (the caller waits for all of them)

Model inputs and outputs (96x96) are small, so only the full frames are rationed: the decode
queue holds at most `FRAME_BUFFER_BYTES` of frames. Memory therefore depends on the frame size and
batch size, never on how long the audio or the avatar is, and no image ever touches the disk.

Output frame i shows schedule frame i of the avatar driven by mel window i (the 200 ms of audio
starting at its own timestamp); there are `frames_for_duration(audio seconds, fps)` frames, so
the video lasts as long as the audio to within one frame. The writer renames its temporary file
onto the destination only after everything succeeded; a failure or cancel removes it.
"""

from __future__ import annotations

import queue
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avatar_studio.audio import AudioTrack, MelWindows, frames_for_duration, load_audio
from avatar_studio.audio.silence import lipsync_weights, silent_frames
from avatar_studio.media.output_formats import output_format as format_of
from avatar_studio.media.video_writer import VideoWriter
from avatar_studio.model.backends.base import InferenceBackend
from avatar_studio.model.enhancers import FaceEnhancer
from avatar_studio.progress import CancelToken, NoticeCallback, ProgressCallback, ProgressReporter
from avatar_studio.render.enhance import FrameRestorer, enhancer_landmarks
from avatar_studio.render.frame_compositor import FrameCompositor
from avatar_studio.render.model_io import face_batch, predictions_to_images
from avatar_studio.render.schedule import frame_schedule, model_batches, source_frame
from avatar_studio.render.settings import RenderSettings
from avatar_studio.render.stages import END, StageGroup

if TYPE_CHECKING:  # the avatar library imports the face detector; rendering needs only the type
    from avatar_studio.avatars.library import Avatar

RENDER_STAGE = "Rendering"
#: Decoded frames waiting for their mouth image: enough to ride out jitter, bounded in bytes.
FRAME_BUFFER_BYTES = 64 * 1024 * 1024
#: Model batches prepared or predicted ahead of the stage that needs them.
BATCHES_AHEAD = 2
#: Composited frames waiting for the encoder.
ENCODE_QUEUE_FRAMES = 4


@dataclass(frozen=True)
class RenderResult:
    """What was written: the file, its frames and length, and how fast the render ran."""

    output: Path
    frame_count: int
    duration_s: float
    elapsed_s: float
    frames_per_second: float
    video_codec: str = ""  # the encoder that wrote it, e.g. "libx264", "h264_nvenc", "libvpx-vp9"


def render_video(
    avatar: Avatar,
    audio_path: Path | str,
    backend: InferenceBackend,
    output: Path | str,
    settings: RenderSettings = RenderSettings(),
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    enhancer: FaceEnhancer | None = None,
    on_notice: NoticeCallback | None = None,
) -> RenderResult:
    """Write `output` (its suffix picks the format, see `media/output_formats.py`): `avatar`
    lip-synced to `audio_path` by `backend`, its faces restored by `enhancer` when one is given (as
    `settings` say). A transparent avatar keeps its alpha in .webm/.mov and is composited over
    black in the other formats.

    Raises `AvatarStudioError` for bad input (nothing is written) and `Cancelled` when
    `cancel` fires (the partial file is removed); the destination appears only when complete.
    """
    started = time.perf_counter()
    settings.validate()
    avatar.verify()  # a damaged box or crop array fails here, in a sentence, before any work
    landmarks = None if enhancer is None else enhancer_landmarks(avatar)
    fps = avatar.fps_fraction  # exact: 30000/1001, never 29.97
    audio = load_audio(audio_path, cancel=cancel)
    if audio.invalid_samples and on_notice is not None:
        on_notice(
            f"{Path(audio_path).name!r} contains invalid (NaN or infinite) samples; "
            "they are rendered and encoded as silence."
        )
    duration_s = audio.duration_s if settings.seconds is None else min(settings.seconds, audio.duration_s)
    n_frames = frames_for_duration(duration_s, fps)
    windows = audio.windows(fps, n_frames)
    compositor = frame_compositor(avatar, audio, n_frames, settings)
    restorer = None if landmarks is None or enhancer is None else FrameRestorer(
        enhancer, landmarks, avatar.boxes, compositor
    )

    output_format = format_of(output)
    keep_alpha = avatar.has_alpha and output_format.keeps_alpha
    writer = VideoWriter(
        Path(output), avatar.width, avatar.height, fps,
        audio=Path(audio_path), crf=settings.crf, preset=settings.preset, overwrite=settings.overwrite,
        repair_audio=audio.invalid_samples > 0,
        audio_duration_s=None if settings.seconds is None else duration_s,
        encoder=output_format.chosen_encoder(settings.encoder), alpha=keep_alpha,
    )
    reporter = ProgressReporter(RENDER_STAGE, n_frames, progress, cancel)
    stages = StageGroup(cancel)
    try:
        _run_stages(
            stages, avatar, windows, backend, writer, reporter, settings, n_frames, compositor, restorer, keep_alpha
        )
    except BaseException:
        stages.stop()
        stages.join()
        writer.abort()
        raise
    stages.join()
    writer.close()
    elapsed = time.perf_counter() - started
    return RenderResult(
        output=Path(output), frame_count=n_frames, duration_s=float(n_frames / fps),
        elapsed_s=elapsed, frames_per_second=n_frames / elapsed if elapsed > 0 else 0.0,
        video_codec=writer.video_codec,
    )


def frame_compositor(avatar: Avatar, audio: AudioTrack, n_frames: int, settings: RenderSettings) -> FrameCompositor:
    """How the mouths of a render of `n_frames` frames of `audio` are blended in (masks, silence)."""
    lipsync = None
    if settings.silence == "original":
        lipsync = lipsync_weights(silent_frames(audio.silent_stretches(), n_frames, avatar.fps_fraction))
    return FrameCompositor(settings, avatar.boxes, avatar.landmarks(), lipsync)


def _run_stages(
    stages: StageGroup,
    avatar: Avatar,
    windows: MelWindows,
    backend: InferenceBackend,
    writer: VideoWriter,
    reporter: ProgressReporter,
    settings: RenderSettings,
    n_frames: int,
    compositor: FrameCompositor,
    restorer: FrameRestorer | None = None,
    keep_alpha: bool = False,
) -> None:
    """Run the stages until the encoder has written the last frame (or one of them failed)."""
    batch_size = backend.batch_size
    frame_bytes = avatar.width * avatar.height * 3
    inputs: queue.Queue = queue.Queue(BATCHES_AHEAD)
    mouths: queue.Queue = queue.Queue(BATCHES_AHEAD)
    frames: queue.Queue = queue.Queue(max(2, min(2 * batch_size, FRAME_BUFFER_BYTES // frame_bytes)))
    finished: queue.Queue = queue.Queue(ENCODE_QUEUE_FRAMES)
    composited: queue.Queue = finished if restorer is None else queue.Queue(ENCODE_QUEUE_FRAMES)

    def prepare_inputs() -> None:
        for start, stop in model_batches(n_frames, batch_size):
            indices = np.array(
                [source_frame(i, avatar.frame_count, settings.loop) for i in range(start, stop)], np.int64
            )
            model_input = (windows.batch(start, stop), face_batch(avatar.crops[indices]))
            stages.put(inputs, (indices, model_input))
        stages.put(inputs, END)

    def infer() -> None:
        while (item := stages.get(inputs)) is not END:
            indices, (mel, face) = item
            stages.put(mouths, (indices, predictions_to_images(backend.predict(mel, face))))
        stages.put(mouths, END)

    def decode() -> None:
        schedule = frame_schedule(n_frames, avatar.frame_count, settings.loop)
        # closing(): when another stage fails, the reader's read-ahead threads stop at once.
        with closing(avatar.iter_frames(schedule, alpha=keep_alpha)) as source:
            for frame in source:
                stages.put(frames, frame)
        stages.put(frames, END)

    def composite() -> None:
        output_index = 0
        while (item := stages.get(mouths)) is not END:
            indices, images = item
            for source_index, mouth in zip(indices, images, strict=True):
                frame = stages.get(frames)
                if frame is END:
                    raise RuntimeError("the avatar's frame reader stopped before the schedule ended")
                if not frame.flags.writeable:
                    frame = frame.copy()
                compositor.paste(frame[..., :3] if keep_alpha else frame, mouth, int(source_index), output_index)
                output_index += 1
                stages.put(composited, frame)
        stages.put(composited, END)

    def enhance(restorer: FrameRestorer) -> None:
        done = 0
        batch: list[np.ndarray] = []
        while True:
            frame = stages.get(composited)
            if frame is not END:
                batch.append(frame)
            if batch and (frame is END or len(batch) >= restorer.enhancer.batch_size):
                outputs = range(done, done + len(batch))
                sources = [source_frame(i, avatar.frame_count, settings.loop) for i in outputs]
                restorer.restore([f[..., :3] for f in batch] if keep_alpha else batch, sources, outputs)
                for restored in batch:
                    stages.put(finished, restored)
                done += len(batch)
                batch = []
            if frame is END:
                break
        stages.put(finished, END)

    def encode() -> None:
        while (frame := stages.get(finished)) is not END:
            writer.write(frame)
            reporter.advance()

    stages.start("inputs", prepare_inputs)
    stages.start("inference", infer)
    stages.start("decode", decode)
    stages.start("composite", composite)
    if restorer is not None:
        stages.start("enhance", lambda: enhance(restorer))
    stages.start("encode", encode)
    stages.wait()
    reporter.check_cancelled()

