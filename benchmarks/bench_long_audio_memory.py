"""Peak memory of a render driven by one hour of silent audio against 5 s (target: within 150 MB).

Both runs render the same 5 s of video (`--seconds 5`), so only the audio's share of memory
differs: the whole recording is still decoded and turned into a mel spectrogram, as in a full
one-hour render, while the CPU time stays small. Each render runs through the real CLI in its own
subprocess, which reports its peak resident memory (VmHWM; the ffmpeg children are separate
processes and not counted). The avatar is a 256-line still of `../shared/media`'s presenter,
the model the identity stand-in from `tests/`.

    .venv/bin/python benchmarks/bench_long_audio_memory.py [--minutes 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stand-in model and test media helpers live with the tests

TARGET_MB = 150.0
RENDER_AND_REPORT = """
import sys
from avatar_studio.cli.main import main
sys.path.insert(0, {benchmarks!r})
from memory import peak_rss_mb
code = main(sys.argv[1:])
print(f"PEAK_RSS_MB {{peak_rss_mb():.1f}}")
sys.exit(code)
"""


def write_silence(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A 16-bit mono WAV of digital silence, written in one-minute pieces."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        remaining = int(seconds * rate)
        minute = bytes(2 * 60 * rate)
        while remaining > 0:
            count = min(remaining, 60 * rate)
            handle.writeframes(minute[: 2 * count])
            remaining -= count
    return path


def render_peak_mb(library: Path, audio: Path, model: Path, output: Path) -> float:
    command = [
        sys.executable, "-c", RENDER_AND_REPORT.format(benchmarks=str(ROOT / "benchmarks")),
        "render", "--library", str(library), "--avatar", "still", "--audio", str(audio), "--model", str(model),
        "-o", str(output), "--seconds", "5", "--preset", "ultrafast",
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"render failed: {proc.stderr.strip()}")
    return float(proc.stdout.rsplit("PEAK_RSS_MB", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    options = parser.parse_args()

    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.avatars.prepare import PrepareSettings
    from render_media import TALKING, make_still
    from standin_models import write_identity_model

    with tempfile.TemporaryDirectory(prefix="bench long audio ") as name:
        folder = Path(name)
        still = make_still(ROOT.parent / "shared" / "media" / TALKING, folder / "still.png")
        AvatarLibrary(folder / "lib").prepare(still, "still", PrepareSettings(max_height=256))
        model = write_identity_model(folder / "identity.onnx")
        short = write_silence(folder / "short.wav", 5.0)
        long = write_silence(folder / "long.wav", options.minutes * 60)
        short_mb = render_peak_mb(folder / "lib", short, model, folder / "short.mp4")
        long_mb = render_peak_mb(folder / "lib", long, model, folder / "long.mp4")
    growth = long_mb - short_mb
    print(f"peak RSS, 5 s of silence:        {short_mb:.0f} MB")
    print(f"peak RSS, {options.minutes:g} min of silence:  {long_mb:.0f} MB")
    print(f"growth: {growth:.0f} MB (target: at most {TARGET_MB:.0f} MB) -> {'ok' if growth <= TARGET_MB else 'OVER'}")


if __name__ == "__main__":
    main()
