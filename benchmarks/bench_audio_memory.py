"""Peak memory and time of the audio front end on a one-hour recording (target: well under 1 GB).

Builds a speech-like WAV of the requested length in a temporary folder (the speech in
../shared/media looped, or pink noise where that folder is absent), then runs what a render does
with it: decode, mel spectrogram, every 25 fps window in model-sized batches. Prints the time of
each step and this process's peak resident memory (VmHWM) after it.

    .venv/bin/python benchmarks/bench_audio_memory.py [--minutes 60] [--rate 44100] [--fps 25]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from memory import peak_rss_mb  # benchmarks/memory.py (this folder is on sys.path)

from avatar_studio.audio import SAMPLE_RATE, decode_audio, frames_for_duration, melspectrogram
from avatar_studio.audio.windows import MelWindows
from avatar_studio.media.ffmpeg import base_args

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "media" / "speech_en_22k_mono.wav"




def make_recording(path: Path, minutes: float, rate: int) -> str:
    """Write `minutes` of 16-bit mono audio at `rate` Hz to `path`; returns what it is made of."""
    if SPEECH.is_file():
        source, what = ["-stream_loop", "-1", "-i", str(SPEECH)], f"{SPEECH.name} looped"
    else:
        source, what = ["-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.2:sample_rate={rate}"], "pink noise"
    args = [*source, "-t", str(minutes * 60), "-ac", "1", "-ar", str(rate), "-c:a", "pcm_s16le", str(path)]
    subprocess.run([*base_args(), "-y", *args], check=True)
    return what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=44100, help="sample rate of the generated WAV")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--batch-size", type=int, default=128)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench audio ") as folder:
        path = Path(folder) / "one hour.wav"
        what = make_recording(path, options.minutes, options.rate)
        size_mb = path.stat().st_size / 1e6
        print(f"input: {options.minutes:g} min of {what}, {options.rate} Hz mono wav, {size_mb:.0f} MB")
        melspectrogram(np.zeros(SAMPLE_RATE, np.float32))  # load librosa's filter code (~90 MB) up front
        print(f"baseline after imports and a 1 s warm-up: peak RSS {peak_rss_mb():.0f} MB")

        started = time.perf_counter()
        samples = decode_audio(path)
        seconds = time.perf_counter() - started
        print(f"decode: {seconds:.1f} s, {samples.nbytes / 1e6:.0f} MB of samples, peak RSS {peak_rss_mb():.0f} MB")

        started = time.perf_counter()
        mel = melspectrogram(samples)
        print(f"mel {mel.shape}: {time.perf_counter() - started:.1f} s, peak RSS {peak_rss_mb():.0f} MB")

        started = time.perf_counter()
        windows = MelWindows(mel, options.fps, frames_for_duration(samples.size / SAMPLE_RATE, options.fps))
        checksum = 0.0
        for batch in windows.batches(options.batch_size):
            checksum += float(batch[:, 0, :, 0].sum())
        print(
            f"windows: {len(windows)} frames at {options.fps:g} fps in batches of {options.batch_size}: "
            f"{time.perf_counter() - started:.1f} s, peak RSS {peak_rss_mb():.0f} MB (checksum {checksum:.1f})"
        )
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB (ffmpeg decodes in a separate, streaming process)")


if __name__ == "__main__":
    main()
