"""What a face enhancer costs a render: frames/s with and without an enhancer-sized network.

No restoration weights exist offline, so the enhancer is a stand-in with GFPGAN's interface
((B,3,512,512) in and out) and a realistic amount of work: a U-Net of 3x3 convolutions (16 to 256
channels, four stride-2 levels and back), about 13.5 G multiply-adds per face, the same order as the
published 512x512 restoration networks (their exact cost is not known here; the script prints the
stand-in's). Its weights are random: speed does not depend on them.

Both renders use the same avatar (the shared 844x844 clip, prepared at `--height` lines), the same
speech and the identity lip-sync stand-in (so the lip-sync model's cost does not hide the
enhancer's), x264 `veryfast`; the enhancer runs through the real `FaceEnhancer` and pipeline stage.
The bare enhancer (`FaceEnhancer.enhance` on aligned faces, no render) is timed too.

    .venv/bin/python benchmarks/bench_enhancer.py [--seconds 2] [--device cpu|cuda] [--batch-size 4]

`--device cuda` runs the lip-sync model and the enhancer on ONNX Runtime's CUDA provider (a GPU
machine with onnxruntime-gpu).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_MEDIA = ROOT.parent / "shared" / "media"
sys.path.insert(0, str(ROOT / "tests"))  # the lip-sync stand-in lives with the tests

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from avatar_studio.avatars.library import AvatarLibrary  # noqa: E402
from avatar_studio.avatars.prepare import PrepareSettings  # noqa: E402

AVATAR_SOURCE = SHARED_MEDIA / "talking_man_25fps_844x844.mp4"
SPEECH = SHARED_MEDIA / "speech_en_22k_mono.wav"
SIZE = 512
CHANNELS = (16, 32, 64, 128, 256)


def _block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.LeakyReLU(0.2))


class RestorationStandIn(nn.Module):
    """A GFPGAN-sized U-Net: encoder 512 -> 32 pixels, decoder back with skip connections."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _block(3, CHANNELS[0])
        self.down = nn.ModuleList(
            nn.Sequential(_block(a, b, 2), _block(b, b)) for a, b in itertools.pairwise(CHANNELS)
        )
        self.up = nn.ModuleList(
            nn.Sequential(_block(b + a, a), _block(a, a)) for a, b in itertools.pairwise(CHANNELS)
        )
        self.head = nn.Conv2d(CHANNELS[0], 3, 3, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(image)]
        for down in self.down:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in reversed(self.up):
            skip = skips.pop()
            x = up(torch.cat([nn.functional.interpolate(x, scale_factor=2.0), skip], dim=1))
        return torch.tanh(self.head(x) + image)


def multiply_adds(module: nn.Module) -> float:
    """Multiply-adds of one forward pass on a 512x512 face, counted from the convolutions' outputs."""
    total = 0.0

    def count(layer: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(layer, nn.Conv2d)
        total += output.numel() * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]

    hooks = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.inference_mode():
        module(torch.zeros(1, 3, SIZE, SIZE))
    for hook in hooks:
        hook.remove()
    return total


def write_standin(path: Path) -> tuple[Path, float]:
    module = RestorationStandIn().eval()
    torch.onnx.export(
        module, (torch.zeros(1, 3, SIZE, SIZE),), str(path), dynamo=False,
        input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )  # fmt: skip
    return path, multiply_adds(module)


def make_speech(path: Path, seconds: float) -> Path:
    import subprocess

    from avatar_studio.media.ffmpeg import base_args

    args = ["-i", str(SPEECH), "-t", f"{seconds}", "-ac", "1", "-c:a", "pcm_s16le", str(path)]
    subprocess.run([*base_args(), "-y", *args], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="speech length (default 2 s = 50 frames)")
    parser.add_argument("--height", type=int, default=512, help="avatar preparation height (default 512)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch-size", type=int, default=4, help="enhancer faces per run")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    options = parser.parse_args()
    if not AVATAR_SOURCE.is_file():
        sys.exit(f"{AVATAR_SOURCE} is missing; the benchmark needs ../shared/media.")

    from avatar_studio.faces.align import alignment_matrix, five_points, warp_face
    from avatar_studio.model.backends.onnx_backend import OnnxBackend
    from avatar_studio.model.enhancers import FaceEnhancer
    from avatar_studio.render.pipeline import render_video
    from avatar_studio.render.settings import RenderSettings
    from standin_models import write_identity_model

    with tempfile.TemporaryDirectory(prefix="bench enhancer ") as tmp:
        folder = Path(tmp)
        avatar = AvatarLibrary(folder / "library").prepare(AVATAR_SOURCE, "bench", PrepareSettings(max_height=options.height))
        landmarks = avatar.landmarks()
        if landmarks is None:
            sys.exit("The avatar has no face landmarks; this build does not store them at preparation.")
        speech = make_speech(folder / "speech.wav", options.seconds)
        lipsync = write_identity_model(folder / "identity.onnx")
        enhancer_path, macs = write_standin(folder / "restoration_standin.onnx")
        print(f"avatar {avatar.width}x{avatar.height}, {options.seconds:g} s of speech; "
              f"enhancer stand-in {macs / 1e9:.1f} G multiply-adds per 512x512 face; device {options.device}")  # fmt: skip

        with OnnxBackend(lipsync, options.device, batch_size=16, threads=options.threads) as backend, \
                FaceEnhancer(enhancer_path, options.device, options.batch_size, threads=options.threads) as enhancer:  # fmt: skip
            print(f"lip sync: {backend.describe()}; {enhancer.describe()}")
            faces = np.stack([
                warp_face(avatar.read_frame(j), alignment_matrix(five_points(landmarks[j]), "ffhq_512", SIZE), SIZE)
                for j in range(options.batch_size * 2)
            ])  # fmt: skip
            enhancer.enhance(faces[: options.batch_size])  # warm-up
            # CPU time next to wall time: on a shared machine the wall clock depends on the others' load.
            started, cpu_started = time.perf_counter(), time.process_time()
            enhancer.enhance(faces)
            bare = len(faces) / (time.perf_counter() - started)
            bare_cpu = (time.process_time() - cpu_started) / len(faces)
            results = {}
            for label, used in (("without enhancer", None), ("with enhancer", enhancer)):
                settings = RenderSettings(overwrite=True, enhancer="stand-in" if used else None, enhancer_region="mouth")
                cpu_started = time.process_time()
                result = render_video(avatar, speech, backend, folder / f"{label}.mp4", settings, enhancer=used)
                results[label] = (result.frames_per_second, (time.process_time() - cpu_started) / result.frame_count)
    print(f"bare enhancer:    {bare:7.2f} faces/s (batch {options.batch_size}), {1000 * bare_cpu:7.0f} ms CPU per face")
    for label, (fps, cpu) in results.items():
        print(f"{label:17} {fps:7.2f} frames/s end to end, {1000 * cpu:7.0f} ms CPU per frame (this process)")


if __name__ == "__main__":
    main()
