"""MediaPipe's Face Mesh (468 landmarks) on the face BlazeFace found, through ONNX Runtime's CPU provider.

The mesh model expects what MediaPipe's own graph feeds it: a square crop around the detected
face, rotated so the line between the two eye keypoints is level and enlarged to 1.5x the box's
longer side, resized to 192x192, RGB in [0, 1], NCHW. Its 468 (x, y) outputs are pixels of that
crop; `FaceMesh.landmarks` maps them back to full-frame pixels through the same affine transform.

The session is created once per preparation with one intra-op thread: a 192x192 crop is too small
to gain from more, and preparation already runs the decoder, detector and JPEG writer in parallel.
The vendored file and its facts are in `resources/models/NOTICE.md`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np

from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.boxes import fill_missing, smooth_boxes
from avatar_studio.faces.detector import FaceBox
from avatar_studio.paths import resource_path

MESH_FILE = "face_landmark.onnx"
MESH_INPUT_SIZE = 192
LANDMARK_COUNT = 468
#: MediaPipe enlarges the detector's box by this factor before cropping for the mesh.
CROP_SCALE = 1.5
#: Face-presence logit below which the mesh's points are not trusted (0 = probability 0.5).
MIN_PRESENCE_LOGIT = 0.0

# Indices into the 468-point topology (MediaPipe's published face mesh, see NOTICE.md).
OUTER_LIPS: tuple[int, ...] = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
INNER_LIP_UPPER = 13
INNER_LIP_LOWER = 14
MOUTH_CORNERS = (78, 308)
EYE_CORNERS: tuple[int, ...] = (33, 133, 362, 263)
NOSE_TIP = 1
CHIN = 152
#: Inner-lip gap over mouth width above which a frame counts as "mouth open". Closed lips measure
#: about 0 to 0.05 on the shared clips; speech opens the mouth to 0.1-0.4.
MOUTH_OPEN_RATIO = 0.1
#: An avatar whose mouth is open in more than this share of frames gets the library's note.
OPEN_MOUTH_NOTE_SHARE = 0.5


@dataclass(frozen=True)
class MeshResult:
    """The mesh of one face: (468, 2) float32 full-frame pixel x, y and the face-presence logit."""

    points: np.ndarray
    presence_logit: float

    @property
    def found(self) -> bool:
        return self.presence_logit > MIN_PRESENCE_LOGIT


def crop_transform(face: FaceBox) -> np.ndarray:
    """The 2x3 affine matrix taking mesh-crop pixels (0..192) to frame pixels for `face`.

    Centre: the box centre; side: 1.5x the box's longer side; rotation: the angle of the line from
    the right eye keypoint to the left one (BlazeFace's keypoints 0 and 1), so that in the crop the
    eyes are level. Without keypoints the crop is upright.
    """
    centre_x, centre_y = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
    side = CROP_SCALE * max(face.x2 - face.x1, face.y2 - face.y1)
    angle = 0.0
    if len(face.keypoints) >= 2:
        (right_x, right_y), (left_x, left_y) = face.keypoints[0], face.keypoints[1]
        angle = math.atan2(left_y - right_y, left_x - right_x)
    scale = side / MESH_INPUT_SIZE
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    half = MESH_INPUT_SIZE / 2
    # frame = centre + R(angle) * scale * (crop - half)
    return np.array([
        [cos, -sin, centre_x - cos * half + sin * half],
        [sin, cos, centre_y - sin * half - cos * half],
    ], dtype=np.float64)  # fmt: skip


def mouth_openness(points: np.ndarray) -> np.ndarray:
    """How open the mouth is: inner-lip gap (13-14) over mouth width (78-308), per frame.

    `points` is (468, 2) or (N, 468, 2); about 0 for closed lips, 0.3 or more for a wide-open mouth.
    """
    points = np.asarray(points, dtype=np.float64)
    gap = np.linalg.norm(points[..., INNER_LIP_UPPER, :] - points[..., INNER_LIP_LOWER, :], axis=-1)
    width = np.linalg.norm(points[..., MOUTH_CORNERS[0], :] - points[..., MOUTH_CORNERS[1], :], axis=-1)
    return (gap / np.maximum(width, 1e-6)).astype(np.float32)


def open_mouth_share(openness: np.ndarray) -> float:
    """The share of frames (0..1) whose mouth is open by `MOUTH_OPEN_RATIO` or more."""
    return float(np.mean(np.asarray(openness) >= MOUTH_OPEN_RATIO)) if len(openness) else 0.0


class FaceMesh:
    """468 landmarks of a detected face. `with FaceMesh() as mesh: result = mesh.landmarks(frame, face)`."""

    def __init__(self) -> None:
        path = resource_path("models", MESH_FILE)
        if not path.is_file():
            raise AvatarStudioError(
                f"The face mesh model {path} is missing; reinstall Avatar Studio or restore resources/models/."
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initializers are not the user's business
        self._session: ort.InferenceSession | None = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._outputs = [output.name for output in self._session.get_outputs()]

    def landmarks(self, frame_bgr: np.ndarray, face: FaceBox) -> MeshResult:
        """The mesh of `face` in `frame_bgr` (H, W, 3 uint8), in full-frame pixels."""
        if self._session is None:
            raise RuntimeError("FaceMesh used after close()")
        to_frame = crop_transform(face)
        crop = cv2.warpAffine(
            frame_bgr, to_frame, (MESH_INPUT_SIZE, MESH_INPUT_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        tensor = (crop[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)) * np.float32(1 / 255)
        raw_points, presence = self._session.run(self._outputs, {self._input: tensor})
        crop_xy = np.asarray(raw_points, dtype=np.float64).reshape(LANDMARK_COUNT, 3)[:, :2]
        frame_xy = crop_xy @ to_frame[:, :2].T + to_frame[:, 2]
        return MeshResult(frame_xy.astype(np.float32), float(np.asarray(presence).reshape(-1)[0]))

    def close(self) -> None:
        self._session = None

    def __enter__(self) -> FaceMesh:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def landmark_track(points: np.ndarray, smooth_window: int) -> tuple[np.ndarray, int]:
    """(N, 468, 2) landmarks with NaN where the mesh found no face -> filled and smoothed float32.

    Filled and smoothed exactly as the face boxes are (`faces.boxes`): the mask must follow the
    face as steadily as the box does. Returns (track, frames filled); ValueError if no frame is known.
    """
    count = len(points)
    flat = np.asarray(points, dtype=np.float64).reshape(count, -1)
    filled, missing = fill_missing(flat)
    smoothed = smooth_boxes(filled, smooth_window)
    return smoothed.reshape(count, LANDMARK_COUNT, 2).astype(np.float32), missing
