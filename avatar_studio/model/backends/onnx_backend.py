"""ONNX Runtime backend: runs any common Wav2Lip ONNX export on the best execution provider present.

Exports in the wild name their inputs differently (`mel_batch`/`face_batch`, `source`/`target`,
`mel_spectrogram`/`video_frames`), list them in either order, use fp16 or fp32, and sometimes fix
the batch axis at 1. So the inputs are told apart by shape (…×1×80×16 is audio, …×6×96×96 the face),
each is fed in the element type the graph declares, and a fixed batch axis is honoured by feeding
that many samples per run.

onnxruntime-gpu lists the CUDA and TensorRT providers even where their libraries are missing and
then silently runs on the CPU; the provider really used is read back from the session, reported by
`device_label`, and a fallback is announced through `on_notice` (or is an error when the user asked
for `cuda` explicitly).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from avatar_studio.choices import DEFAULT_BATCH_SIZE, DEVICES, PRECISIONS, DeviceChoice, PrecisionChoice, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.gpu_drivers import nvidia_driver_present
from avatar_studio.model.backends.base import InferenceBackend
from avatar_studio.model.shapes import FACE_SHAPE, MEL_SHAPE, OUTPUT_SHAPE
from avatar_studio.paths import APP_NAME
from avatar_studio.progress import NoticeCallback

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
DIRECTML = "DmlExecutionProvider"
COREML = "CoreMLExecutionProvider"
CPU = "CPUExecutionProvider"

#: Tried in this order when the device is "auto" (fastest first); the CPU always closes the list.
PROVIDER_PREFERENCE = (TENSORRT, CUDA, DIRECTML, COREML, CPU)
NVIDIA_PROVIDERS = (TENSORRT, CUDA)
_ELEMENT_TYPES: dict[str, np.dtype] = {"tensor(float)": np.dtype(np.float32), "tensor(float16)": np.dtype(np.float16)}
_OOM_MARKERS = ("out of memory", "failed to allocate")


@dataclass(frozen=True)
class OnnxSignature:
    """Which graph input is the audio, which the face, and how each must be fed."""

    mel_name: str
    face_name: str
    output_name: str
    mel_dtype: np.dtype
    face_dtype: np.dtype
    #: The batch size the graph was exported with when its batch axis is not dynamic.
    fixed_batch: int | None

    @property
    def precision(self) -> str:
        return "fp16" if self.face_dtype == np.float16 else "fp32"


class OnnxBackend(InferenceBackend):
    """A Wav2Lip ONNX model in an ONNX Runtime session."""

    engine_name = "ONNX Runtime"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        device: DeviceChoice = "auto",
        precision: PrecisionChoice = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_notice: NoticeCallback | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(batch_size, on_notice)
        import onnxruntime as ort

        check_choice("precision", precision, PRECISIONS)

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise AvatarStudioError(
                f"Model file {self.model_path} does not exist; check the path or pick a model from the models folder."
            )
        providers = choose_providers(device, ort.get_available_providers())
        self._session = open_session(self.model_path, providers, threads)
        try:
            self.signature = read_signature(self._session, self.model_path)
            self._check_provider(device, providers)
        except AvatarStudioError:
            self.close()
            raise
        if self.signature.fixed_batch is not None and self.signature.fixed_batch != batch_size:
            self.batch_size = self.signature.fixed_batch
            self._notify(
                f"{self.model_path.name} takes {self.batch_size} sample(s) per run (its batch axis is fixed), "
                f"so the batch size is {self.batch_size}."
            )
        if precision != "auto" and precision != self.signature.precision:
            self._notify(
                f"{self.model_path.name} is an {self.precision} ONNX model and runs in {self.precision}; for "
                f"{precision}, export one with `avatar-studio export-onnx MODEL.pth --precision {precision}`."
            )

    @property
    def device_label(self) -> str:
        # Read live: ONNX Runtime may still move a session to the CPU if a GPU provider fails at run time.
        return self._session.get_providers()[0]

    @property
    def precision(self) -> str:
        return self.signature.precision

    def close(self) -> None:
        self._session = _ClosedSession()

    def _run_chunk(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        return run_in_fixed_groups(self.signature.fixed_batch, self._run, mel, face)

    def _run(self, mel: np.ndarray, face: np.ndarray) -> np.ndarray:
        sig = self.signature
        feed = {
            sig.mel_name: np.ascontiguousarray(mel, dtype=sig.mel_dtype),
            sig.face_name: np.ascontiguousarray(face, dtype=sig.face_dtype),
        }
        (output,) = self._session.run([sig.output_name], feed)
        return output.astype(np.float32, copy=False)

    def _is_out_of_memory(self, error: BaseException) -> bool:
        return is_out_of_memory(error)

    def _check_provider(self, device: DeviceChoice, requested: list[str]) -> None:
        check_provider(device, requested, self.device_label, self._notify)


class _ClosedSession:
    """Stands in for a released session so a closed backend fails clearly instead of crashing."""

    def get_providers(self) -> list[str]:
        return ["closed"]

    def run(self, *args: object) -> list[np.ndarray]:
        raise AvatarStudioError("This model has been closed; open it again to keep rendering.")


def is_out_of_memory(error: BaseException) -> bool:
    """True when an ONNX Runtime error means the device ran out of memory.

    ONNX Runtime raises its own exception types whatever the cause; only the text tells an
    allocation failure (CUDA/TensorRT "out of memory", the arena's "Failed to allocate") apart.
    """
    text = str(error).lower()
    return any(marker in text for marker in _OOM_MARKERS)


def check_provider(device: DeviceChoice, requested: list[str], used: str, notify: NoticeCallback) -> None:
    """Compare the provider a session really runs on with the one asked for, and say what matters."""
    wanted = requested[0]
    if used == TENSORRT:
        notify(
            "TensorRT optimises the model on its first run on this machine, which can take minutes; "
            "later runs reuse the result."
        )
    if used == wanted:
        return
    if device == "auto" or used != CPU:  # e.g. TensorRT missing but CUDA running: still the GPU asked for
        notify(
            f"ONNX Runtime could not start {wanted} (its libraries are missing or no usable GPU was found), "
            f"so it runs on {used}."
        )
        return
    raise AvatarStudioError(
        f"ONNX Runtime could not start {wanted} for device '{device}' (its GPU libraries are missing or no "
        "usable GPU was found); install the GPU runtime its documentation lists, or choose device cpu."
    )


def run_in_fixed_groups(
    group: int | None, run: Callable[..., np.ndarray], *arrays: np.ndarray
) -> np.ndarray:
    """`run(*arrays)`, or, for a graph whose batch axis is fixed at `group` samples, `run` on groups of
    exactly that many: a short last group is padded with copies of its final sample whose outputs are
    dropped."""
    if group is None:
        return run(*arrays)
    outputs = []
    for start in range(0, len(arrays[0]), group):
        parts = [array[start : start + group] for array in arrays]
        count = len(parts[0])
        padded = [np.pad(part, [(0, group - count)] + [(0, 0)] * (part.ndim - 1), mode="edge") for part in parts]
        outputs.append(run(*padded)[:count])
    return np.concatenate(outputs, axis=0)


def choose_providers(device: DeviceChoice, available: list[str]) -> list[str]:
    """The execution providers to ask for, best first, for the device the user chose."""
    check_choice("device", device, DEVICES)
    if device == "cpu":
        return [CPU]
    present = [p for p in PROVIDER_PREFERENCE if p in available]
    if device == "cuda":
        nvidia = [p for p in present if p in NVIDIA_PROVIDERS]
        if not nvidia:
            raise AvatarStudioError(
                "This ONNX Runtime has no CUDA support; install onnxruntime-gpu (not onnxruntime) or choose device cpu."
            )
        if not nvidia_driver_present():
            raise AvatarStudioError("Device cuda was chosen but no NVIDIA driver was found; choose device cpu or auto.")
        return nvidia + [CPU]
    if device == "mps":
        if COREML not in present:
            raise AvatarStudioError("This ONNX Runtime has no CoreML support for Apple GPUs; choose device auto or cpu.")
        return [COREML, CPU]
    if not nvidia_driver_present():
        # onnxruntime-gpu lists CUDA/TensorRT on every Linux/Windows machine; trying them without a
        # driver only prints errors before falling back to the CPU.
        present = [p for p in present if p not in NVIDIA_PROVIDERS]
    return present if CPU in present else present + [CPU]


def cpu_threads() -> int:
    """Threads for ONNX Runtime's CPU work: one per physical core this process may run on.

    Convolutions gain next to nothing from a core's second hyper-thread, and the thread pool slows
    down sharply when it has more threads than cores to run them (they wait for each other at every
    operator), e.g. in a container limited to fewer CPUs than the machine has. Off Linux, 0 leaves the
    choice to ONNX Runtime, which counts physical cores there.
    """
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # no affinity mask or topology files to read off Linux
        return 0
    cores = set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            cores.add((str(cpu), ""))
    return max(1, len(cores))


def open_session(
    path: Path, providers: list[str], threads: int | None,
    remedy: str = "export it again with `avatar-studio export-onnx`",
):
    """An InferenceSession tuned for Wav2Lip (and used for the face enhancers too), or an
    AvatarStudioError saying why the file won't load and, in `remedy`, what to do."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Beyond folding each BatchNorm into its Conv and fusing activations, ORT_ENABLE_ALL rewrites the
    # convolutions into the blocked NCHWc layout that ORT's fast CPU kernels need (EXTENDED is
    # clearly slower here). The graph is one chain with a short audio branch, too little for
    # ORT_PARALLEL to pay for its scheduling.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1  # unused by sequential execution; 1 avoids an idle pool
    # Idle pool threads would otherwise busy-wait for the next operator. Wav2Lip's operators are
    # large (milliseconds each), so waking costs nothing measurable, while spinning steals the cores
    # that the renderer's decode, compositing and encoding threads need at the same time.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: ORT's warnings are about its own internals
    if DIRECTML in providers:
        options.enable_mem_pattern = False  # DirectML does not support memory patterns
    provider_options = [_provider_options(p) for p in providers]
    try:
        # When a provider fails to start, ONNX Runtime prints its retry on stdout; we report the
        # outcome ourselves through on_notice, so keep it off the CLI's output.
        with contextlib.redirect_stdout(io.StringIO()):
            return ort.InferenceSession(str(path), options, providers=providers, provider_options=provider_options)
    except Exception as error:  # noqa: BLE001 - every ONNX Runtime load failure means "not a usable model"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AvatarStudioError(
            f"{path.name} is not a valid ONNX model ({reason[:160]}); {remedy}."
        ) from error


