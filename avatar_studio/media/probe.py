"""What a media file contains, read from the bundled ffmpeg (imageio-ffmpeg ships no ffprobe).

Two cheap ffmpeg runs, no decoding:

1. `ffmpeg -i FILE` prints the container/stream header on stderr: format, duration, codecs, coded
   size, the rates ffmpeg calls "fps" (the average frame rate) and "tbr" (its guess of the base
   frame rate, r_frame_rate), and the display-matrix side data phones write for portrait footage.
2. `ffmpeg -i FILE -map 0:V -c copy -f null -` only demuxes: it counts the video packets, which is
   the exact frame count for every common container, in milliseconds even for long files.

Conventions:
- `width`/`height` are the size as displayed, i.e. after rotation (ffmpeg's decoder autorotates by
  default, so frames read with `video_reader` have exactly this size).
- `rotation` is the clockwise angle the player turns the coded picture by (the legacy `rotate` tag
  convention; ffmpeg prints the display matrix counter-clockwise, "rotation of -90.00 degrees").
- Still images have `fps == 0.0`, `fps_fraction is None`, `frame_count == 1`; they carry no rate of
  their own. ffmpeg ignores JPEG EXIF orientation, OpenCV applies it, so for stills the displayed
  size is taken from `image_io.read_image` (what every caller decodes them with).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.ffmpeg import ffmpeg_exe, last_error_line

#: Longest a header read or packet count may take before the file is declared unreadable.
PROBE_TIMEOUT_S = 120

#: Demuxers that read single pictures ("image2" for jpg/tiff, "png_pipe", "webp_pipe", ...).
_IMAGE_DEMUXER = re.compile(r"^(image2|\w+_pipe)$")

_INPUT_LINE = re.compile(r"^Input #0, (?P<format>[^,]+(?:,[^,\s]+)*), from ")
_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)")
_STREAM = re.compile(
    r"^\s*Stream #0:(?P<index>\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: (?P<kind>\w+): (?P<desc>.*)$"
)
_SIZE = re.compile(r"(?:^|[ ,])(?P<w>\d+)x(?P<h>\d+)(?=[ ,]|$)")
_FPS = re.compile(r"(?P<value>[\d.]+k?) fps\b")
_TBR = re.compile(r"(?P<value>[\d.]+k?) tbr\b")
_ROTATION = re.compile(r"rotation of (?P<deg>-?[\d.]+) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(?P<deg>-?\d+)\s*$")
_SAMPLE_RATE = re.compile(r"(?P<hz>\d+) Hz")
_OPEN_ERROR = re.compile(r"Error opening input: (?P<why>.+)$")

#: NTSC-family rates, which ffmpeg prints rounded ("29.97") but which are exact rationals.
_NTSC_BASES = (24, 30, 48, 60, 120, 240)


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one media file that preparation and rendering depend on."""

    path: Path
    has_video: bool
    has_audio: bool
    width: int
    height: int
    rotation: int
    fps: float
    fps_fraction: Fraction | None
    duration_s: float
    frame_count: int
    video_codec: str | None
    audio_codec: str | None
    is_still_image: bool
    variable_frame_rate: bool
    average_fps: float = 0.0
    audio_sample_rate: int | None = None
    video_stream_index: int | None = None
    container: str = ""

    @property
    def aspect_ratio(self) -> float:
        return self.width / self.height if self.height else 0.0


@dataclass
class _Stream:
    index: int
    kind: str
    desc: str
    side_lines: list[str]


