"""The model wiring: synthetic weights must reproduce the original code's output."""

import numpy as np
import torch

from avatar_studio.model.wav2lip import Wav2Lip
from conftest import FIXTURES
from synthetic_weights import synthetic_torch_state_dict


def test_module_tree_matches_public_checkpoint_layout():
    import json

    manifest = json.loads((FIXTURES / "wav2lip_state_dict_manifest.json").read_text())
    state = Wav2Lip().state_dict()
    assert list(state) == [e["key"] for e in manifest]
    assert [list(v.shape) for v in state.values()] == [e["shape"] for e in manifest]


def test_synthetic_weights_reproduce_reference_output(reference_forward):
    model = Wav2Lip().eval()
    model.load_state_dict(synthetic_torch_state_dict())
    ref = reference_forward
    with torch.inference_mode():
        out = model(torch.from_numpy(ref["mel"]), torch.from_numpy(ref["face"])).numpy()
    assert np.abs(out - ref["output"]).max() < 1e-4
