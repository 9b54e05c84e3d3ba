"""Open Wav2Lip checkpoints the way people actually have them, safely.

Accepted layouts: the public files (`{"state_dict": ..., "optimizer": ..., "global_step": ...}`), the
same with DataParallel's `module.` prefix on every key, and a bare state dict. Files saved on a GPU
open on any machine (`map_location="cpu"`), in both the zip format and the pre-1.6 legacy format the
public files use.

A checkpoint is a pickle, and an untrusted pickle can run code, so files are read with
`weights_only=True`. Anything wrong with a file becomes one `AvatarStudioError` sentence naming it.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.wav2lip import Wav2Lip

DATAPARALLEL_PREFIX = "module."
KEYS_NAMED_IN_ERRORS = 3

# numpy scalars and arrays in a checkpoint's extras (e.g. `global_step=np.int64(...)`, a loss
# history) are refused by torch's default weights-only allowlist, yet rebuilding them only copies
# bytes into a numpy object: none of these can call anything else. Object arrays are no loophole:
# their elements are unpickled by the same restricted unpickler. Pickles written with numpy 1.x
# name the same functions under `numpy.core`, hence the aliases.
DATA_ONLY_GLOBALS: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = [
    _multiarray.scalar,
    (_multiarray.scalar, "numpy.core.multiarray.scalar"),
    _multiarray._reconstruct,
    (_multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    np.dtype,
    np.ndarray,
    *(cls for name in np.dtypes.__all__ if isinstance(cls := getattr(np.dtypes, name), type)),
]
_DATA_ONLY_NAMES = {
    item[1] if isinstance(item, tuple) else f"{item.__module__}.{item.__name__}" for item in DATA_ONLY_GLOBALS
}
# How torch's weights-only unpickler names what it refused (a global to import, a class to build).
_REFUSED_GLOBAL = re.compile(r"GLOBAL (\S+)|Can only build .* but got <class '([^']+)'>")


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The Wav2Lip weights in `path` (on the CPU, prefixes removed), checked against the architecture.

    Raises `AvatarStudioError` when the file is missing, unreadable, not a checkpoint, holds
    Python objects that would need arbitrary code to load, or holds another network's weights.
    """
    path = Path(path)
    state = _extract_state_dict(_read_checkpoint(path), path)
    _check_architecture(state, path)
    return state


def load_wav2lip(path: str | os.PathLike[str]) -> Wav2Lip:
    """A float32 Wav2Lip model on the CPU in eval mode, holding the weights in `path`.

    Built on the meta device and given the loaded tensors themselves: a randomly initialised
    model whose 36M parameters are then overwritten would cost about two extra seconds per load.
    """
    state = {key: value.float() if value.is_floating_point() else value for key, value in load_state_dict(path).items()}
    for key in _expected_shapes():
        state.setdefault(key, torch.zeros((), dtype=torch.long))  # only num_batches_tracked may be absent
    with torch.device("meta"):
        model = Wav2Lip()
    model.load_state_dict(state, assign=True)
    return model.eval()


def validate_checkpoint(path: str | os.PathLike[str]) -> None:
    """Raise `AvatarStudioError` unless `path` is a loadable Wav2Lip checkpoint (used on import)."""
    load_state_dict(path)


def _read_checkpoint(path: Path) -> object:
    """Unpickle `path` with weights_only=True, allowing numpy data types only on a second try.

    The retry uses torch's `safe_globals` context, which briefly widens a process-wide allowlist;
    it is taken only for the rare file that needs it, and only with the data-only types above.
    """
    _check_is_file(path)
    try:
        return _torch_load(path)
    except pickle.UnpicklingError as error:
        refused = _refused_globals(path, error)
        if not refused or not refused <= _DATA_ONLY_NAMES:
            raise _unsafe_file_error(path, refused) from None
    with torch.serialization.safe_globals(DATA_ONLY_GLOBALS):
        try:
            return _torch_load(path)
        except pickle.UnpicklingError as error:
            raise _unsafe_file_error(path, _refused_globals(path, error)) from None


