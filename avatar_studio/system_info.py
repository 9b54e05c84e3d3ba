"""What this installation can run on: versions, torch devices, ONNX Runtime providers, folders.

Shown by `avatar-studio info` and the app's About dialog, and the first thing to ask for in a bug
report. ONNX Runtime lists the providers it was *built* with (onnxruntime-gpu lists CUDA and
TensorRT on every Linux machine), so each GPU provider is also tried on a one-node model to say
whether it really starts here.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import platform
import sys
from dataclasses import asdict, dataclass, field

from avatar_studio import __version__
from avatar_studio.choices import DEVICES
from avatar_studio.paths import library_dir, models_dir
from avatar_studio.settings import EngineSettings

NOT_INSTALLED = "not installed"
USABLE = "usable"

#: Component -> the distributions that may provide it (the first one installed is reported).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "mediapipe": ("mediapipe",),
    "PySide6": ("PySide6-Essentials", "PySide6"),
}


@dataclass(frozen=True)
class SystemInfo:
    versions: dict[str, str]
    #: One line per torch device, e.g. "cuda:0 NVIDIA H100 80GB HBM3 (79.1 GiB, compute 9.0)".
    torch_devices: list[str]
    #: Every provider the installed ONNX Runtime was built with -> USABLE or why it does not start here.
    onnx_providers: dict[str, str]
    library_dir: str
    models_dir: str
    #: Every `--encoder` choice -> USABLE or why its one-frame trial encode failed here.
    video_encoders: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable lines, aligned, for a terminal or a dialog."""
        width = max(len(name) for name in self.versions) + 2
        lines = [f"{name:<{width}}{version}" for name, version in self.versions.items()]
        lines.append("")
        lines.append("Torch devices:")
        lines.extend(f"  {device}" for device in self.torch_devices)
        lines.append("ONNX Runtime providers:")
        lines.extend(f"  {provider}: {state}" for provider, state in self.onnx_providers.items())
        if not self.onnx_providers:
            lines.append("  none (ONNX Runtime is not installed)")
        lines.append("Video encoders (auto: the first usable hardware H.264 one, else libx264):")
        lines.extend(f"  {encoder}: {state}" for encoder, state in self.video_encoders.items())
        lines.append("")
        lines.append(f"Library folder: {self.library_dir}")
        lines.append(f"Models folder:  {self.models_dir}")
        return lines

    def as_dict(self) -> dict:
        return asdict(self)


def collect_system_info(library: str | os.PathLike[str] | None = None) -> SystemInfo:
    """Gather everything; takes a second or two (it imports torch and starts tiny ONNX sessions)."""
    library_path = library_dir(library)
    return SystemInfo(
        versions=versions(),
        torch_devices=torch_devices(),
        onnx_providers=onnx_providers(),
        library_dir=str(library_path),
        models_dir=str(models_dir(EngineSettings.load(library_path).models_dir or None)),
        video_encoders=video_encoders(),
    )


def versions() -> dict[str, str]:
    """Versions of the app, Python and every library the engine depends on ("not installed" if absent)."""
    found = {
        "avatar-studio": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "torch": _torch_version(),
        "onnxruntime": _onnxruntime_version(),
        "opencv": _module_version("cv2"),
    }
    for component, distributions in DISTRIBUTIONS.items():
        found[component] = _distribution_version(distributions)
    found["ffmpeg"] = _ffmpeg_version()
    return found


def video_encoders() -> dict[str, str]:
    """Each concrete `--encoder` choice -> USABLE, or why its trial encode fails here."""
    from avatar_studio.media.encoders import encoder_options

    return {o.name: USABLE if o.usable else f"not usable: {o.reason}" for o in encoder_options()}


