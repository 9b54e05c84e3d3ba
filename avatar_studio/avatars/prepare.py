"""Turn a video or a still image into avatar files: frames, face boxes, 96x96 crops, thumbnail, preview.

Two passes, memory flat in the clip's length:
1. decode (rotation honoured, constant rate, downscaled to `max_height`), detect the face, store
   the frame as JPEG and feed the preview encoder — a handful of frames in memory at a time;
2. after the whole face track is known (filling and smoothing need the neighbours), read the
   stored frames back and cut the crops, so the crops come from exactly the pixels the renderer
   will paste onto. Crops are cut as the original Wav2Lip does: the padded box, `cv2.resize` to
   96x96, BGR. The face mesh runs here too, on the followed face's detection (its box and eye
   keypoints), so the landmarks, like the crops, come from the stored pixels; they are then
   filled and smoothed like the boxes and stored with how open the mouth is in each frame.
`avatar.json` is written last: a folder without it is incomplete by construction.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from avatar_studio.avatars import storage
from avatar_studio.avatars.metadata import META_FILE, AvatarMeta
from avatar_studio.choices import DETECTOR_MODELS, MAX_FACELESS_SHARE, MAX_FPS, MIN_FPS, DetectorModel, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.boxes import (
    DEFAULT_PADS,
    DEFAULT_SMOOTH_WINDOW,
    Pads,
    follow_face,
    followed_face_boxes,
)
from avatar_studio.faces.detector import FaceBox, FaceDetector
from avatar_studio.faces.landmarks import (
    LANDMARK_COUNT,
    FaceMesh,
    landmark_track,
    mouth_openness,
    open_mouth_share,
)
from avatar_studio.media.probe import MediaInfo
from avatar_studio.media.video_reader import VideoFrameSource, open_video
from avatar_studio.media.video_writer import VideoWriter
from avatar_studio.progress import CancelToken, ProgressCallback, ProgressReporter

DEFAULT_MAX_HEIGHT = 1080
PREVIEW_MAX_HEIGHT = 720
PREVIEW_CRF = 23
THUMBNAIL_MAX_SIDE = 320
STAGE_DETECT = "Detecting faces"
STAGE_CROPS = "Cutting face crops"


@dataclass(frozen=True)
class PrepareSettings:
    """How to prepare an avatar.

    fps: None keeps a video's constant rate (variable-rate video is normalised to its base rate,
    and the choice recorded); a still image becomes one frame at 25 fps (the reader's default).
    pads: margins as fractions of the face box (see `faces.boxes`). smooth_window: frames
    averaged, 0 or 1 turns smoothing off. max_height: downscale taller footage (None: keep).
    face_mesh: also store the 468 face-mesh landmarks per frame (the landmark masks need them;
    off only to compare speed or to make an avatar like those prepared before the mesh existed).
    allow_missing_faces: accept a clip where over `MAX_FACELESS_SHARE` of the frames show no face
    (those frames get the nearest detected box); otherwise such a clip is refused.
    """

    fps: float | None = None
    pads: Pads = DEFAULT_PADS
    smooth_window: int = DEFAULT_SMOOTH_WINDOW
    max_height: int | None = DEFAULT_MAX_HEIGHT
    detector: DetectorModel = "short_range"
    min_confidence: float = 0.5
    face_mesh: bool = True
    allow_missing_faces: bool = False

    def validated(self) -> PrepareSettings:
        """These settings, or AvatarStudioError naming the first one out of range."""
        if len(self.pads) != 4 or any(not -0.5 <= p <= 2.0 for p in self.pads):
            raise AvatarStudioError("Each pad must be a fraction of the face box between -0.5 and 2.0, e.g. 0 0.2 0 0.")
        if self.smooth_window < 0:
            raise AvatarStudioError("The smoothing window cannot be negative; use 0 to turn smoothing off.")
        check_choice("face detector", self.detector, DETECTOR_MODELS)
        if self.fps is not None and not MIN_FPS <= self.fps <= MAX_FPS:
            raise AvatarStudioError(
                f"A frame rate of {self.fps:g} is not usable; choose {MIN_FPS:g} to {MAX_FPS:g} frames per second."
            )
        return PrepareSettings(
            self.fps, Pads(*map(float, self.pads)), int(self.smooth_window), self.max_height,
            self.detector, self.min_confidence, bool(self.face_mesh), bool(self.allow_missing_faces),
        )


def prepare_avatar(
    source: Path | str,
    dest_folder: Path,
    settings: PrepareSettings = PrepareSettings(),
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    display_name: str = "",
    folder_name: str = "",
) -> AvatarMeta:
    """Write a complete avatar into the existing empty `dest_folder` and return its metadata.

    Raises AvatarStudioError for unusable input (not media, no frames, no face anywhere) and
    Cancelled when `cancel` is set; the caller discards `dest_folder` in both cases.
    """
    settings = settings.validated()
    source = Path(source).expanduser().resolve()
    with open_video(source, max_height=settings.max_height, fps=settings.fps, keep_alpha=True) as video:
        detections = _store_frames_and_detect(video, dest_folder, settings, progress, cancel)
    frame_count = len(detections)
    has_alpha = storage.keep_alpha_if_used(dest_folder, frame_count)
    followed = follow_face(detections)
    try:
        boxes, filled = followed_face_boxes(
            followed, video.width, video.height, settings.pads, settings.smooth_window
        )
    except ValueError:
        raise AvatarStudioError(
            f"No face was found in any of the {frame_count} frames of {source.name!r}; "
            "choose footage where the face is visible and faces the camera."
        ) from None
    if filled > MAX_FACELESS_SHARE * frame_count and not settings.allow_missing_faces:
        raise AvatarStudioError(
            f"No face was found in {filled} of the {frame_count} frames of {source.name!r} (more than "
            f"{MAX_FACELESS_SHARE:.0%}); choose footage where the face stays visible, or allow filling them "
            "from the nearest face (--allow-missing-faces)."
        )
    np.save(dest_folder / storage.BOXES_FILE, boxes)
    raw_landmarks = _cut_crops(dest_folder, boxes, followed if settings.face_mesh else None, progress, cancel)
    open_share = _store_landmarks(dest_folder, raw_landmarks, settings.smooth_window)
    info = video.source_info
    meta = AvatarMeta(
        display_name=display_name, folder_name=folder_name, source_file=str(source),
        fps=video.fps, fps_rational=f"{video.fps_fraction.numerator}/{video.fps_fraction.denominator}",
        fps_choice=_fps_choice(info, video.fps_fraction, settings.fps),
        frame_count=frame_count, width=video.width, height=video.height,
        duration_s=frame_count / video.fps, rotation=info.rotation, detector=settings.detector,
        pads=(*settings.pads,), smooth_window=settings.smooth_window, max_height=settings.max_height,
        frames_without_face=filled, storage=storage.STORAGE_KIND,
        source_width=info.width, source_height=info.height, has_alpha=has_alpha,
        landmarks=open_share is not None, open_mouth_share=open_share,
    )  # fmt: skip
    (dest_folder / META_FILE).write_text(meta.to_json(), encoding="utf-8")
    return meta


def _fps_choice(info: MediaInfo, fps: Fraction, requested: float | None) -> str:
    if info.is_still_image:
        return f"still image at {float(fps):g}"
    if info.variable_frame_rate:
        how = "as requested" if requested is not None else "(the source's base rate)"
        return f"normalised from variable rate to {float(fps):g} {how}"
    if info.fps_fraction is not None and fps != info.fps_fraction:
        return f"converted from source constant {info.fps:g} to {float(fps):g} as requested"
    return f"source constant {float(fps):g}"


def _store_frames_and_detect(
    video: VideoFrameSource,
    folder: Path,
    settings: PrepareSettings,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> list[list[FaceBox]]:
    """Pass 1: every frame stored as JPEG, its faces detected, the preview and thumbnail written.

    Decoding (ffmpeg), detection (this thread), JPEG encoding and the preview encoder's pipe (one
    worker thread each; OpenCV and pipe writes release the GIL) overlap, a few frames apart.
    """
    (folder / storage.FRAMES_DIR).mkdir()
    reporter = ProgressReporter(STAGE_DETECT, max(1, video.frame_count), progress, cancel)
    reporter.check_cancelled()
    preview_size = _fit(video.width, video.height, PREVIEW_MAX_HEIGHT)
    detections: list[list[FaceBox]] = []
    audio = video.source_info.path if video.source_info.has_audio else None
    with FaceDetector(settings.detector, settings.min_confidence) as detector, VideoWriter(
        folder / storage.PREVIEW_FILE, *preview_size, video.fps_fraction,
        audio=audio, crf=PREVIEW_CRF, preset="veryfast",
    ) as preview, _InOrderWorker() as jpeg_worker, _InOrderWorker() as preview_worker:  # fmt: skip
        for index, frame in enumerate(video.frames(cancel)):
            jpeg_worker.submit(storage.write_frame, folder, index, frame)  # BGRA: alpha stored too
            if video.has_alpha:
                frame = np.ascontiguousarray(frame[..., :3])  # detection and preview see the colours
            preview_worker.submit(lambda f: preview.write(_resized(f, preview_size)), frame)
            if index == 0:
                _write_thumbnail(folder / storage.THUMBNAIL_FILE, frame)
            detections.append(detector.detect(frame))
            reporter.total = max(reporter.total, index + 1)
            reporter.advance()
        if not detections:
            raise AvatarStudioError(
                f"{video.source_info.path.name!r} contains no video frames; choose a video with a picture."
            )
        jpeg_worker.finish()
        preview_worker.finish()
    if reporter.done < reporter.total:  # the estimate for rate-converted video was high: end at 100 %
        reporter.total = reporter.done
        reporter.advance(0)
    return detections


class _InOrderWorker:
    """Runs submitted calls one after another in a thread, at most `depth` calls behind the caller.

    The bound keeps memory flat (each pending call holds a frame); an exception in a call is
    raised in the caller at the next `submit` or at `finish`; leaving the `with` block early
    drops whatever has not started.
    """

    def __init__(self, depth: int = 4) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prepare-writer")
        self._pending: deque[Future[object]] = deque()
        self._depth = depth

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._depth:
            self._pending.popleft().result()

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def __enter__(self) -> _InOrderWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)


def _cut_crops(
    folder: Path,
    boxes: np.ndarray,
    followed: list[FaceBox | None] | None,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> np.ndarray | None:
    """Pass 2: the 96x96 BGR face crop of every stored frame, into a memory-mapped .npy.

    With `followed` (the tracked face's detection per frame), the face mesh runs on each frame
    that has one; returns (N, 468, 2) landmarks, NaN where no face or the mesh saw none.
    """
    count = len(boxes)
    reporter = ProgressReporter(STAGE_CROPS, count, progress, cancel)
    crops = np.lib.format.open_memmap(
        folder / storage.CROPS_FILE, mode="w+", dtype=np.uint8,
        shape=(count, storage.CROP_SIZE, storage.CROP_SIZE, 3),
    )  # fmt: skip
    landmarks = None if followed is None else np.full((count, LANDMARK_COUNT, 2), np.nan, np.float32)
    try:
        with FaceMesh() if followed is not None else nullcontext() as mesh:
            frames = storage.FrameStore(folder, count)
            for index, frame in enumerate(frames.iter_frames(range(count))):
                x1, y1, x2, y2 = boxes[index]
                crops[index] = cv2.resize(frame[y1:y2, x1:x2], (storage.CROP_SIZE, storage.CROP_SIZE))
                face = None if followed is None else followed[index]
                if mesh is not None and landmarks is not None and face is not None:
                    result = mesh.landmarks(frame, face)
                    if result.found:
                        landmarks[index] = result.points
                reporter.advance()
        crops.flush()
    finally:
        del crops  # release the mapping so the folder can be renamed or removed (Windows)
    return landmarks


def _store_landmarks(folder: Path, raw: np.ndarray | None, smooth_window: int) -> float | None:
    """Fill, smooth and save the landmarks and the mouth openness; returns the open-mouth share.

    None (nothing saved: the avatar renders with the box mask) when the mesh was off or found
    the face in no frame.
    """
    if raw is None:
        return None
    try:
        track, _ = landmark_track(raw, smooth_window)
    except ValueError:
        return None
    openness = mouth_openness(track)
    np.save(folder / storage.LANDMARKS_FILE, track)
    np.save(folder / storage.MOUTH_OPENNESS_FILE, openness)
    return open_mouth_share(openness)


def _fit(width: int, height: int, max_height: int) -> tuple[int, int]:
    if height <= max_height:
        return width, height
    return max(2, round(width * max_height / height / 2) * 2), max_height


def _resized(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _write_thumbnail(path: Path, frame: np.ndarray) -> None:
    from avatar_studio.media.image_io import write_jpeg

    height, width = frame.shape[:2]
    scale = min(1.0, THUMBNAIL_MAX_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    write_jpeg(path, _resized(frame, size), 90)
