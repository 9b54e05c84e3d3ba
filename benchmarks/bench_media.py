"""Speed of the media layer: probing, frame reading and MP4 writing.

    .venv/bin/python benchmarks/bench_media.py

Prints, for each clip in ../shared/media, the probe time and the reader's frames/s at full size
and downscaled to 480 lines, with the accurate yuv->BGR conversion the reader uses and with
swscale's fast default (the cost of the colour accuracy chosen in `video_reader._SWS_FLAGS`);
then the writer's frames/s for 1280x720 frames at two x264 presets, audio muxed in.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from avatar_studio.media import video_reader
from avatar_studio.media.probe import probe_media
from avatar_studio.media.video_reader import open_video
from avatar_studio.media.video_writer import VideoWriter

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
CLIPS = ("talking_man_25fps_844x844.mp4", "anime_portrait_25fps_704x1216.mp4")
AUDIO = "speech_48k_stereo.wav"
ACCURATE = video_reader._SWS_FLAGS


def bench_probe(clip: Path) -> None:
    start = time.perf_counter()
    info = probe_media(clip)
    print(f"probe {clip.name}: {1000 * (time.perf_counter() - start):.0f} ms ({info.frame_count} frames)")


def bench_reader(clip: Path, max_height: int | None, sws_flags: str) -> None:
    video_reader._SWS_FLAGS = sws_flags
    source = open_video(clip, max_height=max_height)
    start = time.perf_counter()
    count = sum(1 for _ in source.frames())
    fps = count / (time.perf_counter() - start)
    print(f"read  {clip.name} {source.width}x{source.height} [{sws_flags}]: {fps:.0f} frames/s")


def bench_writer(preset: str, folder: Path, frames: int = 250) -> None:
    width, height = 1280, 720
    ramp = np.linspace(0, 255, width, dtype=np.float32)
    start = time.perf_counter()
    with VideoWriter(folder / f"{preset}.mp4", width, height, 25, audio=MEDIA / AUDIO, preset=preset) as out:
        for i in range(frames):
            frame = np.empty((height, width, 3), np.uint8)
            frame[...] = ((ramp + 3 * i) % 256).astype(np.uint8)[None, :, None]
            frame[100:300, (5 * i) % 1000 : (5 * i) % 1000 + 200] = (40, 90, 200)
            out.write(frame)
    fps = frames / (time.perf_counter() - start)
    print(f"write 1280x720 crf 18 preset {preset}: {fps:.0f} frames/s")


def main() -> None:
    for name in CLIPS:
        clip = MEDIA / name
        bench_probe(clip)
        for flags in (ACCURATE, "bicubic"):
            for max_height in (None, 480):
                bench_reader(clip, max_height, flags)
    with tempfile.TemporaryDirectory() as folder:
        for preset in ("veryfast", "medium"):
            bench_writer(preset, Path(folder))


if __name__ == "__main__":
    main()
