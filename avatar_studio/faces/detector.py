"""MediaPipe's Tasks `FaceDetector` over the BlazeFace models vendored in `resources/models/`.

IMAGE running mode: BlazeFace has no temporal state in the Tasks API (VIDEO mode only adds a
timestamp check), so frames are independent and the track is built afterwards in `faces.boxes`.
The detector must be closed explicitly (use it as a context manager): its finalizer raises when it
runs at interpreter exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from avatar_studio.choices import DETECTOR_MODELS, DetectorModel, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.paths import resource_path

# Only the short-range model: mediapipe 0.10.31's Tasks face-detector graph is built for its 896
# anchors, and the full-range model (2304 anchors) fails on the first frame (RET_CHECK num_boxes).
# Short range covers faces within about 2 m of the camera, i.e. every talking-head shot.

_MODEL_FILES = {"short_range": "face_detection_short_range.tflite"}


@dataclass(frozen=True)
class FaceBox:
    """One detected face in pixel coordinates of the frame it was found in.

    `keypoints` are BlazeFace's six points in pixels, in its order: right eye, left eye, nose tip,
    mouth centre, right ear tragion, left ear tragion (the subject's right/left).
    """

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def as_array(self) -> np.ndarray:
        return np.array([self.x1, self.y1, self.x2, self.y2], dtype=np.float64)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at the null device while mediapipe starts its graph.

    TFLite and absl print start-up chatter ("Created TensorFlow Lite XNNPACK delegate", "Feedback
    manager requires ...") straight to fd 2, ignoring Python's and glog's settings; the CLI promises
    one line on stderr for bad input. Anything else written to fd 2 during those milliseconds is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class FaceDetector:
    """Detects faces in BGR frames. `with FaceDetector() as det: boxes = det.detect(frame)`."""

    def __init__(self, model: DetectorModel = "short_range", min_confidence: float = 0.5) -> None:
        check_choice("face detector", model, DETECTOR_MODELS)
        path = resource_path("models", _MODEL_FILES[model])
        if not path.is_file():
            raise AvatarStudioError(
                f"The face detector model {path} is missing; reinstall Avatar Studio or restore resources/models/."
            )
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceDetectorOptions(
            # The model is passed as bytes: mediapipe's file loader mishandles some non-ASCII paths.
            base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
            running_mode=vision.RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
        )
        self.model = model
        with _native_stderr_silenced():
            self._detector = vision.FaceDetector.create_from_options(options)

    def detect(self, frame_bgr: np.ndarray) -> list[FaceBox]:
        """All faces in `frame_bgr` (H, W, 3 uint8), most confident first."""
        import mediapipe as mp

        if self._detector is None:
            raise RuntimeError("FaceDetector used after close()")
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        result = self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        height, width = frame_bgr.shape[:2]
        faces = []
        for detection in result.detections:
            box = detection.bounding_box
            score = detection.categories[0].score if detection.categories else 0.0
            keypoints = tuple((kp.x * width, kp.y * height) for kp in detection.keypoints or ())
            faces.append(FaceBox(
                float(box.origin_x), float(box.origin_y),
                float(box.origin_x + box.width), float(box.origin_y + box.height),
                float(score or 0.0), keypoints,
            ))
        faces.sort(key=lambda face: face.score, reverse=True)
        return faces

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