def probe_media(path: Path | str) -> MediaInfo:
    """Describe `path`; raises `AvatarStudioError` for anything that is not readable media."""
    path = Path(path)
    _check_file(path)
    header = _read_header(path)
    container = _container(header, path)
    streams = _streams(header)
    video = next(
        (s for s in streams if s.kind == "Video" and "attached pic" not in s.desc), None
    )
    audio = next((s for s in streams if s.kind == "Audio"), None)
    if video is None and audio is None:
        raise AvatarStudioError(
            f"{path.name!r} contains neither video nor audio; choose a video, image or audio file."
        )
    duration = _duration(header)
    audio_codec = _codec(audio.desc) if audio else None
    sample_rate = _int_match(_SAMPLE_RATE, audio.desc, "hz") if audio else None
    if video is None:
        return MediaInfo(
            path=path, has_video=False, has_audio=True, width=0, height=0, rotation=0, fps=0.0,
            fps_fraction=None, duration_s=duration or 0.0, frame_count=0, video_codec=None,
            audio_codec=audio_codec, is_still_image=False, variable_frame_rate=False,
            audio_sample_rate=sample_rate, container=container,
        )

    frame_count = _count_video_packets(path, video.index)
    if _IMAGE_DEMUXER.match(container) and frame_count <= 1:
        return _still_image_info(path, container, video, audio_codec, sample_rate)

    coded_w, coded_h = _size(video.desc, path)
    rotation = _rotation(video.side_lines)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    avg_fps = _rate(_FPS, video.desc)
    base_fps = _rate(_TBR, video.desc)
    if duration is None or duration <= 0:
        nominal = avg_fps or base_fps
        duration = frame_count / float(nominal) if nominal else 0.0
    vfr = _looks_variable(avg_fps, base_fps, frame_count, duration)
    rate = _output_rate(avg_fps, base_fps, vfr)
    if rate is None:
        raise AvatarStudioError(
            f"ffmpeg reports no frame rate for {path.name!r}; re-encode it to a constant frame rate."
        )
    return MediaInfo(
        path=path, has_video=True, has_audio=audio is not None, width=width, height=height,
        rotation=rotation, fps=float(rate), fps_fraction=rate, duration_s=duration,
        frame_count=frame_count, video_codec=_codec(video.desc), audio_codec=audio_codec,
        is_still_image=False, variable_frame_rate=vfr,
        average_fps=frame_count / duration if vfr and duration > 0 else float(rate),
        audio_sample_rate=sample_rate, video_stream_index=video.index, container=container,
    )


def media_duration(path: Path | str) -> float:
    """Duration of any media file in seconds (0.0 for a still image)."""
    return probe_media(path).duration_s


def as_fraction(fps: float | Fraction) -> Fraction:
    """An exact rate from a float: 29.97 (or 30000/1001 as a float) becomes 30000/1001, 12.5 25/2."""
    if isinstance(fps, Fraction):
        return fps
    for base in _NTSC_BASES:
        if abs(float(fps) - base * 1000 / 1001) < 0.006:
            return Fraction(base * 1000, 1001)
    return Fraction(float(fps)).limit_denominator(1001)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AvatarStudioError(f"{str(path)!r} does not exist; check the path.")
    if path.is_dir():
        raise AvatarStudioError(f"{str(path)!r} is a folder; choose a media file inside it.")
    if path.stat().st_size == 0:
        raise AvatarStudioError(f"{path.name!r} is empty (0 bytes); choose a complete media file.")


