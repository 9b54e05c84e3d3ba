"""Decode any audio (or the sound of any video) to the 16 kHz mono float32 signal Wav2Lip expects.

The bundled ffmpeg does all the reading, so every container and codec it knows works. Its raw
float32 output is streamed from the pipe in chunks of 16 s: `decode_audio_chunks` hands each to a
consumer (the renderer's streaming mel, which never holds the whole signal), and `decode_audio`
moves them into one exactly sized array at the end, so an hour of audio (57.6 M samples, 230 MB)
never exists twice in memory.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from avatar_studio.errors import AvatarStudioError
from avatar_studio.media.ffmpeg import base_args, path_arg, start_ffmpeg
from avatar_studio.media.ffmpeg_process import StderrTail, stop_process
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
_CHUNK_BYTES = 1 << 20  # 16 s of audio
_READ_BYTES = 1 << 20
_NO_AUDIO_MARKERS = ("matches no streams", "does not contain any stream")


def decode_audio(path: Path | str, *, cancel: CancelToken | None = None) -> np.ndarray:
    """Return the audio of `path` as a 1-D float32 array, mono, `SAMPLE_RATE` samples per second.

    NaN and infinite samples (a damaged float WAV) come out as silence; see `decode_audio_repaired`.
    """
    return decode_audio_repaired(path, cancel=cancel)[0]


def decode_audio_repaired(path: Path | str, *, cancel: CancelToken | None = None) -> tuple[np.ndarray, int]:
    """`decode_audio`'s samples and how many of them were NaN or infinite and made silent."""
    chunks: list[np.ndarray] = []
    count, invalid = decode_audio_chunks(path, chunks.append, cancel=cancel)
    samples = np.empty(count, dtype=np.float32)
    position = 0
    while chunks:  # each chunk is freed once copied: the peak is the result plus one chunk
        chunk = chunks.pop(0)
        samples[position : position + chunk.size] = chunk
        position += chunk.size
    return samples, invalid


def decode_audio_chunks(
    path: Path | str, consume: Callable[[np.ndarray], None], *, cancel: CancelToken | None = None
) -> tuple[int, int]:
    """Decode `path` as `decode_audio` does, handing the samples to `consume` in float32 chunks of
    16 s as they arrive; returns (samples, NaN or infinite samples made silent).

    Raises `AvatarStudioError` (one sentence) for a missing file, a file without an audio stream,
    undecodable data or a recording with no samples; `Cancelled` when `cancel` is set.
    """
    source = Path(path)
    if not source.is_file():
        raise AvatarStudioError(
            f"Audio file {str(source)!r} does not exist or is not a file; check the path."
        )
    proc = start_ffmpeg([*base_args(), *_decode_args(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    stderr = StderrTail(proc.stderr)
    try:
        assert proc.stdout is not None
        count, invalid = _stream_float32(proc.stdout, consume, cancel)
        proc.wait()
    finally:
        stop_process(proc)  # kills ffmpeg only when reading stopped early (a cancel, an error)
        stderr.join()
    if proc.returncode != 0:
        raise _decode_error(source, stderr)
    if count == 0:
        raise AvatarStudioError(
            f"{source.name!r} contains no audio samples; choose a recording that is not empty."
        )
    return count, invalid


def _decode_args(source: Path) -> list[str]:
    """ffmpeg arguments: the first audio stream of `source` as raw float32 mono 16 kHz on stdout."""
    return [
        "-i", path_arg(source),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-af", _RESAMPLE_FILTER,
        "-ac", "1", "-ar", str(SAMPLE_RATE),
        "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
    ]  # fmt: skip


def _stream_float32(
    stream: IO[bytes], consume: Callable[[np.ndarray], None], cancel: CancelToken | None
) -> tuple[int, int]:
    """Read raw little-endian float32 from `stream` until EOF, handing `consume` one new array per
    chunk (NaN/inf made silent); returns (samples, non-finite samples). A torn final sample is dropped."""
    buffer = np.empty(_CHUNK_BYTES - _CHUNK_BYTES % _BYTES_PER_SAMPLE, dtype=np.uint8)  # whole samples
    count = invalid = 0
    while True:
        filled = _fill(stream, buffer, cancel)
        usable = filled - filled % _BYTES_PER_SAMPLE
        if usable:
            samples = buffer[:usable].view("<f4").astype(np.float32)  # a copy the consumer may keep
            invalid += _zero_non_finite(samples)
            consume(samples)
            count += samples.size
        if filled < buffer.size:
            return count, invalid


def _fill(stream: IO[bytes], chunk: np.ndarray, cancel: CancelToken | None) -> int:
    """Read from `stream` into `chunk` until it is full or the stream ends; returns the bytes read."""
    filled = 0
    with chunk.data as view:
        while filled < chunk.size:
            if cancel is not None:
                cancel.raise_if_cancelled()
            count = stream.readinto(view[filled : filled + _READ_BYTES])  # type: ignore[attr-defined]
            if not count:
                break
            filled += count
    return filled


def _zero_non_finite(samples: np.ndarray) -> int:
    """Replace NaN/inf (a damaged float WAV) by silence, in place; returns how many there were."""
    bad = ~np.isfinite(samples)
    count = int(bad.sum())
    if count:
        samples[bad] = 0.0
    return count


def _decode_error(source: Path, stderr: StderrTail) -> AvatarStudioError:
    """Turn ffmpeg's failure into one sentence that says what to do."""
    if any(marker in line for line in stderr.lines for marker in _NO_AUDIO_MARKERS):
        return AvatarStudioError(
            f"{source.name!r} has no audio track; choose a voice recording or a video with sound."
        )
    reason = (stderr.reason() or "ffmpeg failed without a message").replace(str(source), source.name).rstrip(".")
    return AvatarStudioError(
        f"Could not read audio from {source.name!r} ({reason}); "
        "choose a complete audio or video file (wav, mp3, m4a, flac, ogg, mp4, ...)."
    )
