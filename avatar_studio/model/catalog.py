"""The models folder: what is in it, which model a render uses, and importing a new one safely.

Used by the CLI and the GUI's Models panel, so it never imports Qt, and listing stays cheap: it
never loads weights. A checkpoint's precision is read from the storage types its pickle names
(`torch FloatStorage`, `torch HalfStorage`), found by walking the pickle's opcodes without running
them, so a 400 MB `wav2lip.pth` costs a few kilobytes of reading and no torch import. An ONNX
file's precision is the element type of its graph inputs (parsing the graph takes a fraction of a
second for a 140 MB export, so the result is cached per file size and modification time).

The folder also holds face enhancers (face-restoration ONNX models, `model/enhancers.py`), told
apart from Wav2Lip exports by their input shapes, never by name: each `ModelInfo` says its `kind`,
and choosing the lip-sync model of a render only ever looks at the lip-sync models.
"""

from __future__ import annotations

import os
import pickletools
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from avatar_studio.atomic_files import atomic_output
from avatar_studio.choices import MODEL_SUFFIXES, MODEL_SUFFIXES_ONNX, ModelKind
from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.enhancers import graph_tensors, is_image_input, read_enhancer_signature
from avatar_studio.settings import EngineSettings

#: Storage classes a checkpoint pickle names, by the precision they store.
_STORAGE_PRECISION = {"FloatStorage": "fp32", "HalfStorage": "fp16"}
#: A pre-1.6 ("legacy") torch file is a run of pickles: magic number, protocol, system info, then the data.
_LEGACY_PICKLES = 4


@dataclass(frozen=True)
class ModelInfo:
    """One model file as the user sees it in a list."""

    path: Path
    #: The file name, unique within the models folder.
    name: str
    #: "PyTorch" or "ONNX"
    format: str
    #: "fp32", "fp16" or "unknown"
    precision: str
    size_bytes: int
    #: "lip-sync" (Wav2Lip) or "enhancer" (face restoration after the lip sync)
    kind: ModelKind = "lip-sync"
    #: For an enhancer: what its shapes tell (family, size) and the licence note; "" otherwise.
    note: str = ""


def model_info(path: Path) -> ModelInfo:
    """Describe one model file without loading its weights."""
    stat = path.stat()
    kind: ModelKind = "lip-sync"
    note = ""
    if path.suffix.lower() in MODEL_SUFFIXES_ONNX:
        fmt, precision = "ONNX", _onnx_precision(str(path), stat.st_size, stat.st_mtime_ns)
        enhancer = read_enhancer_signature(path)
        if enhancer is not None:
            kind, note = "enhancer", enhancer.description
    else:
        fmt, precision = "PyTorch", _checkpoint_precision(path)
    return ModelInfo(
        path=path, name=path.name, format=fmt, precision=precision, size_bytes=stat.st_size, kind=kind, note=note
    )


def list_models(models_dir: Path) -> list[ModelInfo]:
    """The model files directly in `models_dir`, by name; a missing folder holds none."""
    if not models_dir.is_dir():
        return []
    files = [
        p for p in models_dir.iterdir()
        if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES and not p.name.startswith(".")
    ]
    return [model_info(p) for p in sorted(files, key=lambda p: p.name.lower())]


def resolve_model(explicit: str | None, settings: EngineSettings, models_dir: Path) -> Path:
    """The model a render uses: `explicit` (a path or a name in the models folder), else the default
    model of the settings, else the only model in the folder."""
    if explicit:
        return _locate(explicit, models_dir)
    if settings.default_model:
        return _locate(settings.default_model, models_dir, what="The default model")
    models = [m for m in list_models(models_dir) if m.kind == "lip-sync"]
    if not models:
        raise AvatarStudioError(
            f"No Wav2Lip model found: copy wav2lip.pth or an .onnx export into the models folder {models_dir} "
            "(pretrained/README.md says where to get them), or give a model file with --model."
        )
    if len(models) > 1:
        raise AvatarStudioError(
            f"The models folder {models_dir} holds several models ({_names(models)}) and none is the default; "
            "choose one with --model NAME or set a default model in the app's Models panel."
        )
    return models[0].path


def resolve_enhancer(name: str, models_dir: Path) -> Path:
    """The face enhancer `name` (a path, or a file name or stem in the models folder)."""
    models = list_models(models_dir)
    enhancers = [m for m in models if m.kind == "enhancer"]
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    matches = [m for m in models if name in (m.name, m.path.stem)] if path.name == name else []
    if len(matches) == 1 and matches[0].kind == "enhancer":
        return matches[0].path
    if len(matches) == 1:
        raise AvatarStudioError(
            f"{matches[0].name} in the models folder is a lip-sync model, not a face enhancer; choose one of "
            f"{_names(enhancers) or 'the enhancers you import (GFPGAN, CodeFormer, GPEN-BFR, RestoreFormer++)'}."
        )
    holds = f"its enhancers are {_names(enhancers)}" if enhancers else "it holds no enhancer"
    raise AvatarStudioError(
        f"Face enhancer {name!r} was found neither as a file nor in the models folder {models_dir} ({holds}); "
        "import a GFPGAN, CodeFormer, GPEN-BFR or RestoreFormer++ .onnx file first."
    )


