"""CPU time of compositing one frame for each mask and with/without colour matching.

    .venv/bin/python benchmarks/bench_composite.py [--max-height 1080]

Prepares the 844x844 talking-man clip from ../shared/media in a temporary library (face mesh
included), then pastes a 96x96 mouth into 20 of its frames with every mask setting and prints
the CPU milliseconds per frame (process time, so other work on a shared machine counts less).
The composite stage is one thread of the render pipeline: 5 ms per frame caps it at 200 frames/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import PrepareSettings
from avatar_studio.render.frame_compositor import FrameCompositor
from avatar_studio.render.settings import RenderSettings

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
CLIP = "talking_man_25fps_844x844.mp4"
VARIANTS = [
    {"mask": mask, "color_match": color_match} for mask in ("box", "lower-face", "mouth") for color_match in (False, True)
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench composite ") as folder:
        avatar = AvatarLibrary(Path(folder)).prepare(MEDIA / CLIP, "bench", PrepareSettings(max_height=options.max_height))
        frames = [avatar.read_frame(i) for i in range(min(options.frames, avatar.frame_count))]
        x1, y1, x2, y2 = avatar.boxes[0]
        print(f"{CLIP} at {avatar.width}x{avatar.height}, face box {x2 - x1}x{y2 - y1}:")
        for variant in VARIANTS:
            compositor = FrameCompositor(RenderSettings(**variant), avatar.boxes, avatar.landmarks())  # type: ignore[arg-type]
            copies = [frame.copy() for frame in frames for _ in range(3)]
            start = time.process_time()
            for n, frame in enumerate(copies):
                index = n // 3
                compositor.paste(frame, avatar.crops[index], index, 0)
            cpu_ms = (time.process_time() - start) * 1000 / len(copies)
            print(f"  mask {variant['mask']:10s} colour match {'on ' if variant['color_match'] else 'off'}: {cpu_ms:5.2f} ms CPU per frame")


if __name__ == "__main__":
    main()
