"""What a media file contains, read from the bundled ffmpeg (imageio-ffmpeg ships no ffprobe).

Two cheap ffmpeg runs, no decoding:

1. `ffmpeg -i FILE` prints the container/stream header on stderr: format, duration, codecs, coded
   size, the rates ffmpeg calls "fps" (the average frame rate) and "tbr" (its guess of the base
   frame rate, r_frame_rate), and the display-matrix side data phones write for portrait footage.
2. `ffmpeg -i FILE -map 0:<video> -c copy -f framecrc -` only demuxes and lists every video packet with
   its timestamp: the exact frame count (one packet is one frame in every common container) and
   the frame intervals, in milliseconds even for long files.

Variable frame rate is decided from those intervals (any one more than 5 % off the median),
which is exact, unlike comparing "fps" with "tbr": a variable-rate MP4 remuxed to Matroska prints
the same value for both. The rate such a file is read at is its typical (median) interval's rate,
e.g. 30 for a phone clip that dips to 15 fps in the dark, snapped to the printed or a standard rate.

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

import itertools
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.ffmpeg import (
    ffmpeg_exe,
    last_error_line,
    path_arg,
    start_ffmpeg,
)
from avatar_studio.media.rates import exact_rate, nearest_standard_rate

#: Longest a header read or packet count may take before the file is declared unreadable.
PROBE_TIMEOUT_S = 120

#: Demuxers that read single pictures ("image2" for jpg/tiff, "png_pipe", "webp_pipe", ...).
_IMAGE_DEMUXER = re.compile(r"^(image2|\w+_pipe)$")
#: Pixel formats with an alpha plane (ffmpeg names: yuva420p, rgba, bgra, argb, gbrap, ya8, ...).
_ALPHA_PIXEL_FORMAT = re.compile(r"^(yuva|gbrap|ya\d|rgba|bgra|argb|abgr)")
_ALPHA_MODE = re.compile(r"^\s+alpha_mode\s*:\s*1\s*$")

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

_NO_PTS = -(2**63)  # AV_NOPTS_VALUE as framecrc prints it
_KEY_FLAG, _DISCARD_FLAG = 0x1, 0x4  # AV_PKT_FLAG_*; framecrc prints "F=0x.." unless just KEY


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one media file that preparation and rendering depend on."""

    path: Path
    has_video: bool  # a picture stream (cover art in audio files does not count)
    has_audio: bool
    width: int  # as displayed: after rotation (and EXIF orientation for stills); 0 without video
    height: int
    rotation: int  # clockwise degrees the player turns the coded picture: 0, 90, 180 or 270
    fps: float  # float(fps_fraction); 0.0 for stills and audio
    fps_fraction: Fraction | None  # the constant rate frames are read at; None for stills/audio
    duration_s: float  # the container's duration (video and audio together)
    frame_count: int  # exact number of video frames (packets); 1 for stills
    video_codec: str | None
    audio_codec: str | None
    is_still_image: bool
    variable_frame_rate: bool  # frame intervals vary (see the module docstring)
    average_fps: float = 0.0  # frames per second of video actually present (== fps unless VFR)
    audio_sample_rate: int | None = None
    video_stream_index: int | None = None  # for `-map 0:N`
    container: str = ""  # ffmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    pixel_format: str | None = None  # e.g. "yuv420p"
    video_duration_s: float = 0.0  # the video stream alone: first frame to end of the last
    #: The picture has an alpha channel (RGBA PNG/WebP, ProRes 4444, PNG/QuickTime video, VP8/VP9
    #: with alpha); `alpha_decoder` names the decoder that reads it when ffmpeg's default does not.
    has_alpha: bool = False
    alpha_decoder: str | None = None


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

    timing = _packet_timing(path, video.index)
    if _IMAGE_DEMUXER.match(container) and timing.count <= 1:
        return _still_image_info(path, container, video, audio_codec, sample_rate)

    coded_w, coded_h = _size(video.desc, path)
    rotation = _rotation(video.side_lines)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    rate = _choose_rate(timing.typical_rate, _rate(_FPS, video.desc), _rate(_TBR, video.desc))
    if rate is None:
        raise AvatarStudioError(
            f"ffmpeg finds no frame rate in {path.name!r}; re-encode it to a constant frame rate."
        )
    vfr = timing.irregular
    video_duration = timing.span_s if vfr else timing.count / float(rate)
    return MediaInfo(
        path=path, has_video=True, has_audio=audio is not None, width=width, height=height,
        rotation=rotation, fps=float(rate), fps_fraction=rate,
        duration_s=duration if duration and duration > 0 else video_duration,
        frame_count=timing.count, video_codec=_codec(video.desc), audio_codec=audio_codec,
        is_still_image=False, variable_frame_rate=vfr,
        average_fps=timing.count / video_duration if vfr and video_duration > 0 else float(rate),
        audio_sample_rate=sample_rate, video_stream_index=video.index, container=container,
        pixel_format=_pixel_format(video.desc), video_duration_s=video_duration,
        has_alpha=_has_alpha(video), alpha_decoder=_alpha_decoder(video),
    )


def media_duration(path: Path | str) -> float:
    """Duration of any media file in seconds (0.0 for a still image)."""
    return probe_media(path).duration_s


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AvatarStudioError(f"{str(path)!r} does not exist; check the path.")
    if path.is_dir():
        raise AvatarStudioError(f"{str(path)!r} is a folder; choose a media file inside it.")
    if path.stat().st_size == 0:
        raise AvatarStudioError(f"{path.name!r} is empty (0 bytes); choose a complete media file.")


