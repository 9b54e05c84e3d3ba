"""Decoding every kind of input to 16 kHz mono float32, and the errors users get for bad input.

Every test file is made here, by the bundled ffmpeg, from a synthetic sine, in a folder whose name
has spaces, quotes and non-ASCII characters (the kind of name that breaks shell-quoted commands).
"""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from avatar_studio.audio import SAMPLE_RATE, decode_audio, load_audio, melspectrogram
from avatar_studio.audio import decode as decode_module
from avatar_studio.audio.silence import silent_stretches
from avatar_studio.errors import AvatarStudioError, Cancelled
from avatar_studio.media.ffmpeg import base_args
from avatar_studio.progress import CancelToken

TONE_HZ = 440.0
OTHER_TONE_HZ = 1000.0
SECONDS = 1.5


@pytest.fixture
def awkward_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "voice 'takes' \"final\" — Łódź 音声 ü"
    folder.mkdir()
    return folder


def make_media(path: Path, *args: str) -> Path:
    """Run the bundled ffmpeg (argument list) with synthetic lavfi sources to create `path`."""
    subprocess.run([*base_args(), "-y", *args, str(path)], check=True, capture_output=True)
    return path


def sine(rate: int, frequency: float = TONE_HZ, seconds: float = SECONDS) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={rate}:duration={seconds}"]


def peak_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * SAMPLE_RATE / samples.size)


def assert_tone(samples: np.ndarray, seconds: float = SECONDS, tolerance_s: float = 0.005) -> None:
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(samples.size / SAMPLE_RATE - seconds) <= tolerance_s
    assert abs(peak_frequency(samples) - TONE_HZ) < 2.0
    assert np.isfinite(samples).all()


WAV_CASES = [
    (rate, channels, codec)
    for rate, channels in [(8000, 1), (22050, 2), (44100, 1), (48000, 2)]
    for codec in ["pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"]
]


@pytest.mark.parametrize(("rate", "channels", "codec"), WAV_CASES)
def test_wav_any_rate_layout_and_sample_format(awkward_dir: Path, rate: int, channels: int, codec: str) -> None:
    layout = "mono|c0=c0" if channels == 1 else "stereo|c0=c0|c1=c0"  # copies, not ffmpeg's -3 dB upmix
    path = make_media(awkward_dir / f"tone {rate} {codec}.wav", *sine(rate), "-af", f"pan={layout}", "-c:a", codec)
    samples = decode_audio(path)
    assert_tone(samples)
    # lavfi's sine has amplitude 1/8; identical channels average to the same amplitude.
    assert abs(np.abs(samples[800:-800]).max() - 0.125) < 0.01


# (suffix, encoder arguments, duration tolerance): raw ADTS AAC has no field to trim the encoder's
# priming samples, so it decodes ~30 ms long; every container with an edit list / pre-skip is exact.
COMPRESSED_CASES = [
    ("mp3", ["-c:a", "libmp3lame"], 0.005),
    ("m4a", ["-c:a", "aac"], 0.005),
    ("aac", ["-c:a", "aac"], 0.05),
    ("flac", ["-c:a", "flac"], 0.005),
    ("ogg", ["-c:a", "libvorbis"], 0.005),
    ("opus", ["-c:a", "libopus"], 0.005),
]


@pytest.mark.parametrize(("suffix", "encoder", "tolerance_s"), COMPRESSED_CASES, ids=[c[0] for c in COMPRESSED_CASES])
def test_compressed_formats(awkward_dir: Path, suffix: str, encoder: list[str], tolerance_s: float) -> None:
    path = make_media(awkward_dir / f"tone.{suffix}", *sine(44100), "-ac", "2", *encoder)
    assert_tone(decode_audio(path), tolerance_s=tolerance_s)


VIDEO_CASES = [
    ("mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
    ("mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus"]),
]


