"""Make docs/quality_comparison.png: the mask and colour-matching controls, before and after.

    .venv/bin/python docs/make_quality_comparison.py [-o docs/quality_comparison.png]

No real Wav2Lip weights exist here, so the "model" is the test suite's tint stand-in: it returns
the avatar's own face with red raised by 64 levels, exported to ONNX and run through the real
ONNX Runtime backend; the real compositor pastes it in. What the picture shows is therefore
exactly what the controls do to a model whose colour is off: the box mask's rectangle, the
lower-face mask following the jaw, and colour matching taking the cast out. Everything happens in
a temporary library. Needs ../shared/media beside the checkout.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT.parent / "shared" / "media"
CLIP = "talking_man_25fps_844x844.mp4"
PANELS = (
    ("source frame", None),
    ("box mask, no colour match", {"mask": "box", "color_match": False}),
    ("lower-face mask, no colour match", {"mask": "lower-face", "color_match": False}),
    ("lower-face mask + colour match", {"mask": "lower-face", "color_match": True}),
)
PANEL_HEIGHT = 360


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "quality_comparison.png")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="avatar-studio-quality-"))
    try:
        cv2.imwrite(str(args.output), comparison(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Wrote {args.output}")
    return 0


def comparison(work: Path) -> np.ndarray:
    sys.path.insert(0, str(ROOT / "tests"))
    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.media.ffmpeg import base_args
    from avatar_studio.model.backends.onnx_backend import OnnxBackend
    from avatar_studio.render.frame_compositor import FrameCompositor
    from avatar_studio.render.model_io import face_batch, predictions_to_images
    from avatar_studio.render.settings import RenderSettings
    from standin_models import write_tint_model

    still = work / "still.png"
    subprocess.run([*base_args(), "-ss", "2", "-i", str(MEDIA / CLIP), "-frames:v", "1", str(still)], check=True)
    avatar = AvatarLibrary(work / "library").prepare(still, "Presenter")
    with OnnxBackend(write_tint_model(work / "tint.onnx"), device="cpu", batch_size=1) as backend:
        mel = np.zeros((1, 1, 80, 16), np.float32)
        mouth = predictions_to_images(backend.predict(mel, face_batch(avatar.crops[:1])))[0]
    source = avatar.read_frame(0)
    x1, y1, x2, y2 = avatar.boxes[0]
    pad = (x2 - x1) // 4
    top, bottom = max(0, y1 - pad), min(avatar.height, y2 + pad)
    left, right = max(0, x1 - pad), min(avatar.width, x2 + pad)
    tiles = []
    for label, overrides in PANELS:
        frame = source.copy()
        if overrides is not None:
            compositor = FrameCompositor(RenderSettings(**overrides), avatar.boxes, avatar.landmarks())
            compositor.paste(frame, mouth, 0, 0)
        tile = frame[top:bottom, left:right]
        tile = cv2.resize(tile, (round(tile.shape[1] * PANEL_HEIGHT / tile.shape[0]), PANEL_HEIGHT),
                          interpolation=cv2.INTER_AREA)  # fmt: skip
        caption = np.full((34, tile.shape[1], 3), 255, np.uint8)
        cv2.putText(caption, label, (8, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.52, (30, 30, 30), 1, cv2.LINE_AA)
        tiles.append(np.vstack([tile, caption]))
    gap = np.full((tiles[0].shape[0], 6, 3), 255, np.uint8)
    return np.hstack([part for tile in tiles for part in (tile, gap)][:-1])


if __name__ == "__main__":
    sys.exit(main())
