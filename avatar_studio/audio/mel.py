"""The normalized mel spectrogram Wav2Lip was trained on, computed in bounded memory.

Every constant below is the original's (see `WAV2LIP.md`); changing any of them makes every
public checkpoint mouth the wrong sounds. The STFT runs over blocks of frames, each block cut from
the signal with its 800-sample overlap and the edge's reflect padding, so a one-hour recording
needs a few tens of MB of scratch space instead of its 0.9 GB complex STFT — and the result is
identical to the one-shot computation.

Only numpy is used: the Slaney mel filter bank, the periodic Hann window and the pre-emphasis
filter are a few lines each, while importing librosa and scipy.signal for them cost ~1.7 s of CPU
at every render's start (measured on the 2-core machine); tests check them against librosa/scipy.
"""

from __future__ import annotations

import functools

import numpy as np

from avatar_studio.audio.decode import SAMPLE_RATE
from avatar_studio.progress import CancelToken

MEL_COLUMNS_PER_SECOND = 80
"""Mel columns per second of audio (16 000 samples / hop of 200)."""

N_FFT = 800
HOP_LENGTH = SAMPLE_RATE // MEL_COLUMNS_PER_SECOND
WIN_LENGTH = 800
N_MELS = 80
FMIN_HZ = 55.0
FMAX_HZ = 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS_VALUE = 4.0
SILENCE_VALUE = -MAX_ABS_VALUE
"""Normalized value of digital silence: its -120 dB floor clips to the bottom of the range."""

FRAMES_PER_BLOCK = 2048
"""STFT frames computed at once (~26 s of audio, ~13 MB of complex scratch)."""

_PAD = N_FFT // 2  # centred frames: frame t is centred on sample t * HOP_LENGTH