@pytest.mark.parametrize(("suffix", "codecs"), VIDEO_CASES, ids=[c[0] for c in VIDEO_CASES])
def test_audio_track_of_a_video(awkward_dir: Path, suffix: str, codecs: list[str]) -> None:
    video = ["-f", "lavfi", "-i", f"testsrc=size=64x64:rate=25:duration={SECONDS}"]
    path = make_media(awkward_dir / f"clip.{suffix}", *video, *sine(48000), *codecs, "-shortest")
    assert_tone(decode_audio(path), tolerance_s=0.05)


def test_stereo_downmix_is_the_channel_average(awkward_dir: Path) -> None:
    """Left 440 Hz, right 1 kHz: both survive at half amplitude, as librosa's mono mean gives them."""
    path = make_media(
        awkward_dir / "two tones.wav",
        *sine(48000, TONE_HZ), *sine(48000, OTHER_TONE_HZ),
        "-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo", "-c:a", "pcm_f32le",
    )  # fmt: skip
    samples = decode_audio(path)
    spectrum = np.abs(np.fft.rfft(samples)) * 2 / samples.size
    bins = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    for frequency in (TONE_HZ, OTHER_TONE_HZ):
        amplitude = spectrum[np.argmin(np.abs(bins - frequency))]
        assert abs(amplitude - 0.125 / 2) < 0.005


def test_resampling_keeps_the_band_and_removes_what_16k_cannot_hold(awkward_dir: Path) -> None:
    """A 7 kHz tone passes; a 10 kHz tone (above the 8 kHz Nyquist) must not alias down to 6 kHz."""
    in_band = decode_audio(make_media(awkward_dir / "7k.wav", *sine(44100, 7000.0)))
    assert abs(peak_frequency(in_band) - 7000.0) < 2.0
    above = decode_audio(make_media(awkward_dir / "10k.wav", *sine(44100, 10000.0)))
    assert np.sqrt(np.mean(above[1000:-1000] ** 2)) < 1e-3