def _run(args: list[str], path: Path) -> subprocess.CompletedProcess[bytes]:
    proc = start_ffmpeg(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        stdout, stderr = proc.communicate(timeout=PROBE_TIMEOUT_S)
    except BaseException as error:
        proc.kill()
        proc.communicate()
        if not isinstance(error, subprocess.TimeoutExpired):
            raise
        raise AvatarStudioError(
            f"ffmpeg took over {PROBE_TIMEOUT_S} s to read {path.name!r}; "
            "check that it is a regular, complete media file."
        ) from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _read_header(path: Path) -> list[str]:
    """`ffmpeg -i FILE` (no output: it exits 1 after printing the header) as lines."""
    text = _run(["-i", path_arg(path)], path).stderr.decode("utf-8", "replace")
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


def _fields(desc: str) -> list[str]:
    """A stream description split at its top-level commas ("yuv420p(tv, bt709)" stays whole)."""
    fields, depth, start = [], 0, 0
    for i, char in enumerate(desc):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            fields.append(desc[start:i].strip())
            start = i + 1
    fields.append(desc[start:].strip())
    return fields


def _codec(desc: str) -> str:
    return _fields(desc)[0].split(" ", 1)[0]


def _pixel_format(desc: str) -> str | None:
    fields = _fields(desc)
    m = re.match(r"[a-z][a-z0-9_]*", fields[1]) if len(fields) > 1 else None
    return m[0] if m else None


def _alpha_decoder(video: _Stream) -> str | None:
    """VP8/VP9 keep alpha in side data that only libvpx decodes (ffmpeg's native decoder drops it)."""
    if not any(_ALPHA_MODE.match(line) for line in video.side_lines):
        return None
    return {"vp9": "libvpx-vp9", "vp8": "libvpx"}.get(_codec(video.desc))


def _has_alpha(video: _Stream) -> bool:
    pixel_format = _pixel_format(video.desc) or ""
    return bool(_ALPHA_PIXEL_FORMAT.match(pixel_format)) or _alpha_decoder(video) is not None


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
    return exact_rate(float(value)) if value > 0 else None


def _choose_rate(measured: Fraction | None, *printed: Fraction | None) -> Fraction | None:
    """The constant rate frames are read at.

    `measured` is the typical (median) frame interval from the packet timestamps; `printed` are
    ffmpeg's "fps" (average) and "tbr" (base) rates, exact fractions but sometimes misleading (a
    variable-rate file remuxed to Matroska prints its average for both). The first printed rate
    within 2 % of the measured one wins, then the nearest standard rate within 2 %, then the
    measurement itself.
    """
    if measured is None:
        return next((r for r in printed if r), None)
    def off(rate: Fraction) -> float:
        return abs(float(rate / measured) - 1)

    for candidate in printed:
        if candidate and off(candidate) <= 0.02:
            return candidate
    return nearest_standard_rate(measured) or exact_rate(round(float(measured), 3))


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
        video_stream_index=video.index, container=container, pixel_format=_pixel_format(video.desc),
        has_alpha=_has_alpha(video),
    )


@dataclass(frozen=True)
class _PacketTiming:
    """Presentation timestamps of every video packet, read without decoding."""

    count: int
    pts: tuple[int, ...]  # sorted, in ticks of time_base
    time_base: Fraction

    @property
    def _intervals(self) -> list[int]:
        return [b - a for a, b in itertools.pairwise(self.pts)]

    @property
    def _median_interval(self) -> float | None:
        intervals = sorted(self._intervals)
        return float(intervals[len(intervals) // 2]) if intervals else None

    @property
    def typical_rate(self) -> Fraction | None:
        median = self._median_interval
        return 1 / (Fraction(median) * self.time_base) if median else None

    @property
    def irregular(self) -> bool:
        """Variable frame rate: some interval is off the median by more than 5 % (and more than
        the 1.5 ticks of rounding a millisecond time base gives 29.97 fps: 33, 34, 33 ms)."""
        median = self._median_interval
        if not median:
            return False
        tolerance = max(1.5, 0.05 * median)
        return any(abs(d - median) > tolerance for d in self._intervals)

    @property
    def span_s(self) -> float:
        """First frame to the end of the last one (the last lasting a typical interval)."""
        if not self.pts:
            return 0.0
        return float((self.pts[-1] - self.pts[0] + (self._median_interval or 0)) * self.time_base)


def _packet_timing(path: Path, stream_index: int) -> _PacketTiming:
    """Every video packet's timestamp via `-c copy -f framecrc` (demuxing only, no decoding:
    milliseconds per minute of video). One packet is one frame in every common container;
    packets an edit list hides (a clip cut between key frames) are flagged discard and skipped."""
    proc = _run(
        ["-loglevel", "error", "-i", path_arg(path), "-map", f"0:{stream_index}", "-c", "copy",
         "-f", "framecrc", "-"],
        path,
    )  # fmt: skip
    lines = proc.stdout.decode("ascii", "replace").splitlines()
    if proc.returncode != 0:
        raise AvatarStudioError(
            f"Could not read the video frames of {path.name!r} ({last_error_line(proc.stderr)}); "
            "the file may be damaged."
        )
    time_base = next(
        (Fraction(m[1]) for line in lines if (m := re.match(r"#tb \d+: (\d+/\d+)", line))), Fraction(1)
    )
    count, pts = 0, []
    for line in lines:
        fields = [field.strip() for field in line.split(",")]
        if line.startswith("#") or len(fields) < 5:
            continue
        flags = next((int(f[2:], 16) for f in fields[6:] if f.startswith("F=")), _KEY_FLAG)
        if flags & _DISCARD_FLAG:
            continue  # decoded only as a reference for a clip cut mid-GOP; never shown
        count += 1
        value = int(fields[2])
        if value != _NO_PTS:
            pts.append(value)
    return _PacketTiming(count, tuple(sorted(pts)), time_base)
