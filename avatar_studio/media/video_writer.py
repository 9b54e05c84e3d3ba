"""Encode BGR (or BGRA) frames, plus an optional audio file, through one ffmpeg process.

The container follows the output's suffix (`output_formats.py`): H.264/H.265 + AAC in .mp4, .m4v
and .mkv, VP9 + Opus in .webm and ProRes 4444 + PCM in .mov, the last two with an alpha channel
when the frames carry one. The audio file is a second ffmpeg input, encoded and muxed in the
same pass, so there is never a silent intermediate video on disk.

Why it is built this way:
- No `-shortest`: the caller writes as many frames as the audio needs (ceil(duration x fps)), and
  the audio is never cut; the output lasts as long as the longer of the two.
- The exact rational rate (30000/1001, not 29.97) goes to ffmpeg, so timestamps never drift.
- yuv420p (what every player decodes) needs even dimensions; an odd width or height is padded by
  repeating the last pixel column/row on the right/bottom (no black line, no pixel moves, nothing
  cropped), so such a video comes out one pixel wider/taller: see `encoded_size`.
- H.264/H.265 frames are converted to yuv420p here, by OpenCV, before the pipe: half the bytes of
  bgr24 and no swscale pass in ffmpeg (measured in docs/benchmarks.md). OpenCV's conversion is
  the BT.601 matrix in limited range, so that is what the stream is tagged with (primaries and
  transfer stay BT.709/sRGB, which is what the RGB pixels are); players and ffmpeg then decode
  the exact colours. ffmpeg itself converts only for .webm/.mov (BT.709, alpha kept) and for the
  lossless bgr24 storage, where swscale's `accurate_rnd+full_chroma_int` keep a flat grey 128 at
  128 (an output option: before the inputs ffmpeg silently ignores it).
- The file is written under a hidden temporary name in the destination folder and renamed onto the
  destination only after ffmpeg exited cleanly: a crash, error, cancel or Ctrl+C never leaves a
  half-written file, and an existing file is replaced only with `overwrite=True`.
- ffmpeg's stderr is drained by a thread, so a chatty encoder can never block `write()`.
"""

from __future__ import annotations

import os
import subprocess
import weakref
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from avatar_studio.choices import DEFAULT_CRF, DEFAULT_PRESET, ENCODER_PRESETS, MAX_CRF, MIN_CRF, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.encoders import SOFTWARE_H264, input_args
from avatar_studio.media.ffmpeg import base_args, path_arg, start_ffmpeg
from avatar_studio.media.ffmpeg_process import StderrTail, stop_process
from avatar_studio.media.output_formats import OutputFormat, output_format
from avatar_studio.media.probe import MediaInfo, probe_media
from avatar_studio.media.rates import exact_rate
from avatar_studio.media.temp_files import remove_dead_partials, reserve_temp_beside

#: Output pixel formats and the dimension multiples each one needs (chroma subsampling).
#: "bgr24" selects libx264rgb: with crf=0 it stores frames bit-exactly (for avatar storage).
PIXEL_FORMATS: dict[str, tuple[int, int]] = {"yuv420p": (2, 2), "bgr24": (1, 1)}
#: The tags of what `cv2.COLOR_BGR2YUV_I420` produces: BT.601 matrix, limited range, from
#: BT.709/sRGB pixels. Input options of the raw stream; the encoder copies them into the file.
_I420_TAGS = ["-color_range", "tv", "-colorspace", "smpte170m", "-color_primaries", "bt709", "-color_trc", "bt709"]

