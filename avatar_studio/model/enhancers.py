"""Face-restoration ("enhancer") ONNX models: recognising them by shape and running them in batches.

People have GFPGAN 1.2/1.3/1.4, CodeFormer, GPEN-BFR 256-2048 and RestoreFormer++ exports under any
file name, with the image input named differently and the batch axis sometimes fixed at 1. So an
enhancer is recognised by its inputs' shapes alone: one 4-D image (B,3,S,S) with an output of the
same shape, and optionally a 1-element fidelity weight (CodeFormer). The image size and the weight
are all the file tells; where families share a shape (GFPGAN, RestoreFormer++ and GPEN-BFR 512 all
take 512x512) the listing says so instead of guessing. Facts: ../shared/reference/FACE_ENHANCERS.md.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatar_studio.choices import DEFAULT_ENHANCER_WEIGHT, ENHANCER_MAX_BATCH, DeviceChoice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.faces.align import TemplateName
from avatar_studio.model.backends.base import BatchShrinking
from avatar_studio.progress import NoticeCallback

_IMAGE_TYPES: dict[str, np.dtype] = {"tensor(float)": np.dtype(np.float32), "tensor(float16)": np.dtype(np.float16)}
_WEIGHT_TYPES: dict[str, np.dtype] = {"tensor(double)": np.dtype(np.float64), "tensor(float)": np.dtype(np.float32)}
_REMEDY = "choose a GFPGAN, CodeFormer, GPEN-BFR or RestoreFormer++ .onnx file"


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output as ONNX Runtime and the onnx package both describe it."""

    name: str
    #: ints where fixed, None where dynamic (named)
    shape: tuple[int | None, ...]
    #: "tensor(float)", "tensor(double)", ...
    element_type: str


@dataclass(frozen=True)
class EnhancerFamily:
    """What the shapes tell about an enhancer file: which models it can be, its template, its licence."""

    label: str
    template: TemplateName
    licence: str


_GFPGAN_LIKE = EnhancerFamily(
    "GFPGAN 1.2/1.3/1.4, RestoreFormer++ or GPEN-BFR 512 (the same shape: which one cannot be told from the file)",
    "ffhq_512",
    "GFPGAN and RestoreFormer++: Apache-2.0; GPEN-BFR: non-commercial use only; check where the file came from",
)
_CODEFORMER = EnhancerFamily("CodeFormer", "ffhq_512", "S-Lab License 1.0: non-commercial use only")
_FAMILIES: dict[int, EnhancerFamily] = {
    256: EnhancerFamily("GPEN-BFR 256", "arcface_128", "GPEN-BFR: non-commercial use only"),
    512: _GFPGAN_LIKE,
    1024: EnhancerFamily("GPEN-BFR 1024", "ffhq_512", "GPEN-BFR: non-commercial use only"),
    2048: EnhancerFamily("GPEN-BFR 2048", "ffhq_512", "GPEN-BFR: non-commercial use only"),
}
IMAGE_SIZES = tuple(_FAMILIES)


@dataclass(frozen=True)
class EnhancerSignature:
    """Which input is the face image, which (if any) the fidelity weight, and how to feed them."""

    image_name: str
    output_name: str
    size: int
    image_dtype: np.dtype
    weight_name: str | None = None
    weight_dtype: np.dtype | None = None
    #: (1,) as CodeFormer declares it, or () for an export that takes a scalar
    weight_shape: tuple[int, ...] = (1,)
    #: The batch size the graph was exported with when its batch axis is not dynamic.
    fixed_batch: int | None = None

    @property
    def family(self) -> EnhancerFamily:
        return _CODEFORMER if self.weight_name is not None and self.size == 512 else _FAMILIES[self.size]

    @property
    def description(self) -> str:
        """One line for listings: the family, the size, the licence note."""
        weight = ", fidelity weight" if self.weight_name else ""
        return f"face enhancer {self.size}x{self.size}{weight}: {self.family.label}; licence: {self.family.licence}"