def melspectrogram(
    wav: np.ndarray,
    *,
    frames_per_block: int = FRAMES_PER_BLOCK,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Normalized mel spectrogram of a 16 kHz mono signal: float32 (80, 1 + len(wav) // 200), in [-4, 4].

    Digital silence gives the floor value -4 everywhere (finite, never NaN).
    """
    signal = np.asarray(wav)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(f"melspectrogram needs a non-empty 1-D signal, got shape {signal.shape}")
    if frames_per_block < 1:
        raise ValueError("frames_per_block must be at least 1")
    n_columns = 1 + signal.size // HOP_LENGTH
    mel = np.empty((N_MELS, n_columns), dtype=np.float32)
    for first in range(0, n_columns, frames_per_block):
        if cancel is not None:
            cancel.raise_if_cancelled()
        stop = min(first + frames_per_block, n_columns)
        mel[:, first:stop] = _normalize(_amp_to_db(_mel_magnitudes(signal, first, stop)))
    return mel


class MelStream:
    """The same spectrogram as `melspectrogram`, computed while the samples arrive.

    Only the samples the next block of columns needs are kept (a few seconds), and each block is
    written straight into the result, so a one-hour recording costs its mel (92 MB) instead of its
    samples plus its mel (320 MB). The result is allocated for `expected_samples` (the container's
    duration) and grows only if the recording turns out longer; columns never written are never
    touched, so an overestimate costs address space, not memory. Blocks are computed once all
    their samples are in; the last ones, which reflect at the end, when `finish()` marks the end.
    """

    def __init__(self, expected_samples: int = 0, frames_per_block: int = FRAMES_PER_BLOCK) -> None:
        if frames_per_block < 1:
            raise ValueError("frames_per_block must be at least 1")
        self.sample_count = 0
        self._frames_per_block = frames_per_block
        self._buffer = np.empty(0, np.float32)  # samples from absolute index `_offset` on
        self._offset = 0
        self._next_column = 0
        self._mel = np.empty((N_MELS, 1 + max(0, expected_samples) // HOP_LENGTH + MEL_COLUMNS_PER_SECOND), np.float32)

    def feed(self, samples: np.ndarray) -> None:
        """Append 16 kHz mono samples and compute every full block they complete."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float32)])
        self.sample_count += samples.size
        # Column t reads samples t*HOP - PAD .. t*HOP + PAD - 1: all present, none past the end.
        complete = max(0, (self.sample_count - _PAD) // HOP_LENGTH + 1)
        while self._next_column + self._frames_per_block <= complete:
            self._compute(self._next_column + self._frames_per_block)
        self._drop_used_samples()

    def finish(self) -> np.ndarray:
        """The whole spectrogram, (80, 1 + samples // 200) float32."""
        if self.sample_count == 0:
            raise ValueError("melspectrogram needs a non-empty 1-D signal, got no samples")
        n_columns = 1 + self.sample_count // HOP_LENGTH
        while self._next_column < n_columns:
            self._compute(min(self._next_column + self._frames_per_block, n_columns))
        return self._mel[:, :n_columns]

    def _compute(self, stop: int) -> None:
        if stop > self._mel.shape[1]:  # longer than the container said: grow by half
            grown = np.empty((N_MELS, max(stop, self._mel.shape[1] * 3 // 2)), np.float32)
            grown[:, : self._next_column] = self._mel[:, : self._next_column]
            self._mel = grown
        shift = self._offset // HOP_LENGTH  # the buffer starts at a column boundary
        magnitudes = _mel_magnitudes(self._buffer, self._next_column - shift, stop - shift)
        self._mel[:, self._next_column : stop] = _normalize(_amp_to_db(magnitudes))
        self._next_column = stop

    def _drop_used_samples(self) -> None:
        """Forget samples no later column reads. Three hops of slack keep the next column's span
        and the pre-emphasis filter's one sample of history inside the buffer, away from its
        start, where `_padded_emphasized_span` would reflect (right only at the signal's start)."""
        keep_from = max(0, (self._next_column - 3) * HOP_LENGTH)
        if keep_from > self._offset:
            self._buffer = self._buffer[keep_from - self._offset :].copy()
            self._offset = keep_from


def _mel_magnitudes(signal: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Mel-band magnitudes (80, stop - first) of STFT frames `first`..`stop-1`, in float64 as the original."""
    padded = _padded_emphasized_span(signal, first * HOP_LENGTH, (stop - 1) * HOP_LENGTH + N_FFT)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]
    spectrum = np.fft.rfft(frames * _hann_window(), axis=1)
    return _mel_basis() @ np.abs(spectrum).T


def _padded_emphasized_span(signal: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Samples `start..stop-1` of the pre-emphasized signal after reflect padding by N_FFT/2 on both sides.

    Only the span the requested frames touch is filtered; indices falling into the padding are
    mirrored back into the signal exactly as `np.pad(..., mode="reflect")` would.
    """
    source_index = _reflect(np.arange(start - _PAD, stop - _PAD), signal.size)
    lo, hi = int(source_index.min()), int(source_index.max()) + 1
    # The first-order filter needs one sample of history; the signal's very first sample has none (x[-1] = 0).
    history = 1 if lo > 0 else 0
    chunk = signal[lo - history : hi].astype(np.float64)
    emphasized = np.empty_like(chunk)  # y[n] = x[n] - 0.97 x[n-1], i.e. lfilter([1, -0.97], [1], x)
    emphasized[0] = chunk[0]
    np.subtract(chunk[1:], PREEMPHASIS * chunk[:-1], out=emphasized[1:])
    emphasized = emphasized[history:]
    return emphasized[source_index - lo]


def _reflect(index: np.ndarray, length: int) -> np.ndarray:
    """Map indices outside 0..length-1 back inside by mirroring at the ends (edge sample not repeated)."""
    if length == 1:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    folded = np.mod(index, period)
    return np.where(folded >= length, period - folded, folded)


def _amp_to_db(magnitudes: np.ndarray) -> np.ndarray:
    min_level = 10.0 ** (MIN_LEVEL_DB / 20.0)
    return 20.0 * np.log10(np.maximum(min_level, magnitudes)) - REF_LEVEL_DB


def _normalize(db: np.ndarray) -> np.ndarray:
    scaled = 2.0 * MAX_ABS_VALUE * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS_VALUE
    return np.clip(scaled, -MAX_ABS_VALUE, MAX_ABS_VALUE)


@functools.cache
def _mel_basis() -> np.ndarray:
    """Slaney-normalized mel filter bank (80, 401), built once; float64 so the product matches the original."""
    # librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600): triangles between
    # neighbouring Slaney-mel frequencies, area-normalised, computed in float64 and kept as float32.
    fft_hz = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(FMIN_HZ), _hz_to_mel(FMAX_HZ), N_MELS + 2))
    widths = np.diff(edges_hz)
    ramps = np.subtract.outer(edges_hz, fft_hz)
    rising = -ramps[:N_MELS] / widths[:N_MELS, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)
    weights *= 2.0 / (edges_hz[2:] - edges_hz[:N_MELS])[:, None]
    basis = weights.astype(np.float64)
    basis.flags.writeable = False
    return basis


#: The Slaney mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above.
_MEL_LINEAR_HZ = 200.0 / 3
_MEL_LOG_FROM_HZ = 1000.0
_MEL_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    if hz < _MEL_LOG_FROM_HZ:
        return hz / _MEL_LINEAR_HZ
    return _MEL_LOG_FROM_HZ / _MEL_LINEAR_HZ + float(np.log(hz / _MEL_LOG_FROM_HZ)) / _MEL_LOG_STEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    log_from = _MEL_LOG_FROM_HZ / _MEL_LINEAR_HZ
    linear = _MEL_LINEAR_HZ * mels
    logarithmic = _MEL_LOG_FROM_HZ * np.exp(_MEL_LOG_STEP * (mels - log_from))
    return np.where(mels >= log_from, logarithmic, linear)


@functools.cache
def _hann_window() -> np.ndarray:
    """librosa's STFT window: periodic Hann of WIN_LENGTH samples (equal to N_FFT, so no extra padding)."""
    # scipy.signal.get_window("hann", WIN_LENGTH, fftbins=True), evaluated the way scipy does it.
    window = 0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, WIN_LENGTH + 1)[:-1])
    window.flags.writeable = False
    return window
