"""Deterministic synthetic Wav2Lip weights in the public checkpoint layout.

Same rule as the reference fixtures were made with (one PCG64(1234) generator, entries drawn in
manifest order), so a model loaded with them must reproduce `wav2lip_reference_forward.npz`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

MANIFEST = Path(__file__).parent / "fixtures" / "wav2lip_state_dict_manifest.json"


def _draw(rng: np.random.Generator, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key.endswith("running_mean"):
        return rng.normal(0.0, 0.1, shape)
    if key.endswith("running_var"):
        return rng.uniform(0.5, 1.5, shape)
    if key.endswith("weight") and len(shape) == 4:
        return rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[1:])), shape)
    if key.endswith("weight"):
        return rng.uniform(0.8, 1.2, shape)
    return rng.normal(0.0, 0.05, shape)


def synthetic_state_dict(seed: int = 1234) -> dict[str, np.ndarray]:
    """Every manifest entry as a numpy array, in manifest order."""
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}
    for entry in json.loads(MANIFEST.read_text()):
        key, shape = entry["key"], tuple(entry["shape"])
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(0, dtype=np.int64)
        else:
            state[key] = _draw(rng, key, shape).astype(np.float32)
    return state


def synthetic_torch_state_dict(seed: int = 1234) -> dict:
    import torch

    return {k: torch.from_numpy(np.asarray(v)) for k, v in synthetic_state_dict(seed).items()}


def write_checkpoint(path: Path, *, prefix: str = "", bare: bool = False, seed: int = 1234) -> Path:
    """Save synthetic weights as the public files are laid out: {"state_dict": ...} (or bare)."""
    import torch

    state = {prefix + k: v for k, v in synthetic_torch_state_dict(seed).items()}
    torch.save(state if bare else {"state_dict": state, "global_step": 0, "global_epoch": 0}, path)
    return path
