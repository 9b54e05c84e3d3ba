"""The seed article's render pipeline, kept as a speed reference for `bench_command.py` (not product code).

What the article does with an avatar prepared as JPEG files and face boxes: for every output frame
(ping-pong order) read the source JPEG, crop the face box, run Wav2Lip in batches, resize the
96x96 mouth back into the box and write the result as a JPEG file; then two ffmpeg passes: the
JPEG sequence to H.264, and that video muxed with the audio. No overlap between the steps, no
feathered mask. It reads the prepared avatar's own files and uses the project's audio front end
(identical to the original code's, see tests/test_audio_mel.py), so both pipelines do the same work.

    python benchmarks/seed_pipeline.py AVATAR_FOLDER AUDIO MODEL.onnx OUT.mp4 [--preset P] [--crf N]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("avatar", type=Path, help="a prepared avatar folder (frames/*.jpg, boxes.npy, avatar.json)")
    parser.add_argument("audio", type=Path)
    parser.add_argument("model", type=Path, help="a Wav2Lip ONNX export")
    parser.add_argument("output", type=Path)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--batch-size", type=int, default=16)
    options = parser.parse_args()

    import json

    import onnxruntime as ort

    from avatar_studio.audio import load_audio
    from avatar_studio.media.ffmpeg import base_args
    from avatar_studio.render.model_io import face_batch, predictions_to_images
    from avatar_studio.render.schedule import source_frame

    meta = json.loads((options.avatar / "avatar.json").read_text())
    fps = float(meta["fps"])
    frame_count = int(meta["frame_count"])
    boxes = np.load(options.avatar / "boxes.npy")
    frame_files = sorted((options.avatar / "frames").glob("*.jpg"))
    session = ort.InferenceSession(str(options.model), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    mel_name = next(i.name for i in session.get_inputs() if i.shape[1] == 1)
    face_name = next(name for name in names if name != mel_name)

    track = load_audio(options.audio)
    n_frames = track.frame_count(fps)
    windows = track.windows(fps, n_frames)
    with tempfile.TemporaryDirectory(prefix="seed ") as tmp:
        work = Path(tmp)
        for start in range(0, n_frames, options.batch_size):
            stop = min(start + options.batch_size, n_frames)
            indices = [source_frame(i, frame_count) for i in range(start, stop)]
            frames = [cv2.imread(str(frame_files[k])) for k in indices]
            crops = []
            for frame, k in zip(frames, indices, strict=True):
                x1, y1, x2, y2 = (int(v) for v in boxes[k])
                crops.append(cv2.resize(frame[y1:y2, x1:x2], (96, 96)))
            mel = windows.batch(start, stop)
            (prediction,) = session.run(None, {mel_name: mel, face_name: face_batch(np.stack(crops))})
            for offset, (frame, k, mouth) in enumerate(zip(frames, indices, predictions_to_images(prediction), strict=True)):
                x1, y1, x2, y2 = (int(v) for v in boxes[k])
                frame[y1:y2, x1:x2] = cv2.resize(mouth, (x2 - x1, y2 - y1))
                cv2.imwrite(str(work / f"{start + offset:06d}.jpg"), frame)
        video = work / "video.mp4"
        subprocess.run(
            [*base_args(), "-y", "-framerate", f"{fps}", "-i", str(work / "%06d.jpg"), "-c:v", "libx264",
             "-preset", options.preset, "-crf", str(options.crf), "-pix_fmt", "yuv420p", str(video)],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [*base_args(), "-y", "-i", str(video), "-i", str(options.audio), "-map", "0:v", "-map", "1:a",
             "-c:v", "copy", "-c:a", "aac", str(options.output)],
            check=True,
        )  # fmt: skip


if __name__ == "__main__":
    main()