def _provider_options(provider: str) -> dict[str, str]:
    if provider != TENSORRT:
        return {}
    # TensorRT spends minutes building an engine for each new range of input shapes; keep the
    # engines on disk so only the first run on a machine pays for it.
    cache = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "tensorrt"
    cache.mkdir(parents=True, exist_ok=True)
    return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache)}


def read_signature(session, path: Path) -> OnnxSignature:
    """Tell the audio input from the face input by shape; AvatarStudioError if the graph isn't Wav2Lip's."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    found = ", ".join(f"{i.name} {_shape_text(i.shape)}" for i in inputs)
    not_wav2lip = AvatarStudioError(
        f"{path.name} is not a Wav2Lip ONNX model: it needs inputs (B,1,80,16) and (B,6,96,96) and output "
        f"(B,3,96,96) but has {found or 'no inputs'}; choose a Wav2Lip export."
    )
    # Some converters leave the output's shape undeclared; only a declared, different one disqualifies.
    if len(inputs) != 2 or not outputs:
        raise not_wav2lip
    if outputs[0].shape and not _fits(outputs[0].shape, OUTPUT_SHAPE):
        raise AvatarStudioError(
            f"{path.name} is not a Wav2Lip ONNX model: its output is {_shape_text(outputs[0].shape)}, not "
            "(B,3,96,96); choose a Wav2Lip export."
        )
    first, second = inputs
    pairings = [
        (a, b) for a, b in ((first, second), (second, first)) if _fits(a.shape, MEL_SHAPE) and _fits(b.shape, FACE_SHAPE)
    ]
    if not pairings:
        raise not_wav2lip
    if len(pairings) > 1:
        raise AvatarStudioError(
            f"{path.name} does not declare its input shapes ({found}), so the audio and face inputs can't be told "
            "apart; export it again with fixed channel and image sizes."
        )
    mel, face = pairings[0]
    mel_dtype, face_dtype = (_ELEMENT_TYPES.get(arg.type) for arg in (mel, face))
    if mel_dtype is None or face_dtype is None:
        raise AvatarStudioError(
            f"{path.name} takes {mel.type}/{face.type} inputs but only float32 and float16 models are supported; "
            "export it again with `avatar-studio export-onnx`."
        )
    fixed = [d for d in (mel.shape[0], face.shape[0]) if isinstance(d, int) and d > 0]
    return OnnxSignature(
        mel_name=mel.name,
        face_name=face.name,
        output_name=outputs[0].name,
        mel_dtype=mel_dtype,
        face_dtype=face_dtype,
        fixed_batch=fixed[0] if fixed else None,
    )


def _fits(shape: list, expected: tuple[int, ...]) -> bool:
    """True when a graph shape [batch, *dims] can hold `expected` dims; named (dynamic) dims fit anything."""
    if shape is None or len(shape) != len(expected) + 1:
        return False
    return all(not isinstance(d, int) or d == e for d, e in zip(shape[1:], expected, strict=True))


def _shape_text(shape: list) -> str:
    return "(" + ",".join(str(d) if isinstance(d, int) else "B" for d in shape) + ")"
