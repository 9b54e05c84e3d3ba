"""Small synthetic media made with the bundled ffmpeg for the media tests (kept tiny and short)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np

from avatar_studio.media.ffmpeg import ffmpeg_exe


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg; fail the test with its stderr if it fails."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")


def ffmpeg_header(path: Path) -> str:
    """What `ffmpeg -i` prints about `path` (for checks the probe itself does not expose)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, check=False
    )
    return proc.stderr.decode("utf-8", "replace")


def pattern_clip(
    path: Path, *, size: str = "160x96", rate: str = "25", seconds: float = 1.0, audio: bool = False
) -> Path:
    """An H.264 (+ AAC sine) clip of ffmpeg's moving test pattern."""
    inputs = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    ffmpeg(*inputs, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           *(["-c:a", "aac"] if audio else []), str(path))  # fmt: skip
    return path


def sine_wav(path: Path, seconds: float, rate: int = 44100) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={rate}:duration={seconds}", str(path))
    return path


def marker_frame(width: int, height: int) -> np.ndarray:
    """Grey frame with a red block at the top-left and a blue block at the bottom-left: any
    rotation or mirror of it is distinguishable, and so is a red/blue channel swap."""
    frame = np.full((height, width, 3), 128, np.uint8)
    frame[: height // 4, : width // 4] = (0, 0, 255)
    frame[-height // 4 :, : width // 4] = (255, 0, 0)
    return frame


def raw_clip(path: Path, frames: list[np.ndarray], fps: Fraction | int = 25, *extra: str) -> Path:
    """Encode BGR frames with plain ffmpeg (independent of the VideoWriter under test)."""
    height, width = frames[0].shape[:2]
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv444p", *extra, str(path)],
        input=b"".join(f.tobytes() for f in frames), capture_output=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return path


def with_display_rotation(source: Path, target: Path, counter_clockwise_degrees: int) -> Path:
    """Remux `source` with a display matrix, as a phone writes for portrait footage.

    ffmpeg's `-display_rotation` is counter-clockwise; a phone's "rotate=90" is `-display_rotation -90`.
    """
    ffmpeg("-display_rotation", str(counter_clockwise_degrees), "-i", str(source), "-c", "copy", str(target))
    return target


def vfr_clip(path: Path) -> Path:
    """2 s of testsrc at 30 fps keeping all frames of the first second and every third one after:
    30 frames at 30 fps then 10 at 10 fps, timestamps kept as they are (`-fps_mode vfr`)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=128x72:rate=30:duration=2",
           "-vf", "select='lt(n,30)+not(mod(n,3))'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-pix_fmt", "yuv420p",
           str(path))  # fmt: skip
    return path


def exif_jpeg(path: Path, stored: np.ndarray, orientation: int) -> Path:
    """A JPEG of `stored` carrying the EXIF Orientation tag (as cameras write it)."""
    import cv2

    # Big-endian TIFF header, IFD0 with one entry: tag 0x0112 SHORT count 1 = orientation.
    exif = (
        b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01"
        + orientation.to_bytes(2, "big") + b"\x00\x00" + b"\x00\x00\x00\x00"
    )
    ok, encoded = cv2.imencodeWithMetadata(
        ".jpg", stored, [cv2.IMAGE_METADATA_EXIF], [np.frombuffer(exif, np.uint8)],
        [cv2.IMWRITE_JPEG_QUALITY, 98],
    )
    assert ok
    encoded.tofile(path)
    return path


def side_matte(height: int, width: int) -> np.ndarray:
    """An alpha plane for a presenter cut out of the background: the outer eighth on each side
    transparent, a soft 8-pixel ramp, the middle (where the face is) opaque."""
    column = np.clip((np.minimum(np.arange(width), width - 1 - np.arange(width)) - width // 8) * 32, 0, 255)
    return np.repeat(column.astype(np.uint8)[None, :], height, axis=0)


def rgba_media(path: Path, frames: list[np.ndarray], alphas: list[np.ndarray], *codec: str, fps: int = 25) -> Path:
    """BGR frames plus their alpha planes, encoded by the bundled ffmpeg from bgra with `codec`
    (e.g. "-c:v", "png" for a still .png, "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p" for .webm)."""
    height, width = frames[0].shape[:2]
    data = b"".join(np.dstack((f, a)).tobytes() for f, a in zip(frames, alphas, strict=True))
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "rawvideo", "-pix_fmt", "bgra", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
         *codec, str(path)],
        input=data, capture_output=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return path


def read_bgra(path: Path, width: int, height: int, decoder: tuple[str, ...] = ()) -> np.ndarray:
    """Every frame of `path` as (N, height, width, 4) BGRA, decoded by the bundled ffmpeg
    (`decoder`: e.g. ("-c:v", "libvpx-vp9"), which VP9's alpha needs)."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *decoder, "-i", str(path),
         "-f", "rawvideo", "-pix_fmt", "bgra", "pipe:1"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 4)