def is_image_input(spec: TensorSpec) -> bool:
    """A 4-D, 3-channel input: an image, so the file is meant as an enhancer rather than a lip-sync model."""
    return len(spec.shape) == 4 and spec.shape[1] == 3


def enhancer_signature(inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], file_name: str) -> EnhancerSignature:
    """Recognise a face-restoration model by its shapes; AvatarStudioError (one sentence) otherwise."""
    found = ", ".join(f"{i.name} {_shape_text(i.shape)}" for i in inputs) or "no inputs"
    images = [i for i in inputs if is_image_input(i)]
    weights = [i for i in inputs if i not in images and _is_single_value(i)]
    if len(images) != 1 or len(inputs) != 1 + len(weights) or len(weights) > 1 or len(outputs) != 1:
        raise AvatarStudioError(
            f"{file_name} is not a face-restoration model: it needs one (1,3,S,S) image input and at most a "
            f"1-element weight but has {found}; {_REMEDY}."
        )
    image, output = images[0], outputs[0]
    batch, _channels, height, width = image.shape
    if height is None or width is None or height != width or height not in _FAMILIES:
        raise AvatarStudioError(
            f"{file_name} takes {_shape_text(image.shape)} images but face enhancers take square "
            f"{', '.join(map(str, IMAGE_SIZES))} pixel faces; {_REMEDY}."
        )
    # Some converters leave the output's shape undeclared; only a declared, different one disqualifies.
    if output.shape and (
        len(output.shape) != 4 or any(d is not None and d != e for d, e in zip(output.shape[1:], (3, height, width), strict=True))
    ):
        raise AvatarStudioError(
            f"{file_name} turns {_shape_text(image.shape)} images into {_shape_text(output.shape)}, not a "
            f"restored face of the same size; {_REMEDY}."
        )
    image_dtype = _IMAGE_TYPES.get(image.element_type)
    weight_dtype = _WEIGHT_TYPES.get(weights[0].element_type) if weights else None
    if image_dtype is None or (weights and weight_dtype is None):
        raise AvatarStudioError(
            f"{file_name} takes {', '.join(i.element_type for i in inputs)} inputs, but only float32/float16 "
            f"images and a float64/float32 weight are supported; {_REMEDY}."
        )
    return EnhancerSignature(
        image_name=image.name, output_name=output.name, size=height, image_dtype=image_dtype,
        weight_name=weights[0].name if weights else None, weight_dtype=weight_dtype,
        weight_shape=(1,) if not weights or weights[0].shape else (),
        fixed_batch=batch if batch is not None and batch > 0 else None,
    )


def _is_single_value(spec: TensorSpec) -> bool:
    return len(spec.shape) <= 1 and all(d in (1, None) for d in spec.shape)


def _shape_text(shape: Sequence[int | None]) -> str:
    return "(" + ",".join("?" if d is None else str(d) for d in shape) + ")"


