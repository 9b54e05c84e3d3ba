"""The checkpoint loader: every layout seen in the wild opens, everything else fails in one sentence."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.checkpoint import load_state_dict, load_wav2lip, validate_checkpoint
from synthetic_weights import synthetic_torch_state_dict


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    return synthetic_torch_state_dict()


def assert_same_weights(loaded: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert list(loaded) == list(expected)
    assert all(loaded[k].device.type == "cpu" and torch.equal(loaded[k], v) for k, v in expected.items())


def one_line_error(excinfo: pytest.ExceptionInfo[AvatarStudioError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_public_layout_loads_and_reproduces_reference(synthetic_checkpoint: Path, reference_forward) -> None:
    model = load_wav2lip(synthetic_checkpoint)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    ref = reference_forward
    with torch.inference_mode():
        out = model(torch.from_numpy(ref["mel"]), torch.from_numpy(ref["face"])).numpy()
    assert np.abs(out - ref["output"]).max() < 1e-4


def test_dataparallel_prefix_is_removed(tmp_path: Path, weights: dict) -> None:
    path = tmp_path / "prefixed.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in weights.items()}, "global_step": 3}, path)
    assert_same_weights(load_state_dict(path), weights)


def test_bare_state_dict_loads(tmp_path: Path, weights: dict) -> None:
    path = tmp_path / "bare.pt"
    torch.save(weights, path)
    assert_same_weights(load_state_dict(path), weights)


def test_public_extras_with_optimizer_state_load(tmp_path: Path, weights: dict) -> None:
    """The public files also hold Adam's state; weights_only must still accept them."""
    params = [nn.Parameter(torch.zeros(3))]
    optimizer = torch.optim.Adam(params, lr=1e-4)
    params[0].grad = torch.ones(3)
    optimizer.step()
    path = tmp_path / "with_optimizer.pth"
    torch.save({"state_dict": weights, "optimizer": optimizer.state_dict(), "global_step": 5, "global_epoch": 1}, path)
    assert_same_weights(load_state_dict(path), weights)


@pytest.mark.parametrize("legacy_format", [False, True], ids=["zip", "legacy-format"])
def test_checkpoint_saved_on_cuda_opens_on_cpu(
    tmp_path: Path, weights: dict, monkeypatch: pytest.MonkeyPatch, legacy_format: bool
) -> None:
    """Tag every storage 'cuda:0' as torch.save does on a GPU (the public files are legacy-format ones).

    Compared on an H200: the data.pkl of a file saved from real CUDA tensors differed from this
    one's only in how the repeated tag string was memoised, hence a fresh string per storage here,
    as torch's own tagger makes.
    """
    path = tmp_path / "cuda_saved.pth"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: f"cuda:{storage.device.index or 0}")
        torch.save({"state_dict": weights}, path, _use_new_zipfile_serialization=not legacy_format)
    pickled = zipfile.ZipFile(path).read("cuda_saved/data.pkl") if not legacy_format else path.read_bytes()
    assert b"cuda:0" in pickled and b"cpu" not in pickled
    if not torch.cuda.is_available():  # without map_location this file cannot open here at all
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    assert_same_weights(load_state_dict(path), weights)


def test_numpy_extras_are_allowed_as_plain_data(tmp_path: Path, weights: dict) -> None:
    path = tmp_path / "numpy_extras.pth"
    torch.save({"state_dict": weights, "global_step": np.int64(7), "losses": np.array([0.5, 0.25])}, path)
    allowlist_before = set(map(str, torch.serialization.get_safe_globals()))
    assert_same_weights(load_state_dict(path), weights)
    assert set(map(str, torch.serialization.get_safe_globals())) == allowlist_before  # nothing leaked