def _torch_load(path: Path) -> object:
    """torch.load with every non-pickle failure (truncated, garbage, I/O) turned into one sentence."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if _REFUSED_GLOBAL.search(str(error)):
            raise
        raise _unreadable_error(path) from None
    except MemoryError:
        raise AvatarStudioError(
            f"Not enough memory to open the model file {path.name!r}; close other programs and try again."
        ) from None
    except OSError as error:
        raise AvatarStudioError(
            f"Could not read the model file {path.name!r} ({error.strerror or error}); check that it is readable."
        ) from None
    except Exception:  # noqa: BLE001 - torch reports corrupt files as RuntimeError, EOFError, ValueError...
        raise _unreadable_error(path) from None


def _check_is_file(path: Path) -> None:
    if not path.exists():
        raise AvatarStudioError(f"The model file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise AvatarStudioError(f"{str(path)!r} is a folder, not a model file; choose a .pth file inside it.")
    if path.stat().st_size == 0:
        raise AvatarStudioError(f"The model file {path.name!r} is empty; download or copy it again.")


def _refused_globals(path: Path, error: pickle.UnpicklingError) -> set[str]:
    """Every global the weights-only unpickler would refuse (zip files), else the one it named."""
    if zipfile.is_zipfile(path):
        try:
            return set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except Exception:  # noqa: BLE001 - fall back to what the error message says
            pass
    return {name for match in _REFUSED_GLOBAL.findall(str(error)) for name in match if name}


def _unreadable_error(path: Path) -> AvatarStudioError:
    return AvatarStudioError(
        f"{path.name!r} is not a readable PyTorch checkpoint (it may be truncated or another kind of file); "
        "download it again or choose a Wav2Lip .pth file."
    )


def _unsafe_file_error(path: Path, refused: set[str]) -> AvatarStudioError:
    named = _list_some(sorted(refused)) if refused else "unknown objects"
    return AvatarStudioError(
        f"{path.name!r} contains Python objects beyond weights ({named}) that could run code when loaded, "
        "so it was not opened; use a public Wav2Lip checkpoint or re-save only the model's state_dict "
        "from a source you trust."
    )


def _extract_state_dict(checkpoint: object, path: Path) -> dict[str, torch.Tensor]:
    """The tensor mapping inside a loaded checkpoint, with any DataParallel prefix removed."""
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("state_dict"), Mapping):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, Mapping) or not checkpoint:
        raise AvatarStudioError(
            f"{path.name!r} is a PyTorch file but holds no state dict of weights; choose a Wav2Lip .pth checkpoint."
        )
    not_tensors = [str(key) for key, value in checkpoint.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise AvatarStudioError(
            f"{path.name!r} is not a Wav2Lip checkpoint: its entries {_list_some(not_tensors)} are not tensors; "
            "choose a Wav2Lip .pth checkpoint."
        )
    return {_strip_prefix(str(key)): value for key, value in checkpoint.items()}


def _strip_prefix(key: str) -> str:
    return key[len(DATAPARALLEL_PREFIX):] if key.startswith(DATAPARALLEL_PREFIX) else key


@functools.cache
def _expected_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of Wav2Lip's state dict, built on the meta device (no memory, no init cost)."""
    with torch.device("meta"):
        model = Wav2Lip()
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def _check_architecture(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Raise one sentence naming the first missing, unexpected and mis-shaped keys, if any.

    `num_batches_tracked` may be absent (files re-saved by conversion tools drop it); BatchNorm
    ignores it in eval mode.
    """
    expected = _expected_shapes()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    misshaped = [
        f"{k} {tuple(state[k].shape)} instead of {expected[k]}"
        for k in expected
        if k in state and tuple(state[k].shape) != expected[k]
    ]
    problems = [
        f"{label} {_list_some(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped))
        if keys
    ]
    if problems:
        raise AvatarStudioError(
            f"{path.name!r} does not hold Wav2Lip weights ({'; '.join(problems)}); "
            "choose a Wav2Lip checkpoint such as wav2lip.pth or wav2lip_gan.pth."
        )


def _list_some(items: list[str]) -> str:
    """The first few items, then "and N more"."""
    shown = ", ".join(items[:KEYS_NAMED_IN_ERRORS])
    rest = len(items) - KEYS_NAMED_IN_ERRORS
    return f"{shown} and {rest} more" if rest > 0 else shown