def import_model(source: str | os.PathLike[str], models_dir: Path, overwrite: bool = False) -> ModelInfo:
    """Check that `source` is a usable Wav2Lip model or face enhancer, then copy it into `models_dir`.

    The copy goes to a hidden temporary name and is renamed into place only when complete, so an
    interrupted import never leaves half a model that looks real. An existing model of the same
    name is replaced only with `overwrite`.
    """
    source = Path(source).expanduser()
    if not source.is_file():
        raise AvatarStudioError(f"Model file {source} does not exist; check the path.")
    if source.suffix.lower() not in MODEL_SUFFIXES:
        raise AvatarStudioError(
            f"{source.name} is not a model file; choose a Wav2Lip {' or '.join(MODEL_SUFFIXES)} file."
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / source.name
    if target.exists() and target.resolve() == source.resolve():
        return model_info(target)
    _refuse_to_replace(target, overwrite)
    _validate(source)
    try:
        with atomic_output(target) as temp:
            shutil.copyfile(source, temp)
            _refuse_to_replace(target, overwrite)  # another import may have finished meanwhile
    except OSError as error:
        raise AvatarStudioError(
            f"Could not copy {source.name} into the models folder {models_dir} ({error.strerror or error}); "
            "free some disk space or check the folder's permissions."
        ) from error
    return model_info(target)


def remove_model(path: str | os.PathLike[str], models_dir: Path) -> Path:
    """Delete the model file `path` from `models_dir` (nothing outside it); returns the path removed."""
    target = Path(path).resolve()
    if target.parent != Path(models_dir).resolve() or target.suffix.lower() not in MODEL_SUFFIXES:
        raise AvatarStudioError(f"{str(target)!r} is not a model in the models folder; nothing was removed.")
    try:
        target.unlink()
    except FileNotFoundError:
        raise AvatarStudioError(f"{target.name!r} is already gone from the models folder.") from None
    except OSError as error:
        raise AvatarStudioError(
            f"Could not delete {target.name!r} ({error.strerror or error}); check the folder's permissions."
        ) from None
    return target


def _refuse_to_replace(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise AvatarStudioError(
            f"A model named {target.name} is already in the models folder; rename the new file or choose to replace it."
        )


def _validate(source: Path) -> None:
    """Raise the loader's own AvatarStudioError when `source` is not a model it can run.

    An ONNX file with a 3-channel image input is meant as a face enhancer and is opened as one (so a
    wrong one hears what an enhancer needs); any other ONNX file must be a Wav2Lip export.
    """
    if source.suffix.lower() in MODEL_SUFFIXES_ONNX:
        stat = source.stat()
        tensors = graph_tensors(str(source), stat.st_size, stat.st_mtime_ns)
        if tensors is not None and any(is_image_input(i) for i in tensors[0]):
            from avatar_studio.model.enhancers import FaceEnhancer

            FaceEnhancer(source, device="cpu", batch_size=1).close()
            return
        from avatar_studio.model.backends.onnx_backend import OnnxBackend

        OnnxBackend(source, device="cpu", batch_size=1).close()
    else:
        from avatar_studio.model.checkpoint import validate_checkpoint

        validate_checkpoint(source)


def _locate(name: str, models_dir: Path, what: str = "Model") -> Path:
    """A model given as a path, a file name in the models folder, or a file name without its suffix."""
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    models = list_models(models_dir)
    if path.name == name:  # a bare name: look it up in the models folder, never outside it
        matches = [m for m in models if name in (m.name, m.path.stem)]
        if len(matches) == 1:
            return matches[0].path
        if len(matches) > 1:
            raise AvatarStudioError(f"{what} {name!r} matches {_names(matches)}; give the full file name.")
    holds = f"it holds {_names(models)}" if models else "it is empty"
    raise AvatarStudioError(
        f"{what} {name!r} was found neither as a file nor in the models folder {models_dir} ({holds}); "
        "give the path of a Wav2Lip .pth or .onnx file."
    )


def _names(models: list[ModelInfo]) -> str:
    return ", ".join(m.name for m in models)


def _checkpoint_precision(path: Path) -> str:
    """fp32/fp16 from the storage types a torch checkpoint names; "unknown" when unclear or unreadable."""
    found: set[str] = set()
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                data_pickle = next(n for n in archive.namelist() if n.endswith("data.pkl"))
                with archive.open(data_pickle) as stream:
                    found = _storage_precisions(stream, pickles=1)
        else:
            with path.open("rb") as stream:
                found = _storage_precisions(stream, pickles=_LEGACY_PICKLES)
    except (OSError, ValueError, StopIteration, zipfile.BadZipFile):
        return "unknown"
    return found.pop() if len(found) == 1 else "unknown"


def _storage_precisions(stream, pickles: int) -> set[str]:
    """The precisions of the float storages named in the next `pickles` pickles of `stream`.

    `pickletools.genops` only decodes opcodes, so nothing in the file is ever executed.
    """
    found = set()
    for _ in range(pickles):
        for _opcode, argument, _position in pickletools.genops(stream):
            if isinstance(argument, str):
                precision = _STORAGE_PRECISION.get(argument.rsplit(" ", 1)[-1])
                if precision:
                    found.add(precision)
    return found


def _onnx_precision(path: str, size: int, mtime_ns: int) -> str:
    """fp16/fp32 from the element type of the graph's inputs (size and mtime key the parse's cache)."""
    tensors = graph_tensors(path, size, mtime_ns)
    types = {spec.element_type for spec in tensors[0]} if tensors is not None else set()
    if "tensor(float16)" in types:
        return "fp16"
    return "fp32" if "tensor(float)" in types else "unknown"