class _RunsCode:
    """Pickles as a call to os.mkdir: what a malicious checkpoint would do."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (str(self.target),))


@pytest.mark.parametrize("legacy_format", [False, True], ids=["zip", "legacy-format"])
def test_file_that_would_run_code_is_refused_without_running_it(tmp_path: Path, legacy_format: bool) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save(
        {"state_dict": {"w": torch.zeros(1)}, "extra": _RunsCode(marker)},
        path,
        _use_new_zipfile_serialization=not legacy_format,
    )
    with pytest.raises(AvatarStudioError) as excinfo:
        load_state_dict(path)
    message = one_line_error(excinfo)
    assert "'evil.pth'" in message and "mkdir" in message and "could run code" in message
    assert not marker.exists()


def test_other_architecture_names_its_keys(tmp_path: Path) -> None:
    resnetish = nn.Sequential(nn.Conv2d(3, 64, 7), nn.BatchNorm2d(64), nn.Flatten(), nn.Linear(64, 10))
    path = tmp_path / "resnet.pth"
    torch.save({"state_dict": resnetish.state_dict()}, path)
    with pytest.raises(AvatarStudioError) as excinfo:
        validate_checkpoint(path)
    message = one_line_error(excinfo)
    assert "'resnet.pth' does not hold Wav2Lip weights" in message
    assert "missing face_encoder_blocks.0.0.conv_block.0.weight, face_encoder_blocks.0.0.conv_block.0.bias," in message
    assert "and 299 more" in message  # 352 entries minus 50 optional num_batches_tracked, 3 named
    assert "unexpected 0.weight, 0.bias, 1.weight and 6 more" in message


def test_changed_layer_is_reported_as_misshaped(tmp_path: Path, weights: dict) -> None:
    changed = dict(weights)
    changed["output_block.1.weight"] = torch.zeros(3, 32, 3, 3)
    del changed["audio_encoder.0.conv_block.0.bias"]
    path = tmp_path / "changed.pth"
    torch.save({"state_dict": changed}, path)
    with pytest.raises(AvatarStudioError) as excinfo:
        load_wav2lip(path)
    message = one_line_error(excinfo)
    assert "missing audio_encoder.0.conv_block.0.bias;" in message
    assert "mis-shaped output_block.1.weight (3, 32, 3, 3) instead of (3, 32, 1, 1)" in message
    assert "unexpected" not in message


def test_missing_counters_and_half_weights_are_tolerated(tmp_path: Path, weights: dict) -> None:
    path = tmp_path / "no_counters_fp16.pth"
    torch.save({k: v.half() for k, v in weights.items() if not k.endswith("num_batches_tracked")}, path)
    model = load_wav2lip(path)
    state = model.state_dict()
    assert all(v.device.type == "cpu" for v in state.values())
    assert {v.dtype for k, v in state.items() if not k.endswith("num_batches_tracked")} == {torch.float32}
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad for p in model.parameters())


def test_state_dict_with_non_tensor_entries_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "settings.pth"
    torch.save({"lr": 0.1, "name": "run 3"}, path)
    with pytest.raises(AvatarStudioError, match=r"'settings.pth' is not a Wav2Lip checkpoint: its entries lr, name"):
        load_state_dict(path)


def test_truncated_file_is_unreadable(tmp_path: Path, synthetic_checkpoint: Path) -> None:
    path = tmp_path / "wav2lip.pth"
    with open(synthetic_checkpoint, "rb") as source:
        path.write_bytes(source.read(synthetic_checkpoint.stat().st_size // 2))
    with pytest.raises(AvatarStudioError) as excinfo:
        load_state_dict(path)
    assert "'wav2lip.pth' is not a readable PyTorch checkpoint (it may be truncated" in one_line_error(excinfo)


@pytest.mark.parametrize(
    "content", [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, b"PK\x03\x04 not really a zip", b"\x80\x02garbage"],
    ids=["png", "fake-zip", "broken-pickle"],
)
def test_garbage_is_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.pth"
    path.write_bytes(content)
    with pytest.raises(AvatarStudioError) as excinfo:
        load_state_dict(path)
    assert "'model.pth' is not a readable PyTorch checkpoint" in one_line_error(excinfo)


def test_empty_missing_and_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pth"
    empty.touch()
    with pytest.raises(AvatarStudioError, match="'empty.pth' is empty"):
        load_state_dict(empty)
    with pytest.raises(AvatarStudioError, match="does not exist"):
        load_state_dict(tmp_path / "absent.pth")
    with pytest.raises(AvatarStudioError, match="is a folder, not a model file"):
        load_state_dict(tmp_path)