def test_odd_chunk_and_read_sizes(awkward_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads and chunks that split samples give exactly the result of large aligned reads."""
    path = make_media(awkward_dir / "grow.flac", *sine(22050))
    expected = decode_audio(path)
    monkeypatch.setattr(decode_module, "_CHUNK_BYTES", 10007)
    monkeypatch.setattr(decode_module, "_READ_BYTES", 4099)
    np.testing.assert_array_equal(decode_audio(path), expected)


def test_non_finite_samples_become_silence(awkward_dir: Path) -> None:
    """A damaged float WAV's NaN/inf would turn every mel column they touch into NaN."""
    signal = np.full(16000, 0.25, dtype=np.float32)
    signal[[10, 5000, 9000]] = [np.nan, np.inf, -np.inf]
    path = awkward_dir / "damaged float.wav"
    scipy.io.wavfile.write(path, 16000, signal)
    samples = decode_audio(path)
    assert np.isfinite(samples).all()
    assert samples[10] == samples[5000] == samples[9000] == 0.0 and samples[11] == 0.25


def test_load_audio_gives_a_track(awkward_dir: Path) -> None:
    path = make_media(awkward_dir / "track.wav", *sine(16000, seconds=2.0))
    track = load_audio(path)
    assert track.duration_s == pytest.approx(2.0, abs=1e-3)
    assert track.mel.shape == (80, 1 + track.sample_count // 200)
    np.testing.assert_allclose(track.mel, melspectrogram(decode_audio(path)), atol=1e-5)  # streamed = one-shot
    assert len(track.windows(25)) == 50


def test_a_streamed_track_finds_the_silences_the_whole_signal_has(
    awkward_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tone, 1 s of digital silence, tone: the energies gathered chunk by chunk (chunks that split
    the 10 ms hops) give the same stretch as the whole signal."""
    monkeypatch.setattr(decode_module, "_CHUNK_BYTES", 10007)
    samples = np.concatenate([0.3 * np.sin(np.arange(16000) * 0.2), np.zeros(16000), 0.3 * np.sin(np.arange(16000) * 0.2)])
    path = awkward_dir / "pause.wav"
    scipy.io.wavfile.write(path, SAMPLE_RATE, samples.astype(np.float32))
    stretches = load_audio(path).silent_stretches()
    ((start, stop),) = stretches
    ((whole_start, whole_stop),) = silent_stretches(decode_audio(path))
    assert (start, stop) == pytest.approx((whole_start, whole_stop))
    assert start == pytest.approx(1.0, abs=0.03) and stop == pytest.approx(2.0, abs=0.03)


def test_cancel_stops_decoding(awkward_dir: Path) -> None:
    path = make_media(awkward_dir / "long.wav", *sine(16000, seconds=5.0))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        decode_audio(path, cancel=token)


# ---------------------------------------------------------------- errors: one line, says what to do


def assert_one_clear_line(error: pytest.ExceptionInfo[AvatarStudioError], *words: str) -> None:
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    assert "Traceback" not in message
    for word in words:
        assert word in message


def test_missing_file(awkward_dir: Path) -> None:
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(awkward_dir / "nowhere.wav")
    assert_one_clear_line(error, "nowhere.wav", "does not exist", "check the path")


def test_a_folder_is_not_audio(awkward_dir: Path) -> None:
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(awkward_dir)
    assert_one_clear_line(error, "not a file")


def test_text_renamed_to_wav(awkward_dir: Path) -> None:
    path = awkward_dir / "notes.wav"
    path.write_text("these are meeting notes, not a recording\n" * 20)
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(path)
    assert_one_clear_line(error, "notes.wav", "Could not read audio", "choose")


def test_truncated_mp3(awkward_dir: Path) -> None:
    """Only the first bytes of a real file: either a clear error or (if any frame survives) samples."""
    whole = make_media(awkward_dir / "whole.mp3", *sine(44100))
    cut = awkward_dir / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[:100])
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(cut)
    assert_one_clear_line(error, "cut.mp3")


def test_zero_sample_wav(awkward_dir: Path) -> None:
    path = awkward_dir / "empty take.wav"
    with wave.open(str(path), "wb") as empty:
        empty.setnchannels(1)
        empty.setsampwidth(2)
        empty.setframerate(16000)
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(path)
    assert_one_clear_line(error, "empty take.wav", "no audio samples")


def test_video_without_audio(awkward_dir: Path) -> None:
    video = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=25:duration=0.5", "-c:v", "libx264", "-preset", "ultrafast"]
    path = make_media(awkward_dir / "silent clip.mp4", *video)
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(path)
    assert_one_clear_line(error, "silent clip.mp4", "no audio track")


def test_image_has_no_audio(awkward_dir: Path) -> None:
    path = make_media(awkward_dir / "face.png", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=1", "-frames:v", "1")
    with pytest.raises(AvatarStudioError) as error:
        decode_audio(path)
    assert_one_clear_line(error, "face.png", "no audio track")


# ---------------------------------------------------------------- the real media in ../shared/media


def expected_durations(sources_md: Path) -> dict[str, float | None]:
    """File name -> duration in seconds from SOURCES.md's table (None where it says "no audio")."""
    expected: dict[str, float | None] = {}
    for row in sources_md.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) < 2 or "." not in cells[0] or cells[0] == "file":
            continue
        seconds = re.search(r"(\d+(?:\.\d+)?) s\b", cells[1])
        expected[cells[0]] = None if "no audio" in cells[1] else float(seconds.group(1)) if seconds else None
    return expected


def test_every_shared_media_file(shared_media: Path) -> None:
    expected = expected_durations(shared_media / "SOURCES.md")
    media = sorted(p for p in shared_media.iterdir() if p.is_file() and p.name != "SOURCES.md")
    assert media and set(expected) >= {p.name for p in media}
    for path in media:
        if expected[path.name] is None:
            with pytest.raises(AvatarStudioError) as error:
                decode_audio(path)
            assert_one_clear_line(error, path.name, "no audio track")
            continue
        samples = decode_audio(path)
        # SOURCES.md rounds to 0.1 s.
        assert abs(samples.size / SAMPLE_RATE - expected[path.name]) <= 0.06, path.name
        assert np.isfinite(samples).all() and 0.01 < np.abs(samples).max() <= 1.5, path.name
