"""Open the right backend for a model file: PyTorch for checkpoints, ONNX Runtime for exports.

The file's suffix decides when the backend is "auto". An explicit choice that cannot run the file
(e.g. `--backend onnx` with a `.pth`) is an error that says how to get a file that fits, rather
than a silent switch: the user asked for that engine for a reason (speed, a provider, a test).
"""

from __future__ import annotations

from avatar_studio.choices import BACKENDS, MODEL_SUFFIXES, MODEL_SUFFIXES_ONNX, MODEL_SUFFIXES_TORCH, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.backends.base import BackendSettings, InferenceBackend
from avatar_studio.progress import NoticeCallback


def open_backend(settings: BackendSettings, on_notice: NoticeCallback | None = None) -> InferenceBackend:
    """A loaded backend for `settings.model_path`, ready to predict."""
    path = settings.model_path
    check_choice("backend", settings.backend, BACKENDS)
    if not path.is_file():
        raise AvatarStudioError(
            f"Model file {path} does not exist; check the path, or put the model in the models folder."
        )
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise AvatarStudioError(
            f"{path.name} is not a model file Avatar Studio can run; choose a {', '.join(MODEL_SUFFIXES)} file."
        )
    is_onnx_file = suffix in MODEL_SUFFIXES_ONNX
    if settings.backend == "onnx" and not is_onnx_file:
        raise AvatarStudioError(
            f"ONNX Runtime cannot run the PyTorch checkpoint {path.name}; export it first with "
            f"`avatar-studio export-onnx {path.name} -o {path.stem}.onnx`, or choose backend auto or torch."
        )
    if settings.backend == "torch" and is_onnx_file:
        raise AvatarStudioError(
            f"PyTorch cannot run the ONNX file {path.name}; choose backend auto or onnx, or use the "
            f"{'/'.join(MODEL_SUFFIXES_TORCH)} checkpoint it was exported from."
        )
    if is_onnx_file:
        from avatar_studio.model.backends.onnx_backend import OnnxBackend

        return OnnxBackend(path, settings.device, settings.precision, settings.batch_size, on_notice)
    from avatar_studio.model.backends.torch_backend import TorchBackend

    return TorchBackend(path, settings.device, settings.precision, settings.batch_size, on_notice)