def session_tensors(session: Any) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The inputs and outputs of an ONNX Runtime session as `TensorSpec`s."""

    def spec(arg: Any) -> TensorSpec:
        shape = tuple(d if isinstance(d, int) and d > 0 else None for d in (arg.shape or []))
        return TensorSpec(arg.name, shape, arg.type)

    return [spec(a) for a in session.get_inputs()], [spec(a) for a in session.get_outputs()]


@functools.lru_cache(maxsize=64)
def graph_tensors(path: str, size: int, mtime_ns: int) -> tuple[list[TensorSpec], list[TensorSpec]] | None:
    """The inputs and outputs an ONNX file declares, read without a session (size and mtime key the
    cache); None for an unreadable file. Used by the models listing, which must stay cheap."""
    import onnx

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001 - an unreadable file is listed; opening it reports the problem
        return None
    names = {value: key for key, value in onnx.TensorProto.DataType.items()}
    initializers = {t.name for t in model.graph.initializer}

    def spec(value: Any) -> TensorSpec:
        tensor = value.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor.shape.dim)
        element = names.get(tensor.elem_type, "UNDEFINED").lower()
        return TensorSpec(value.name, shape, f"tensor({element})")

    inputs = [spec(i) for i in model.graph.input if i.name not in initializers]
    return inputs, [spec(o) for o in model.graph.output]


def read_enhancer_signature(path: Path) -> EnhancerSignature | None:
    """The enhancer signature of an ONNX file, or None when it is not one (cheap, cached per file)."""
    stat = path.stat()
    tensors = graph_tensors(str(path), stat.st_size, stat.st_mtime_ns)
    if tensors is None or not any(is_image_input(i) for i in tensors[0]):
        return None
    try:
        return enhancer_signature(*tensors, path.name)
    except AvatarStudioError:
        return None


class FaceEnhancer(BatchShrinking):
    """A face-restoration ONNX model in an ONNX Runtime session, on the device the lip-sync model uses."""

    engine_name = "ONNX Runtime"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        device: DeviceChoice = "auto",
        batch_size: int = ENHANCER_MAX_BATCH,
        weight: float = DEFAULT_ENHANCER_WEIGHT,
        on_notice: NoticeCallback | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(batch_size, on_notice)
        import onnxruntime as ort

        # Imported here, not at the top: the ONNX backend module imports torch (via the Wav2Lip
        # shapes), and listing the models folder must not.
        from avatar_studio.model.backends.onnx_backend import check_provider, choose_providers, open_session

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise AvatarStudioError(f"Face enhancer {self.model_path} does not exist; check the path or import it.")
        self.weight = weight
        providers = choose_providers(device, ort.get_available_providers())
        self._session = open_session(self.model_path, providers, threads, remedy=_REMEDY)
        self.signature = enhancer_signature(*session_tensors(self._session), self.model_path.name)
        check_provider(device, providers, self.device_label, self._notify)
        if self.signature.fixed_batch is not None:
            self.batch_size = self.signature.fixed_batch

    @property
    def device_label(self) -> str:
        return "closed" if self._session is None else self._session.get_providers()[0]

    @property
    def size(self) -> int:
        """The side of the square face crop the model takes."""
        return self.signature.size

    @property
    def template(self) -> TemplateName:
        return self.signature.family.template

    def describe(self) -> str:
        return f"enhancer {self.model_path.name} · {self.device_label} · batch {self.batch_size}"

    def close(self) -> None:
        self._session = None

    def enhance(self, faces: np.ndarray) -> np.ndarray:
        """(B,S,S,3) uint8 BGR aligned faces -> the restored faces, same shape and type."""
        from avatar_studio.model.backends.onnx_backend import run_in_fixed_groups

        tensors = faces[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
        outputs = self._run_chunked(
            len(tensors),
            lambda start, stop: run_in_fixed_groups(self.signature.fixed_batch, self._run, tensors[start:stop]),
        )
        if not outputs:
            return faces[:0].copy()
        restored = np.concatenate(outputs, axis=0).clip(-1.0, 1.0)
        images = (restored + np.float32(1.0)) * np.float32(255.0 / 2.0) + np.float32(0.5)
        return np.ascontiguousarray(images.astype(np.uint8).transpose(0, 2, 3, 1)[..., ::-1])

    def _run(self, images: np.ndarray) -> np.ndarray:
        sig = self.signature
        if self._session is None:
            raise AvatarStudioError("This face enhancer has been closed; open it again to keep rendering.")
        feed = {sig.image_name: np.ascontiguousarray(images, dtype=sig.image_dtype)}
        if sig.weight_name is not None:
            feed[sig.weight_name] = np.full(sig.weight_shape, self.weight, dtype=sig.weight_dtype)
        (output,) = self._session.run([sig.output_name], feed)
        return output.astype(np.float32, copy=False)

    def _is_out_of_memory(self, error: BaseException) -> bool:
        from avatar_studio.model.backends.onnx_backend import is_out_of_memory

        return is_out_of_memory(error)

    def __enter__(self) -> FaceEnhancer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