def _run(args: list[str], path: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
            capture_output=True, timeout=PROBE_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        raise AvatarStudioError(
            f"ffmpeg took over {PROBE_TIMEOUT_S} s to read {path.name!r}; "
            "check that it is a regular, complete media file."
        ) from None


def _read_header(path: Path) -> list[str]:
    """`ffmpeg -i FILE` (no output: it exits 1 after printing the header) as lines."""
    text = _run(["-i", str(path)], path).stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    if not any(_INPUT_LINE.match(line) for line in lines):
        why = next((m["why"] for line in lines if (m := _OPEN_ERROR.search(line))), None)
        detail = f" ({why.strip()})" if why else ""
        raise AvatarStudioError(
            f"{path.name!r} is not a media file ffmpeg can read{detail}; "
            "choose a video, image or audio file."
        )
    return lines


def _container(lines: list[str], path: Path) -> str:
    for line in lines:
        if m := _INPUT_LINE.match(line):
            return m["format"]
    raise AssertionError(f"header of {path} lost its Input line")  # _read_header checked it


def _streams(lines: list[str]) -> list[_Stream]:
    """Each stream line with the indented side-data/metadata lines that follow it."""
    streams: list[_Stream] = []
    for line in lines:
        if m := _STREAM.match(line):
            streams.append(_Stream(int(m["index"]), m["kind"], m["desc"], []))
        elif streams and line.startswith("    "):
            streams[-1].side_lines.append(line)
        elif streams and not line.startswith(" "):
            break  # the header is over ("At least one output file must be specified")
    return streams


def _duration(lines: list[str]) -> float | None:
    for line in lines:
        if m := _DURATION.search(line):
            return int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"])
    return None


def _codec(desc: str) -> str:
    return desc.split(",", 1)[0].split(" ", 1)[0].strip()


def _size(desc: str, path: Path) -> tuple[int, int]:
    m = _SIZE.search(desc)
    if m is None or int(m["w"]) == 0 or int(m["h"]) == 0:
        raise AvatarStudioError(
            f"ffmpeg cannot tell the picture size of {path.name!r}; the file may be damaged."
        )
    return int(m["w"]), int(m["h"])


def _int_match(pattern: re.Pattern[str], text: str, group: str) -> int | None:
    m = pattern.search(text)
    return int(m[group]) if m else None


def _rotation(side_lines: list[str]) -> int:
    """Clockwise display rotation, snapped to a multiple of 90 degrees."""
    for line in side_lines:
        if m := _ROTATION.search(line):
            return round(-float(m["deg"]) / 90) * 90 % 360
        if m := _ROTATE_TAG.match(line):
            return round(float(m["deg"]) / 90) * 90 % 360
    return 0


def _rate(pattern: re.Pattern[str], desc: str) -> Fraction | None:
    """A rate as ffmpeg prints it ("25", "29.97", "90k") turned back into an exact fraction."""
    m = pattern.search(desc)
    if m is None:
        return None
    text = m["value"]
    value = Fraction(text[:-1]) * 1000 if text.endswith("k") else Fraction(text)
    return as_fraction(float(value)) if value > 0 else None


def _looks_variable(
    avg: Fraction | None, base: Fraction | None, frame_count: int, duration: float
) -> bool:
    """Best-effort variable-frame-rate test (ffmpeg keeps no flag for it).

    Variable when the average rate ("fps") and the base rate ("tbr") disagree by more than 1 %,
    except by exactly 2x (interlaced material reports the field rate as tbr); or when the exact
    frame count is off from duration x rate by more than 2 frames and 2 % (Matroska/WebM
    store no average rate, so ffmpeg prints tbr for both there).
    """
    if avg and base:
        ratio = float(base / avg)
        if abs(ratio - 1) > 0.01 and abs(ratio - 2) > 0.01:
            return True
    rate = avg or base
    if rate and duration > 0:
        expected = duration * float(rate)
        if abs(frame_count - expected) > max(2.0, 0.02 * expected):
            return True
    return False


def _output_rate(avg: Fraction | None, base: Fraction | None, vfr: bool) -> Fraction | None:
    """The constant rate frames are read at: the average rate, or for variable-rate input the
    base rate the camera aimed at (phones record "29.87 fps, 30 tbr"), when it is plausible."""
    if vfr and base and base <= 240:
        return base
    return avg or base


def _still_image_info(
    path: Path, container: str, video: _Stream, audio_codec: str | None, sample_rate: int | None
) -> MediaInfo:
    from avatar_studio.media.image_io import exif_rotation, read_image

    height, width = read_image(path).shape[:2]
    return MediaInfo(
        path=path, has_video=True, has_audio=False, width=width, height=height,
        rotation=exif_rotation(path), fps=0.0, fps_fraction=None, duration_s=0.0, frame_count=1,
        video_codec=_codec(video.desc), audio_codec=audio_codec, is_still_image=True,
        variable_frame_rate=False, audio_sample_rate=sample_rate,
        video_stream_index=video.index, container=container,
    )


def _count_video_packets(path: Path, stream_index: int) -> int:
    """Exact frame count by demuxing only (`-c copy` to the null muxer), no decoding."""
    proc = _run(
        ["-loglevel", "error", "-i", str(path), "-map", f"0:{stream_index}", "-c", "copy",
         "-f", "null", "-", "-progress", "pipe:1", "-nostats"],
        path,
    )
    counts = re.findall(rb"^frame=(\d+)", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not counts:
        raise AvatarStudioError(
            f"Could not read the video frames of {path.name!r} ({last_error_line(proc.stderr)}); "
            "the file may be damaged."
        )
    return int(counts[-1])
