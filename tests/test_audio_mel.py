"""The mel spectrogram matches the original Wav2Lip front end, and blocks change nothing."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal

from avatar_studio.audio import MEL_COLUMNS_PER_SECOND, SAMPLE_RATE, melspectrogram
from avatar_studio.audio import mel as mel_module
from avatar_studio.audio.mel import MelStream


def one_shot_librosa(wav: np.ndarray) -> np.ndarray:
    """The original's formula written plainly: whole-signal lfilter, librosa.stft with reflect padding."""
    emphasized = scipy.signal.lfilter([1, -0.97], [1], wav)
    spectrum = librosa.stft(y=emphasized, n_fft=800, hop_length=200, win_length=800, pad_mode="reflect")
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, np.dot(basis, np.abs(spectrum)))) - 20
    return np.clip(8 * (db + 100) / 100 - 4, -4, 4)


def test_matches_the_original_front_end(reference_mel: dict[str, np.ndarray]) -> None:
    result = melspectrogram(reference_mel["wav"])
    assert result.dtype == np.float32
    assert result.shape == reference_mel["mel"].shape == (80, 270)
    assert np.abs(result - reference_mel["mel"]).max() < 1e-4


def test_columns_per_second() -> None:
    assert MEL_COLUMNS_PER_SECOND * mel_module.HOP_LENGTH == SAMPLE_RATE
    assert melspectrogram(np.zeros(SAMPLE_RATE * 3, np.float32)).shape == (80, 3 * 80 + 1)


@pytest.mark.parametrize("length", [200 * 70, 200 * 70 + 137, 5 * 200 + 1])  # 71, 71 and 6 columns
@pytest.mark.parametrize("frames_per_block", [1, 7, 16, 64])
def test_blocks_equal_one_shot(length: int, frames_per_block: int) -> None:
    """Blocks spanning the reflect-padded edges and many interior boundaries give the one-shot result."""
    rng = np.random.default_rng(length)
    wav = (0.3 * rng.standard_normal(length)).astype(np.float32)
    one_shot = melspectrogram(wav, frames_per_block=10**9)
    blocked = melspectrogram(wav, frames_per_block=frames_per_block)
    np.testing.assert_array_equal(blocked, one_shot)
    assert np.abs(one_shot - one_shot_librosa(wav)).max() < 1e-4


@pytest.mark.filterwarnings("ignore:n_fft=800 is too large")
@pytest.mark.parametrize("length", [1, 10, 300, 400, 401, 799])
def test_signals_shorter_than_one_fft(length: int) -> None:
    """Reflect padding folds several times for tiny signals, exactly as np.pad does."""
    wav = np.random.default_rng(length).uniform(-0.5, 0.5, length).astype(np.float32)
    result = melspectrogram(wav, frames_per_block=1)
    assert result.shape == (80, 1 + length // 200)
    assert np.isfinite(result).all()
    if length > 1:  # librosa refuses to reflect-pad a single sample
        assert np.abs(result - one_shot_librosa(wav)).max() < 1e-4


def test_digital_silence_is_finite_and_at_the_floor() -> None:
    result = melspectrogram(np.zeros(SAMPLE_RATE, np.float32))
    assert np.isfinite(result).all()
    assert (result == mel_module.SILENCE_VALUE).all()


def test_level_changes_the_mel_like_the_original() -> None:
    """The mel is level-dependent (dB): halving the amplitude lowers a loud band by 8*20*log10(2)/100."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    loud, quiet = melspectrogram(tone), melspectrogram(tone / 2)
    band = np.argmax(loud[:, 40])
    assert loud[band, 40] - quiet[band, 40] == pytest.approx(8 * 20 * np.log10(2) / 100, abs=1e-3)


def test_numpy_pieces_equal_librosa_and_scipy_exactly() -> None:
    """The render path does not import librosa/scipy (seconds of start-up); its own filter bank,
    window and pre-emphasis must be the very numbers those libraries give."""
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    assert np.array_equal(mel_module._mel_basis(), basis.astype(np.float64))
    assert np.array_equal(mel_module._hann_window(), scipy.signal.get_window("hann", 800, fftbins=True))
    wav = np.random.default_rng(3).standard_normal(3000)
    whole = mel_module._padded_emphasized_span(wav, 400, 2600)  # the span's samples, no padding involved
    assert np.array_equal(whole, scipy.signal.lfilter([1.0, -0.97], [1.0], wav)[:2200])


def test_filter_bank_is_built_once() -> None:
    assert mel_module._mel_basis() is mel_module._mel_basis()
    assert mel_module._mel_basis().shape == (80, 401)


def test_rejects_empty_and_multichannel_input() -> None:
    with pytest.raises(ValueError):
        melspectrogram(np.zeros(0, np.float32))
    with pytest.raises(ValueError):
        melspectrogram(np.zeros((2, 1000), np.float32))


@pytest.mark.parametrize("n_samples", [1, 399, 401, 5000, 64 * 200 * 3 + 123])
@pytest.mark.parametrize("chunk", [333, 7919])
@pytest.mark.parametrize("estimate", ["exact", "none", "too long"])
def test_the_streamed_spectrogram_equals_the_one_shot_one(n_samples: int, chunk: int, estimate: str) -> None:
    """Fed in pieces (as the decoder streams them), keeping only a few seconds of samples, whatever
    length the container claimed."""
    expected = {"exact": n_samples, "none": 0, "too long": 3 * n_samples}[estimate]
    signal = np.random.default_rng(n_samples).uniform(-0.5, 0.5, n_samples).astype(np.float32)
    stream = MelStream(expected_samples=expected, frames_per_block=64)
    for first in range(0, n_samples, chunk):
        stream.feed(signal[first : first + chunk])
        assert stream._buffer.size <= (64 + 6) * 200  # one block and a little, never the whole signal
    mel = stream.finish()
    expected = melspectrogram(signal, frames_per_block=64)
    assert mel.shape == expected.shape and mel.dtype == np.float32
    np.testing.assert_allclose(mel, expected, atol=1e-5)
