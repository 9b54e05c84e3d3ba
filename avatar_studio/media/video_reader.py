"""Stream the frames of a video (or a still image) as BGR uint8 arrays, one ffmpeg process per pass.

Why one ffmpeg pipe rather than cv2.VideoCapture: the bundled ffmpeg honours the rotation phones
write (it autorotates by default; verified with a display-matrix clip in the tests), normalises
variable frame rates with its `fps` filter, downscales with area averaging, and reads every format
the rest of the app accepts, with the same decoder the renderer's writer uses.

Memory stays flat: frames are read one at a time from the pipe. ffmpeg's stderr is drained by a
thread (it would otherwise fill its pipe and stall both processes), and the process is killed and
reaped whenever iteration ends early: `break`, an exception, cancellation or `close()`.
Still images yield exactly one frame, decoded by OpenCV so that EXIF orientation is applied.
Not handled: non-square pixels (anamorphic SAR, rare outside DV/broadcast footage) are read at
their stored width.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from avatar_studio.choices import MAX_FPS, MIN_FPS
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.ffmpeg import base_args, path_arg, start_ffmpeg
from avatar_studio.media.ffmpeg_process import StderrTail, read_into, stop_process
from avatar_studio.media.image_io import read_image, read_image_with_alpha
from avatar_studio.media.probe import MediaInfo, probe_media
from avatar_studio.media.rates import exact_rate
from avatar_studio.progress import CancelToken

#: Rate given to still images when the caller names none (one picture has no rate of its own).
DEFAULT_STILL_FPS = Fraction(25)
#: Limits on a requested output rate; beyond them it is certainly a typo.
MIN_MAX_HEIGHT = 16
#: yuv -> BGR conversion. swscale's defaults decode a BT.709 grey 128 as 128 but shift colours
#: by 1-2 levels (mean error 1.3 on a face at crf 0); "accurate_rnd" alone skews green by -2;
#: both flags bring the round trip with VideoWriter to a mean error of 0.5 with no bias. Cost,
#: measured on the 704x1216 clip: ~10 ms/frame instead of ~2.5 ms in the ffmpeg process (h264
#: decoding included), i.e. still ~100 fps; nil for "bgr24" (libx264rgb) storage, which needs no
#: conversion.
_SWS_FLAGS = "accurate_rnd+full_chroma_int"


class VideoFrameSource:
    """The frames of one media file at a fixed output size and constant rate.

    `width`/`height` are the output size (after rotation and any downscale), `fps`/`fps_fraction`
    the output rate, `frame_count` the frames a pass is expected to yield: exact for untouched
    constant-rate video and stills, an estimate (duration x rate) when the rate is converted.
    With `keep_alpha` a source that has an alpha channel yields HxWx4 BGRA frames (`has_alpha`).
    """

    def __init__(
        self, info: MediaInfo, *, fps: float | Fraction | None = None, max_height: int | None = None,
        keep_alpha: bool = False,
    ) -> None:
        if not info.has_video:
            raise AvatarStudioError(
                f"{info.path.name!r} has no picture (audio only); choose a video or image file."
            )
        self.source_info = info
        self.width, self.height = _output_size(info.width, info.height, max_height)
        self._scaled = (self.width, self.height) != (info.width, info.height)
        self.fps_fraction = _output_rate(info, fps)
        self.fps = float(self.fps_fraction)
        self._convert_rate = not info.is_still_image and (
            info.variable_frame_rate or self.fps_fraction != info.fps_fraction
        )
        self.frame_count = self._expected_frames()
        self.has_alpha = keep_alpha and info.has_alpha
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._closed: set[subprocess.Popen[bytes]] = set()

    @property
    def channels(self) -> int:
        return 4 if self.has_alpha else 3

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * self.channels

    def frames(self, cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
        """Yield each frame as a new writable HxWx3 BGR uint8 array, from the first frame on.

        Every call is a fresh pass over the file (one new ffmpeg process).
        Raises `Cancelled` when `cancel` is set, `AvatarStudioError` when decoding fails.
        """
        if cancel is not None:
            cancel.raise_if_cancelled()
        if self.source_info.is_still_image:
            yield self._still_frame()
            return
        proc = start_ffmpeg(self._command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._procs.add(proc)
        errors = StderrTail(proc.stderr)
        try:
            assert proc.stdout is not None
            while True:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                frame = bytearray(self.frame_bytes)
                got = read_into(proc.stdout, frame)
                if got == 0:
                    break
                if got < len(frame):
                    proc.wait()
                    if proc in self._closed:
                        return
                    raise self._decode_error(errors, "it stopped in the middle of a frame")
                yield np.frombuffer(frame, dtype=np.uint8).reshape(self.height, self.width, self.channels)
            if proc.wait() != 0 and proc not in self._closed:
                raise self._decode_error(errors, "ffmpeg failed")
        finally:
            stop_process(proc)
            errors.join()
            self._procs.discard(proc)
            self._closed.discard(proc)

    def close(self) -> None:
        """Stop any pass still running (also done when a `frames()` loop is left early).

        Safe from another thread: a pass blocked reading in a worker then simply ends.
        """
        for proc in list(self._procs):
            self._closed.add(proc)  # a pass reading in another thread sees EOF and just ends
            if proc.poll() is None:
                proc.kill()
            proc.wait()  # reaped now; the pass itself closes the pipes when it ends

    def __enter__(self) -> VideoFrameSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _command(self) -> list[str]:
        info = self.source_info
        filters = []
        if self._convert_rate:
            filters.append(f"fps={self.fps_fraction.numerator}/{self.fps_fraction.denominator}")
        if self._scaled:
            filters.append(f"scale={self.width}:{self.height}:flags=area")
        return [
            *base_args(),
            "-xerror",  # a damaged file must fail loudly, not decode into smeared frames
            *(["-c:v", info.alpha_decoder] if self.has_alpha and info.alpha_decoder else []),
            "-i", path_arg(info.path),
            "-sws_flags", _SWS_FLAGS,
            "-map", f"0:{info.video_stream_index}", "-an", "-sn", "-dn",
            *(["-vf", ",".join(filters)] if filters else []),
            "-fps_mode", "passthrough",
            "-pix_fmt", "bgra" if self.has_alpha else "bgr24", "-f", "rawvideo", "pipe:1",
        ]  # fmt: skip

    def _expected_frames(self) -> int:
        info = self.source_info
        if info.is_still_image or not self._convert_rate:
            return info.frame_count
        return max(1, round(info.video_duration_s * self.fps))

    def _still_frame(self) -> np.ndarray:
        path = self.source_info.path
        image = read_image_with_alpha(path) if self.has_alpha else read_image(path)
        if self._scaled:
            image = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return image

    def _decode_error(self, errors: StderrTail, fallback: str) -> AvatarStudioError:
        errors.join()
        why = errors.reason() or fallback
        return AvatarStudioError(
            f"Could not decode {self.source_info.path.name!r} ({why}); "
            "the file may be damaged: re-export or re-encode it."
        )


def open_video(
    path: Path | str, *, fps: float | Fraction | None = None, max_height: int | None = None,
    keep_alpha: bool = False,
) -> VideoFrameSource:
    """Probe `path` and prepare to stream it (see `VideoFrameSource`).

    `fps`: constant output rate (default: the source's own; stills default to 25); variable-rate
    sources are always converted to a constant rate. `max_height`: downscale taller pictures to
    this many lines (rounded down to even, width kept even and in proportion); never upscales.
    """
    return VideoFrameSource(probe_media(path), fps=fps, max_height=max_height, keep_alpha=keep_alpha)


def _output_rate(info: MediaInfo, fps: float | Fraction | None) -> Fraction:
    if fps is None:
        return info.fps_fraction or DEFAULT_STILL_FPS
    rate = exact_rate(fps)
    if not MIN_FPS <= rate <= MAX_FPS:
        raise AvatarStudioError(
            f"A frame rate of {float(fps):g} is not usable; choose a rate from {MIN_FPS:g} to {MAX_FPS:g}, e.g. 25."
        )
    return rate


def _output_size(width: int, height: int, max_height: int | None) -> tuple[int, int]:
    """Displayed size, downscaled to `max_height` if taller; a downscaled size is always even."""
    if max_height is None or height <= max_height:
        return width, height
    if max_height < MIN_MAX_HEIGHT:
        raise AvatarStudioError(
            f"A maximum height of {max_height} lines is too small; choose at least {MIN_MAX_HEIGHT}."
        )
    new_height = max_height - max_height % 2
    new_width = max(2, round(width * new_height / height / 2) * 2)
    return new_width, new_height
