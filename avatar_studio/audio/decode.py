"""Decode any audio (or the sound of any video) to the 16 kHz mono float32 signal Wav2Lip expects.

The bundled ffmpeg does all the reading, so every container and codec it knows works. Its raw
float32 output is streamed from the pipe straight into one growing numpy buffer: an hour of audio
(57.6 M samples, 230 MB) never exists twice in memory as `bytes` plus a copy.
"""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from pathlib import Path

import numpy as np

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.ffmpeg import base_args, last_error_line
from avatar_studio.progress import CancelToken

SAMPLE_RATE = 16000
"""Samples per second of every decoded signal (what the Wav2Lip mel front end was trained on)."""

# One filter does channel mixing and resampling, with the choices stated:
# - soxr, a high-quality band-limited resampler (the original loaded audio through librosa/resampy
#   'kaiser_best'; ffmpeg's default swr resampler aliases more);
# - rematrix_maxval=1 makes the downmix an average ((L+R)/2 for stereo, as librosa's mono mean),
#   instead of ffmpeg's default L·0.707 + R·0.707, which is 3 dB louder than the training data.
_RESAMPLE_FILTER = f"aresample=osr={SAMPLE_RATE}:ochl=mono:resampler=soxr:rematrix_maxval=1.0"

_BYTES_PER_SAMPLE = 4
_INITIAL_SAMPLES = SAMPLE_RATE * 60  # one minute; grows geometrically beyond that
_READ_BYTES = 1 << 20
_NO_AUDIO_MARKERS = ("matches no streams", "does not contain any stream")


def decode_audio(path: Path | str, *, cancel: CancelToken | None = None) -> np.ndarray:
    """Return the audio of `path` as a 1-D float32 array, mono, `SAMPLE_RATE` samples per second.

    Raises `AvatarStudioError` (one sentence) for a missing file, a file without an audio stream,
    undecodable data or a recording with no samples; `CancelledError` when `cancel` is set.
    """
    source = Path(path)
    if not source.is_file():
        raise AvatarStudioError(
            f"Audio file {str(source)!r} does not exist or is not a file; check the path."
        )
    proc = subprocess.Popen(
        [*base_args(), *_decode_args(source)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    stderr_tail = _drain_in_background(proc.stderr)
    try:
        samples = _read_float32_stream(proc.stdout, cancel)
    except BaseException:
        proc.kill()
        raise
    finally:
        proc.stdout.close()
        returncode = proc.wait()
        stderr_tail.join()
    if returncode != 0:
        raise _decode_error(source, b"".join(stderr_tail.lines))
    if samples.size == 0:
        raise AvatarStudioError(
            f"{source.name!r} contains no audio samples; choose a recording that is not empty."
        )
    # A damaged float WAV can carry NaN/inf samples; they would poison every mel column they touch.
    np.nan_to_num(samples, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return samples


def _decode_args(source: Path) -> list[str]:
    """ffmpeg arguments: the first audio stream of `source` as raw float32 mono 16 kHz on stdout."""
    return [
        "-i", str(source),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-af", _RESAMPLE_FILTER,
        "-ac", "1", "-ar", str(SAMPLE_RATE),
        "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
    ]  # fmt: skip


def _read_float32_stream(stream, cancel: CancelToken | None) -> np.ndarray:
    """Read raw little-endian float32 from `stream` until EOF into one buffer grown in place.

    `ndarray.resize` reallocates the block (large blocks are remapped by the OS, not copied), so
    the peak stays close to the final size instead of twice it.
    """
    buffer = np.empty(_INITIAL_SAMPLES, dtype="<f4")
    filled = 0  # bytes
    while True:
        if cancel is not None:
            cancel.raise_if_cancelled()
        if filled + _READ_BYTES > buffer.nbytes:
            buffer.resize(max(buffer.size * 3 // 2, (filled + _READ_BYTES) // 4 + 1), refcheck=False)
        with memoryview(buffer).cast("B") as raw:
            with raw[filled : filled + _READ_BYTES] as window:
                count = stream.readinto(window)
        if not count:
            break
        filled += count
    buffer.resize(filled // _BYTES_PER_SAMPLE, refcheck=False)
    return buffer.astype(np.float32, copy=False)


class _StderrTail(threading.Thread):
    """Keeps the last lines ffmpeg wrote to stderr without letting a chatty decoder fill the pipe."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self.lines: deque[bytes] = deque(maxlen=20)

    def run(self) -> None:
        with self._stream:
            for line in self._stream:
                self.lines.append(line)


def _drain_in_background(stream) -> _StderrTail:
    tail = _StderrTail(stream)
    tail.start()
    return tail


def _decode_error(source: Path, stderr: bytes) -> AvatarStudioError:
    """Turn ffmpeg's failure into one sentence that says what to do."""
    text = stderr.decode("utf-8", "replace")
    if any(marker in text for marker in _NO_AUDIO_MARKERS):
        return AvatarStudioError(
            f"{source.name!r} has no audio track; choose a voice recording or a video with sound."
        )
    reason = last_error_line(text).replace(str(source), source.name).rstrip(".")
    return AvatarStudioError(
        f"Could not read audio from {source.name!r} ({reason}); "
        "choose a complete audio or video file (wav, mp3, m4a, flac, ogg, mp4, ...)."
    )
