"""How an avatar's frames are kept on disk: one JPEG (quality 95) per frame in `frames/`.

The renderer reads frames lazily in ping-pong (0..N-1, N-2..1, 0..) or loop order and must never
hold the clip in memory. Four stores were measured on the `../shared/media/` clips (844x844 x 125
frames / 704x1216 downscaled to 626x1080 x 268; 2 heavily loaded cores, so compare rows, not
absolute speeds; `benchmarks/bench_prepare.py --storage` repeats it):

| store | disk per frame | write | read in ping-pong order | PSNR |
|---|---|---|---|---|
| JPEG q95 sequence | 97 / 140 KiB | 399 / 231 fps | 197 / 304 fps (599 / 328 with read-ahead) | 49.2 / 45.1 dB |
| raw `.npy` memmap | 2087 / 1981 KiB | 162 / 175 fps | 4992 / 7555 fps (from the page cache) | lossless |
| H.264 crf 14 yuv420p, GOP 12 | 13 / 16 KiB | 46 / 45 fps | 190 / 185 fps forward, 100 / 105 backward | 40.1 / 40.4 dB |
| H.264 crf 12 yuv444p, GOP 12 | 21 / 22 KiB | 27 / 24 fps | 90 / 48 fps forward, 48 / 41 backward | 48.1 / 46.5 dB |

Decision: JPEG. Raw arrays need 6 MB per 1920x1080 frame (46 GB for five minutes): out. A stored
video is 7-10x smaller, but the backward half of every ping-pong must seek and decode GOP-sized
blocks and hold them in memory (about half the forward speed here), exact seeking depends on the
decoder, and only yuv444 keeps the quality — at a quarter of JPEG's read speed. A JPEG is read
in one call, in any order, at the same speed forwards and backwards, holding one frame, and two
threads decode ahead (OpenCV releases the GIL) so reading never limits the renderer. The price
is disk: about 400 KiB per 1920x1080 frame, some 3 GB for five minutes of footage.

Transparency: JPEG has no alpha, so an avatar made from a source with an alpha channel also keeps
one lossless greyscale PNG per frame in `alpha/` (a matte is mostly flat: a few KiB each). The
renderer reads it back with the frame: BGRA for .webm/.mov, composited over black otherwise.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.image_io import write_jpeg, write_png

STORAGE_KIND = "jpeg-sequence"
JPEG_QUALITY = 95
FRAMES_DIR = "frames"
ALPHA_DIR = "alpha"
BOXES_FILE = "boxes.npy"
CROPS_FILE = "crops.npy"
#: (N, 468, 2) float32 face-mesh landmarks in frame pixels (smoothed, filled); absent in older avatars.
LANDMARKS_FILE = "landmarks.npy"
#: (N,) float32 per frame: inner-lip gap over mouth width (see `faces.landmarks.mouth_openness`).
MOUTH_OPENNESS_FILE = "mouth_openness.npy"
THUMBNAIL_FILE = "thumbnail.jpg"
PREVIEW_FILE = "preview.mp4"
CROP_SIZE = 96
#: Frames decoded ahead of the consumer by `FrameStore.iter_frames` (memory: this many frames).
READ_AHEAD = 4
_DECODE_THREADS = 2


def frame_path(folder: Path, index: int) -> Path:
    return folder / FRAMES_DIR / f"{index:06d}.jpg"


def alpha_path(folder: Path, index: int) -> Path:
    return folder / ALPHA_DIR / f"{index:06d}.png"


def write_frame(folder: Path, index: int, frame: np.ndarray) -> None:
    """Store frame `index` (BGR, or BGRA: its alpha plane goes to `alpha/`) of the avatar being
    prepared in `folder`."""
    if frame.shape[2] == 4:
        (folder / ALPHA_DIR).mkdir(exist_ok=True)
        write_png(alpha_path(folder, index), np.ascontiguousarray(frame[..., 3]), compression=1)
        frame = frame[..., :3]
    write_jpeg(frame_path(folder, index), frame, JPEG_QUALITY)


def keep_alpha_if_used(folder: Path, frame_count: int) -> bool:
    """Whether the stored alpha planes make any pixel transparent; removes them when none does
    (many RGBA files are opaque everywhere, and such an avatar is an ordinary one)."""
    alpha_dir = folder / ALPHA_DIR
    if not alpha_dir.is_dir():
        return False
    store = FrameStore(folder, frame_count, has_alpha=True)
    if any(store.read_alpha(index).min() < 255 for index in range(frame_count)):
        return True
    for path in alpha_dir.iterdir():
        path.unlink()
    alpha_dir.rmdir()
    return False


class FrameStore:
    """Reads the stored frames of one avatar folder; `check(frame, index)` may refuse a frame
    (the avatar checks each decoded frame against its recorded size)."""

    def __init__(
        self,
        folder: Path,
        frame_count: int,
        has_alpha: bool = False,
        check: Callable[[np.ndarray, int], None] | None = None,
    ) -> None:
        self.folder = folder
        self.frame_count = frame_count
        self.has_alpha = has_alpha
        self._check = check

    def read_frame(self, index: int, alpha: bool = False) -> np.ndarray:
        """Frame `index` as a BGR uint8 array; AvatarStudioError when missing or damaged.

        A transparent avatar's frame is BGRA with `alpha`, else composited over black."""
        frame = self._decode(frame_path(self.folder, index), index, cv2.IMREAD_COLOR)
        if self._check is not None:
            self._check(frame, index)
        if not self.has_alpha:
            return cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA) if alpha else frame
        matte = self.read_alpha(index)
        if alpha:
            return np.dstack((frame, matte))
        return cv2.multiply(frame, cv2.cvtColor(matte, cv2.COLOR_GRAY2BGR), scale=1 / 255)

    def read_alpha(self, index: int) -> np.ndarray:
        """The HxW uint8 alpha plane of frame `index` (255 = opaque)."""
        return self._decode(alpha_path(self.folder, index), index, cv2.IMREAD_GRAYSCALE)

    def _decode(self, path: Path, index: int, flags: int) -> np.ndarray:
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame {index} outside 0..{self.frame_count - 1}")
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError:
            data = np.empty(0, dtype=np.uint8)
        image = cv2.imdecode(data, flags) if data.size else None
        if image is None:
            raise AvatarStudioError(
                f"Frame {index} of the avatar in {str(self.folder)!r} is missing or damaged; "
                "re-prepare the avatar."
            )
        return image

    def iter_frames(self, indices: Iterable[int], alpha: bool = False) -> Generator[np.ndarray, None, None]:
        """The frames at `indices` (any order, may be endless), decoded a few frames ahead
        (BGRA with `alpha`, see `read_frame`).

        At most `READ_AHEAD + 1` frames exist at once however long the sequence is; leaving the
        loop early stops the read-ahead.
        """
        with ThreadPoolExecutor(_DECODE_THREADS, thread_name_prefix="avatar-frames") as pool:
            pending: deque[Future[np.ndarray]] = deque()
            try:
                for index in indices:
                    pending.append(pool.submit(self.read_frame, index, alpha))
                    if len(pending) > READ_AHEAD:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