DEFAULT_AUDIO_BITRATE = "192k"
#: Silences NaN and infinite samples (a damaged float WAV), which make the AAC encoder fail.
_SILENCE_INVALID_SAMPLES = "aeval=exprs='if(isnan(val(ch))+isinf(val(ch)),0,val(ch))':c=same"
_SWS_FLAGS = "accurate_rnd+full_chroma_int"
#: RGB -> limited-range BT.709 YUV, with all colour tags set on the frames (the encoder copies the
#: frames' tags; output options alone left primaries/transfer "unknown").
_TO_BT709 = (
    "scale=out_color_matrix=bt709:out_range=tv,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)


class VideoWriter:
    """A context manager that writes `width`x`height` BGR frames at `fps` into `output` (MP4).

    Use as `with VideoWriter(...) as w: w.write(frame)`; leaving the block normally finishes the
    file, leaving it with an exception (KeyboardInterrupt included) removes every trace of it.
    Without `with`, call `close()` on success and `abort()` on failure.
    `audio_duration_s` cuts the audio input to that many seconds (for previews); otherwise the
    whole audio is muxed. `encoder` is a concrete H.264/H.265 encoder (see
    `encoders.resolve_encoder`), used by the .mp4/.m4v/.mkv formats. With `alpha` the frames
    are BGRA and .webm/.mov keep the alpha channel (the other formats cannot: the caller
    composites such frames itself). `repair_audio` encodes NaN/infinite samples as
    silence (the decoder found some: see `AudioTrack.invalid_samples`).
    """

    def __init__(
        self,
        output: Path | str,
        width: int,
        height: int,
        fps: float | Fraction,
        *,
        audio: Path | str | None = None,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
        overwrite: bool = False,
        pix_fmt: str = "yuv420p",
        audio_bitrate: str = DEFAULT_AUDIO_BITRATE,
        audio_duration_s: float | None = None,
        repair_audio: bool = False,
        encoder: str = SOFTWARE_H264,
        alpha: bool = False,
    ) -> None:
        self.output = Path(output)
        self._repair_audio = repair_audio
        self.width, self.height = int(width), int(height)
        self.fps = exact_rate(fps)
        self.frames_written = 0
        mult_w, mult_h = PIXEL_FORMATS.get(pix_fmt, (1, 1))
        self._pad = (-self.width % mult_w, -self.height % mult_h)
        _check_settings(self.width, self.height, self.fps, crf, preset, pix_fmt, audio_duration_s)
        self.format = check_destination(self.output, overwrite, [audio] if audio is not None else [])
        if alpha and not self.format.keeps_alpha:
            raise ValueError(f"{self.format.suffix} cannot keep an alpha channel")
        self.channels = 4 if alpha else 3
        #: What travels through the pipe: yuv420p converted here for the H.264/H.265 formats.
        self._pipe_format = (
            "bgra" if alpha else "yuv420p" if pix_fmt == "yuv420p" and self.format.uses_encoder_choice else "bgr24"
        )
        self.video_codec = "libx264rgb" if pix_fmt == "bgr24" else self.format.video_codec_name(encoder)
        self.audio = checked_audio(Path(audio)) if audio is not None else None
        self._overwrite = overwrite
        remove_dead_partials(self.output.parent)
        self._temp = reserve_temp_beside(self.output)
        command = self._command(crf, preset, encoder, audio_bitrate, audio_duration_s)
        try:
            self._proc = start_ffmpeg(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except BaseException:
            self._temp.unlink(missing_ok=True)
            raise
        self._stderr = StderrTail(self._proc.stderr)
        self._finished = False
        # A writer dropped without close()/abort() (a caller's bug) must not leave ffmpeg running
        # or a hidden half-written file behind: the finalizer is abort() without `self`.
        self._discard = weakref.finalize(self, _discard, self._proc, self._stderr, self._temp)

    @property
    def encoded_size(self) -> tuple[int, int]:
        """(width, height) of the encoded video: the frame size, padded to what `pix_fmt` needs."""
        return self.width + self._pad[0], self.height + self._pad[1]

    @property
    def temp_path(self) -> Path:
        """Where the file is being written until `close()` renames it onto `output`."""
        return self._temp

    def write(self, frame: np.ndarray) -> None:
        """Append one HxWx3 uint8 BGR frame (HxWx4 BGRA with `alpha`); `AvatarStudioError` if
        ffmpeg has stopped."""
        if self._finished:
            raise RuntimeError("write() after close() or abort()")
        if frame.shape != (self.height, self.width, self.channels) or frame.dtype != np.uint8:
            raise ValueError(
                f"expected a ({self.height}, {self.width}, {self.channels}) uint8 "
                f"{'BGRA' if self.channels == 4 else 'BGR'} frame, got {frame.shape} {frame.dtype}"
            )
        if any(self._pad):
            frame = np.pad(frame, ((0, self._pad[1]), (0, self._pad[0]), (0, 0)), mode="edge")
        if self._pipe_format == "yuv420p":
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, ValueError):
            self._proc.wait()
            raise self._failure() from None
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding and move the file onto `output`; returns `output`.

        Does nothing after `close()` or `abort()` (so leaving a `with` block after an explicit
        abort writes nothing)."""
        if self._finished:
            return self.output
        if self.frames_written == 0:
            self.abort()
            raise AvatarStudioError(f"No frames were produced for {self.output.name!r}; nothing was written.")
        try:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg already exited; its return code says why
            if self._proc.wait() != 0:
                raise self._failure()
            if self.output.exists() and not self._overwrite:
                raise _exists_error(self.output)  # appeared while we were encoding
            os.replace(self._temp, self.output)
        except BaseException:
            self.abort()
            raise
        self._discard.detach()
        self._finished = True
        self._stderr.join()
        return self.output

    def abort(self) -> None:
        """Stop ffmpeg and delete the partial file; the destination is left as it was."""
        self._finished = True
        self._discard()  # runs once; later calls do nothing

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _command(
        self, crf: int, preset: str, encoder: str, audio_bitrate: str, audio_duration_s: float | None
    ) -> list[str]:
        rate = f"{self.fps.numerator}/{self.fps.denominator}"
        width, height = self.encoded_size
        tags = _I420_TAGS if self._pipe_format == "yuv420p" else []
        video_input = [
            "-f", "rawvideo", "-pix_fmt", self._pipe_format, "-s", f"{width}x{height}", "-r", rate,
            *tags, "-i", "pipe:0",
        ]  # fmt: skip
        audio_input = []
        if self.audio is not None:
            cut = ["-t", f"{audio_duration_s:.6f}"] if audio_duration_s is not None else []
            audio_input = [*cut, "-i", path_arg(self.audio)]
        maps = ["-map", "0:v:0", *(["-map", "1:a:0"] if self.audio is not None else [])]
        if self.video_codec == "libx264rgb":
            video_codec = ["-c:v", "libx264rgb", "-preset", preset, "-crf", str(crf), "-pix_fmt", "bgr24"]
        else:
            converted_here = self._pipe_format == "yuv420p"
            video_codec = [
                *([] if converted_here else ["-vf", _TO_BT709]),
                *self.format.video_args(encoder, crf, preset, alpha=self.channels == 4),
            ]
        audio_codec = self.format.audio_args(audio_bitrate) if self.audio is not None else []
        if self.audio is not None and self._repair_audio:
            audio_codec += ["-af", _SILENCE_INVALID_SAMPLES]
        return [
            *base_args(), "-y", *input_args(self.video_codec), *video_input, *audio_input, *maps,
            "-sws_flags", _SWS_FLAGS,  # an output option: placed before the inputs it is ignored
            *video_codec, *audio_codec, *self.format.muxer_args(), path_arg(self._temp),
        ]  # fmt: skip

    def _failure(self) -> AvatarStudioError:
        self._stderr.join()
        why = self._stderr.reason() or f"ffmpeg exited with code {self._proc.returncode}"
        self.abort()
        return AvatarStudioError(
            f"Encoding {self.output.name!r} failed ({why}); check the encoder settings and free disk space."
        )


def _discard(proc: subprocess.Popen[bytes], stderr: StderrTail, temp: Path) -> None:
    stop_process(proc)
    stderr.join()
    temp.unlink(missing_ok=True)


def _check_settings(
    width: int, height: int, fps: Fraction, crf: int, preset: str, pix_fmt: str,
    audio_duration_s: float | None,
) -> None:  # fmt: skip
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    if not 0 < fps <= 1000:
        raise AvatarStudioError(f"A frame rate of {float(fps):g} cannot be encoded; use a rate such as 25.")
    if not MIN_CRF <= int(crf) <= MAX_CRF:
        raise AvatarStudioError(
            f"CRF {crf} is out of range; choose {MIN_CRF} (lossless) to {MAX_CRF} (smallest), e.g. {DEFAULT_CRF}."
        )
    check_choice("preset", preset, ENCODER_PRESETS)
    if pix_fmt not in PIXEL_FORMATS:
        raise ValueError(f"pix_fmt must be one of {sorted(PIXEL_FORMATS)}, got {pix_fmt!r}")
    if audio_duration_s is not None and audio_duration_s <= 0:
        raise AvatarStudioError("The preview length must be positive; use e.g. --seconds 5.")


def _exists_error(output: Path) -> AvatarStudioError:
    return AvatarStudioError(f"{str(output)!r} exists; pass --overwrite or choose another name.")


def check_destination(output: Path, overwrite: bool, inputs: Sequence[Path | str] = ()) -> OutputFormat:
    """Refuse an output path the writer could not or must not replace, before any slow work;
    returns the format its suffix asks for.

    The extension comes first, so `-o voice.wav` is told which suffixes work before being asked
    for --overwrite; an output that is one of `inputs` is refused even with `overwrite`.
    """
    if output.is_dir():
        example = str(output / "out.mp4")
        raise AvatarStudioError(f"{str(output)!r} is a folder; give a file name such as {example!r}.")
    chosen = output_format(output)
    refuse_input_as_output(output, inputs)
    if output.exists() and not overwrite:
        raise _exists_error(output)
    return chosen


def refuse_input_as_output(output: Path, inputs: Sequence[Path | str]) -> None:
    """AvatarStudioError when `output` is the same file as one of `inputs` (links resolved, the
    same inode under another name included): writing it would destroy what is being read."""
    for source in inputs:
        try:
            same = os.path.samefile(output, source)
        except OSError:  # one of them does not exist: they cannot be the same file
            same = False
        if same:
            raise AvatarStudioError(
                f"The output {str(output)!r} is the input {str(source)!r}; choose another output file name."
            )


def checked_audio(audio: Path) -> Path:
    """`audio` if it holds a sound track, else a one-sentence error."""
    probe_audio(audio)
    return audio


def probe_audio(audio: Path) -> MediaInfo:
    """What `audio` holds, refused with one sentence unless ffmpeg reads a sound track from it."""
    info = probe_media(audio)
    if not info.has_audio:
        raise AvatarStudioError(f"{audio.name!r} has no audio track; choose a file with sound.")
    return info