def torch_devices() -> list[str]:
    """The CPU and every GPU PyTorch can use, or why it cannot use one."""
    try:
        import torch
    except ImportError:
        return ["PyTorch is not installed"]
    devices = [
        f"cpu ({os.cpu_count()} logical cores, {torch.get_num_threads()} threads, "
        f"{torch.backends.cpu.get_cpu_capability()})"
    ]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(
                f"cuda:{index} {props.name} ({props.total_memory / 2**30:.1f} GiB, "
                f"compute {props.major}.{props.minor})"
            )
    elif torch.version.cuda is None:
        devices.append("cuda: not available (this PyTorch is a CPU-only build)")
    else:
        devices.append(f"cuda: not available (PyTorch built for CUDA {torch.version.cuda} finds no GPU or driver)")
    if torch.backends.mps.is_available():
        devices.append("mps (Apple GPU)")
    elif sys.platform == "darwin":
        devices.append("mps: not available (needs Apple silicon and macOS 12.3 or newer)")
    return devices


def device_availability() -> dict[str, str]:
    """Each device choice of the render form -> "" when this machine has it, else why not.

    Instant (no torch import, no session): the NVIDIA driver library for CUDA, Apple silicon for MPS.
    A device that passes can still fail to start (a CPU-only PyTorch build); the render then says why.
    """
    from avatar_studio.gpu_drivers import nvidia_driver_present

    reasons: dict[str, str] = {device: "" for device in DEVICES}
    if not nvidia_driver_present():
        reasons["cuda"] = "No NVIDIA GPU here: the NVIDIA driver (libcuda / nvcuda.dll) is not installed"
    if not (sys.platform == "darwin" and platform.machine() == "arm64"):
        reasons["mps"] = "Apple GPUs only: needs a Mac with Apple silicon"
    return reasons


def onnx_providers() -> dict[str, str]:
    """Each provider ONNX Runtime was built with -> USABLE, or why it does not start here."""
    try:
        import onnxruntime as ort
    except ImportError:
        return {}
    return {provider: _provider_state(provider) for provider in ort.get_available_providers()}


def _provider_state(provider: str) -> str:
    """Open a session on a one-node model with `provider` first and see whether ONNX Runtime kept it."""
    import onnxruntime as ort

    from avatar_studio.model.backends.onnx_backend import CPU, NVIDIA_PROVIDERS, nvidia_driver_present

    if provider == CPU:
        return USABLE
    if provider in NVIDIA_PROVIDERS and not nvidia_driver_present():
        return "not usable: no NVIDIA driver found"  # trying would only print library errors
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the failure is the answer, not something to print
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # ORT prints its fallback on stdout
            session = ort.InferenceSession(_identity_model(), options, providers=[provider, CPU])
    except Exception as error:  # noqa: BLE001 - a provider that throws while starting is simply not usable
        return f"not usable: {str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__}"
    if session.get_providers()[0] != provider:
        return "not usable: it does not start here (its libraries are missing or no suitable device was found)"
    return USABLE


def _identity_model() -> bytes:
    """The smallest valid ONNX model: y = Identity(x), float32[1]."""
    from onnx import TensorProto, helper

    x, y = (helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]) for name in ("x", "y"))
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by every ONNX Runtime from 1.10 on
    return model.SerializeToString()


def _torch_version() -> str:
    try:
        import torch
    except ImportError:
        return NOT_INSTALLED
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
    return f"{torch.__version__} ({build})"


def _onnxruntime_version() -> str:
    version = _module_version("onnxruntime")
    if version == NOT_INSTALLED:
        return version
    flavours = [d for d in ("onnxruntime-gpu", "onnxruntime", "onnxruntime-directml") if _has_distribution(d)]
    return f"{version} ({', '.join(flavours) or 'unknown package'})"


def _module_version(module: str) -> str:
    try:
        return str(__import__(module).__version__)
    except ImportError:
        return NOT_INSTALLED


def _distribution_version(names: tuple[str, ...]) -> str:
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(name)
    return NOT_INSTALLED


def _has_distribution(name: str) -> bool:
    return _distribution_version((name,)) != NOT_INSTALLED


def _ffmpeg_version() -> str:
    try:
        import imageio_ffmpeg

        from avatar_studio.media.ffmpeg import ffmpeg_exe

        return f"{imageio_ffmpeg.get_ffmpeg_version()} ({ffmpeg_exe()})"
    except Exception as error:  # noqa: BLE001 - info must report a broken ffmpeg, not crash on it
        return f"not usable ({error})"
