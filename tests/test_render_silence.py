"""Silence handling: which stretches of a recording are silent, and `--silence original` showing
the avatar's own frames there (grey loudness stand-in through the real pipeline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_studio.audio import decode_audio
from avatar_studio.audio.silence import (
    FADE_FRAMES,
    lipsync_weights,
    silent_frames,
    silent_stretches,
)
from avatar_studio.media.video_writer import VideoWriter
from avatar_studio.model.backends.onnx_backend import OnnxBackend
from avatar_studio.render.pipeline import render_video
from avatar_studio.render.schedule import source_frame
from avatar_studio.render.settings import RenderSettings
from render_media import AUDIO_RATE, BEEP_HZ, BEEPS, expected_loudness, lag_of_best_match, read_frames, write_beeps
from standin_models import write_loudness_model

#: Speech, a long silence, speech again (seconds); the track ends in a short pause (not a silence).
TALK_PAUSE_TALK = ((0.2, 0.8), (2.0, 2.3))
TRACK_S = 2.6


def beeps(beep_times: tuple[tuple[float, float], ...], seconds: float, level: float = 0.5, noise: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * AUDIO_RATE)) / AUDIO_RATE
    on = np.zeros_like(t, dtype=bool)
    for start, stop in beep_times:
        on |= (t >= start) & (t < stop)
    hiss = noise * np.random.default_rng(0).standard_normal(t.size)
    return np.where(on, level * np.sin(2 * np.pi * BEEP_HZ * t), 0.0) + hiss


def test_a_long_pause_is_silent_and_short_pauses_between_words_are_not() -> None:
    (stretch,) = silent_stretches(beeps(TALK_PAUSE_TALK, TRACK_S))
    assert stretch == pytest.approx((0.8, 2.0), abs=0.02)
    assert silent_stretches(beeps(BEEPS, 2.6)) == []  # gaps of 0.3-0.4 s: pauses, not silence


def test_silence_is_judged_against_the_recordings_own_level() -> None:
    loud = silent_stretches(beeps(TALK_PAUSE_TALK, TRACK_S, noise=0.0005))
    quiet = silent_stretches(beeps(TALK_PAUSE_TALK, TRACK_S, level=0.005, noise=0.000005))
    assert len(loud) == len(quiet) == 1
    assert loud[0] == pytest.approx(quiet[0], abs=0.02)
    # Hiss only 12 dB under the speech is not silence, however long.
    assert silent_stretches(beeps(TALK_PAUSE_TALK, TRACK_S, noise=0.1)) == []


def test_real_speech_has_no_silence_between_its_words(shared_media: Path) -> None:
    assert silent_stretches(decode_audio(shared_media / "speech_48k_stereo.wav")) == []


def test_frames_fade_out_and_in_inside_the_silence() -> None:
    silent = silent_frames([(0.8, 2.0)], 65, 25)
    first, last = np.flatnonzero(silent)[[0, -1]]
    assert first == 20 and last == 45  # frame 45's 200 ms window ends at exactly 2.0 s
    weights = lipsync_weights(silent)
    assert (weights[~silent] == 1).all()  # every frame with sound keeps its full lip sync
    ramp = weights[first : first + FADE_FRAMES + 1]
    assert np.all(np.diff(ramp) < 0) and ramp[-1] == 0
    assert weights[last - FADE_FRAMES : last + 1] == pytest.approx(ramp[::-1])
    assert lipsync_weights(np.zeros(5, bool)).tolist() == [1] * 5
    assert lipsync_weights(np.ones(5, bool)).tolist() == [0] * 5


@pytest.mark.slow
def test_original_shows_the_avatars_frames_in_silence_and_follows_speech_with_zero_lag(
    render_avatar, tmp_path: Path
) -> None:
    avatar = render_avatar("hue")
    audio = tmp_path / "talk_pause_talk.wav"
    write_beeps(audio, TALK_PAUSE_TALK, TRACK_S)
    model = write_loudness_model(tmp_path / "loudness.onnx")
    outputs = {}
    for mode in ("lipsync", "original"):
        # Lossless, the box mask (its core is `mouth` below) and no colour matching of the grey.
        settings = RenderSettings(crf=0, preset="ultrafast", mask="box", color_match=False, silence=mode)
        with OnnxBackend(model, batch_size=8) as backend:
            render_video(avatar, audio, backend, tmp_path / f"{mode}.mp4", settings)
        outputs[mode] = read_frames(tmp_path / f"{mode}.mp4", avatar.width, avatar.height)
    n = len(outputs["original"])
    schedule = [source_frame(i, avatar.frame_count) for i in range(n)]
    with VideoWriter(tmp_path / "source.mp4", avatar.width, avatar.height, 25, crf=0, preset="ultrafast") as writer:
        for j in schedule:
            writer.write(avatar.read_frame(j))
    sources = read_frames(tmp_path / "source.mp4", avatar.width, avatar.height)

    weights = lipsync_weights(silent_frames(silent_stretches(decode_audio(audio)), n, 25))
    deep = np.flatnonzero(weights == 0)
    assert len(deep) >= 15
    for i in deep:
        assert np.array_equal(outputs["original"][i], sources[i]), f"frame {i} inside the silence is not the avatar's"
        assert not np.array_equal(outputs["lipsync"][i], sources[i])  # lipsync keeps the model's mouth there

    def mouth(frame: np.ndarray, j: int) -> float:
        x1, y1, x2, y2 = (int(v) for v in avatar.boxes[j])
        h, w = y2 - y1, x2 - x1
        return float(frame[y1 + int(0.68 * h) : y1 + int(0.85 * h), x1 + int(0.3 * w) : x2 - int(0.3 * w)].mean()) / 255

    expected = expected_loudness(n, 25, TALK_PAUSE_TALK)
    lipsync = np.array([mouth(frame, j) for frame, j in zip(outputs["lipsync"], schedule, strict=False)])
    assert lag_of_best_match(lipsync, expected) == 0
    assert np.corrcoef(lipsync, expected)[0, 1] > 0.95
    # Where there is sound, `original` is the lip-synced render itself, frame for frame: lag 0.
    speech = np.flatnonzero(weights == 1)
    assert len(speech) >= 30
    for i in speech:
        assert np.array_equal(outputs["original"][i], outputs["lipsync"][i]), f"frame {i} with sound differs"
    original = np.array([mouth(frame, j) for frame, j in zip(outputs["original"], schedule, strict=False)])
    assert lag_of_best_match(original[speech], expected[speech]) == 0
