"""Avatar preparation speed (face detection included) and the frame-storage comparison behind
`avatar_studio/avatars/storage.py`.

    .venv/bin/python benchmarks/bench_prepare.py [--max-height 1080] [--storage] [--repeat 2]

For each clip in ../shared/media it prepares an avatar in a temporary library, with the face mesh
(today's preparation) and without it (as before the mesh), and prints the frames/s of the whole
preparation and of its two passes (decode + detect + store + preview, then crops + mesh), and the
CPU time per frame of this process and its ffmpeg children together: on a shared machine the CPU
time is the fairer comparison, wall-clock speed depends on what else runs. The best of `--repeat`
runs is kept. `--storage` also writes each clip's frames as a JPEG q95 sequence, a raw .npy memmap and
two H.264 files (GOP 12), and reads them back in ping-pong order (H.264 backwards in GOP blocks
after a seek, the way a renderer would have to), printing disk per frame, speeds and PSNR.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from avatar_studio.avatars import storage
from avatar_studio.avatars.library import AvatarLibrary
from avatar_studio.avatars.prepare import STAGE_CROPS, STAGE_DETECT, PrepareSettings
from avatar_studio.media.ffmpeg import base_args
from avatar_studio.media.video_reader import open_video
from avatar_studio.progress import Progress

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
CLIPS = ("talking_man_25fps_844x844.mp4", "anime_portrait_25fps_704x1216.mp4")
GOP = 12


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished children (the ffmpeg processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_prepare(clip: Path, max_height: int, folder: Path, face_mesh: bool = True) -> tuple[float, float]:
    """Prepare `clip` once; prints the speeds and returns (frames/s overall, CPU ms per frame)."""
    stage_seconds: dict[str, float] = {}

    def on_progress(progress: Progress) -> None:
        stage_seconds[progress.stage] = progress.elapsed_s

    settings = PrepareSettings(max_height=max_height, face_mesh=face_mesh)
    cpu = _cpu_seconds()
    start = time.perf_counter()
    avatar = AvatarLibrary(folder).prepare(clip, clip.stem, settings, on_progress)
    total = time.perf_counter() - start
    cpu_ms = (_cpu_seconds() - cpu) * 1000 / avatar.frame_count
    n = avatar.frame_count
    size_mb = sum(p.stat().st_size for p in avatar.folder.rglob("*") if p.is_file()) / 2**20
    print(
        f"{clip.name} {'with' if face_mesh else 'without'} mesh: {n} frames {avatar.width}x{avatar.height}: "
        f"{n / total:.1f} frames/s overall ({total:.2f} s incl. start-up), {cpu_ms:.1f} ms CPU per frame; "
        f"pass 1 {n / stage_seconds[STAGE_DETECT]:.1f} frames/s, crops{' + mesh' if face_mesh else ''} "
        f"{n / stage_seconds[STAGE_CROPS]:.0f} frames/s; {size_mb:.1f} MiB on disk"
    )
    return n / total, cpu_ms


def compare_mesh(clip: Path, max_height: int, repeat: int) -> None:
    """Best-of-`repeat` preparation with and without the face mesh, and the slowdown it costs."""
    best: dict[bool, tuple[float, float]] = {}
    for _ in range(repeat):
        for face_mesh in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench prepare ") as folder:
                fps, cpu_ms = bench_prepare(clip, max_height, Path(folder), face_mesh)
            old = best.get(face_mesh, (0.0, float("inf")))
            best[face_mesh] = (max(old[0], fps), min(old[1], cpu_ms))
    (fps_before, cpu_before), (fps_after, cpu_after) = best[False], best[True]
    print(
        f"  => face mesh costs {100 * (1 - fps_after / fps_before):.0f} % of the frames/s "
        f"({fps_before:.1f} -> {fps_after:.1f}) and {100 * (cpu_after / cpu_before - 1):.0f} % more CPU per frame "
        f"({cpu_before:.1f} -> {cpu_after:.1f} ms)"
    )


def pingpong(n: int) -> list[int]:
    return list(range(n)) + list(range(n - 2, 0, -1))


def bench_storage(clip: Path, max_height: int, folder: Path) -> None:
    with open_video(clip, max_height=max_height) as video:
        frames = list(video.frames())
    n, (h, w) = len(frames), frames[0].shape[:2]
    order = pingpong(n)
    print(f"{clip.name} at {w}x{h}, {n} frames, ping-pong read of {len(order)} frames:")

    def report(name: str, disk: int, write_s: float, read: str, psnr: str) -> None:
        print(f"  {name:32s} {disk / n / 1024:7.0f} KiB/frame  write {n / write_s:6.0f} fps  read {read}  {psnr}")

    jpeg_dir = folder / "jpeg"
    (jpeg_dir / storage.FRAMES_DIR).mkdir(parents=True)
    t = time.perf_counter()
    for i, frame in enumerate(frames):
        storage.write_frame(jpeg_dir, i, frame)
    write_s = time.perf_counter() - t
    store = storage.FrameStore(jpeg_dir, n)
    t = time.perf_counter()
    for i in order:
        store.read_frame(i)
    one = len(order) / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in store.iter_frames(order):
        pass
    ahead = len(order) / (time.perf_counter() - t)
    disk = sum(p.stat().st_size for p in (jpeg_dir / storage.FRAMES_DIR).iterdir())
    psnr = cv2.PSNR(store.read_frame(0), frames[0])
    report("JPEG q95 sequence", disk, write_s, f"{one:5.0f} fps (read-ahead {ahead:.0f})", f"PSNR {psnr:.1f} dB")

    t = time.perf_counter()
    raw = np.lib.format.open_memmap(folder / "frames.npy", "w+", np.uint8, (n, h, w, 3))
    for i, frame in enumerate(frames):
        raw[i] = frame
    raw.flush()
    del raw
    write_s = time.perf_counter() - t
    raw = np.load(folder / "frames.npy", mmap_mode="r")
    t = time.perf_counter()
    for i in order:
        np.array(raw[i])
    read = len(order) / (time.perf_counter() - t)
    disk = (folder / "frames.npy").stat().st_size
    report("raw .npy memmap (page cache)", disk, write_s, f"{read:5.0f} fps", "lossless")
    del raw

    for crf, pix_fmt in ((14, "yuv420p"), (12, "yuv444p")):
        path = folder / f"frames_{pix_fmt}.mp4"
        t = time.perf_counter()
        proc = subprocess.Popen(
            [*base_args(), "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", "25", "-i", "pipe:0",
             "-c:v", "libx264", "-preset", "fast", "-crf", str(crf), "-g", str(GOP), "-pix_fmt", pix_fmt, str(path)],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None
        for frame in frames:
            proc.stdin.write(frame.tobytes())
        proc.stdin.close()
        proc.wait()
        write_s = time.perf_counter() - t
        capture = cv2.VideoCapture(str(path))
        t = time.perf_counter()
        decoded = [capture.read()[1] for _ in range(n)]
        forward = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for start in range((n - 1) // GOP * GOP, -1, -GOP):
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
            for _ in range(min(GOP, n - start)):
                capture.read()
        backward = n / (time.perf_counter() - t)
        speeds = f"{forward:5.0f} fps forward, {backward:.0f} backward"
        psnr = cv2.PSNR(decoded[0], frames[0])
        report(f"H.264 crf {crf} {pix_fmt} GOP {GOP}", path.stat().st_size, write_s, speeds, f"PSNR {psnr:.1f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-height", type=int, default=1080)
    parser.add_argument("--storage", action="store_true", help="also compare frame stores")
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant; the best is kept")
    options = parser.parse_args()
    if not MEDIA.is_dir():
        raise SystemExit(f"{MEDIA} is missing; the benchmark needs the shared clips.")
    for name in CLIPS:
        compare_mesh(MEDIA / name, options.max_height, options.repeat)
        if options.storage:
            with tempfile.TemporaryDirectory(prefix="bench storage ") as folder:
                bench_storage(MEDIA / name, options.max_height, Path(folder))


if __name__ == "__main__":
    main()
