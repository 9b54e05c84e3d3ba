"""Still images in and out, as BGR uint8 arrays (OpenCV's order, the order the whole engine uses).

Decoding goes through `np.fromfile` + `cv2.imdecode` rather than `cv2.imread` because the latter
cannot open non-ASCII paths on Windows; encoding mirrors it with `cv2.imencode` + `tofile`.
`cv2.IMREAD_COLOR` applies the EXIF orientation of phone photos, so pictures come out upright
(ffmpeg would ignore that tag, which is why stills are never decoded with ffmpeg here).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from avatar_studio.atomic_files import atomic_output
from avatar_studio.choices import IMAGE_SUFFIXES
from avatar_studio.errors import AvatarStudioError

#: File suffixes treated as still pictures (lower case, with the dot).

#: Clockwise rotation each EXIF orientation value stands for (mirrored variants share the angle).
_EXIF_ROTATION = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}
_EXIF_ORIENTATION_TAG = 0x0112


def read_image(path: Path | str) -> np.ndarray:
    """Decode an image file to an upright HxWx3 BGR uint8 array (alpha dropped, grey expanded)."""
    path = Path(path)
    image = cv2.imdecode(_read_bytes(path), cv2.IMREAD_COLOR)
    if image is None:
        raise AvatarStudioError(
            f"{path.name!r} is not an image OpenCV can decode; use a JPEG, PNG, WebP or BMP file."
        )
    return image


def read_image_with_alpha(path: Path | str) -> np.ndarray:
    """Decode an image with an alpha channel (RGBA PNG/WebP) to HxWx4 BGRA uint8 (16-bit
    images scaled to 8). Alpha pictures carry no EXIF orientation in practice: none is applied."""
    path = Path(path)
    image = cv2.imdecode(_read_bytes(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return cv2.cvtColor(read_image(path), cv2.COLOR_BGR2BGRA)  # no alpha after all: opaque
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return image


def exif_rotation(path: Path | str) -> int:
    """Clockwise degrees (0/90/180/270) a JPEG's EXIF Orientation tag asks for; 0 without one.

    `read_image` already applies it; this only lets metadata say that the source was rotated.
    Reads the JPEG's segment headers only, no decoding.
    """
    return _EXIF_ROTATION.get(_tiff_orientation(_jpeg_exif(_read_bytes(Path(path)).tobytes())), 0)


def write_jpeg(path: Path | str, image: np.ndarray, quality: int = 95) -> Path:
    """Write a BGR image as JPEG atomically (temp file + rename); returns the path."""
    return _write(Path(path), image, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)])


def write_png(path: Path | str, image: np.ndarray, compression: int = 3) -> Path:
    """Write a BGR image as lossless PNG atomically (temp file + rename); returns the path."""
    return _write(Path(path), image, ".png", [cv2.IMWRITE_PNG_COMPRESSION, int(compression)])


def is_image_path(path: Path | str) -> bool:
    """Whether the file name says still picture (the caller still probes the content)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _read_bytes(path: Path) -> np.ndarray:
    if not path.is_file():
        raise AvatarStudioError(f"{str(path)!r} does not exist or is not a file; check the path.")
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise AvatarStudioError(f"{path.name!r} is empty (0 bytes); choose a complete image file.")
    return data


def _write(path: Path, image: np.ndarray, ext: str, params: list[int]) -> Path:
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 HxW or HxWx3 image, got {image.dtype} {image.shape}")
    ok, encoded = cv2.imencode(ext, image, params)
    if not ok:
        raise AvatarStudioError(f"Could not encode an image for {path.name!r}.")
    with atomic_output(path) as temp:
        encoded.tofile(temp)
    return path


def jpeg_size(path: Path | str) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding; None if it is not a JPEG.

    Reads only the first 64 KiB (the headers of the files this project writes fit in far less).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return None
    for marker, segment in _jpeg_segments(head):
        if marker in _SOF_MARKERS and len(segment) >= 5:
            height, width = struct.unpack_from(">HH", segment, 1)
            return width, height
    return None


#: Start-of-frame markers (baseline, progressive, ...): all of 0xC0-0xCF except DHT, JPG and DAC.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of each header segment of a JPEG, up to the picture data."""
    if not data.startswith(b"\xff\xd8"):
        return
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker in (0xDA, 0xD9):  # start of the picture data / end of image: no more headers
            return
        (length,) = struct.unpack_from(">H", data, offset + 2)
        yield marker, data[offset + 4 : offset + 2 + length]
        offset += 2 + length


def _jpeg_exif(data: bytes) -> bytes:
    """The TIFF block of a JPEG's APP1 "Exif" segment; b"" for other files or without one."""
    for marker, segment in _jpeg_segments(data):
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return segment[6:]
    return b""


def _tiff_orientation(exif: bytes) -> int:
    """The Orientation entry of IFD0 in an EXIF (TIFF-structured) block; 1 when absent."""
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if exif[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", exif, 4)
    if ifd + 2 > len(exif):
        return 1
    (entries,) = struct.unpack_from(order + "H", exif, ifd)
    for i in range(entries):
        offset = ifd + 2 + 12 * i
        if offset + 12 > len(exif):
            break
        tag, _type, _count, value = struct.unpack_from(order + "HHIH", exif, offset)
        if tag == _EXIF_ORIENTATION_TAG:
            return value
    return 1
