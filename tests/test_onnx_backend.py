"""OnnxBackend: agreement with the PyTorch model, every common export layout, providers, failures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.backends import onnx_backend
from avatar_studio.model.backends.onnx_backend import CPU, CUDA, TENSORRT, OnnxBackend, choose_providers
from onnx_exports import ShapeTwin, export, synthetic_wav2lip_onnx


@pytest.fixture(scope="session")
def exports_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp()


@pytest.fixture(scope="module")
def twin_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, ShapeTwin]]:
    """Stand-ins exported with each naming scheme seen in the wild, one with its inputs reversed."""
    folder = tmp_path_factory.mktemp("twins")
    layouts = {
        "seed": (("mel_batch", "face_batch"), "output", False),
        "face_tool": (("source", "target"), "output", False),
        "converter": (("mel_spectrogram", "video_frames"), "generated", False),
        "reversed": (("video_frames", "mel_spectrogram"), "out", True),
    }
    files = {}
    for label, (names, output, face_first) in layouts.items():
        twin = ShapeTwin(face_first=face_first)
        files[label] = (export(twin, folder / f"{label}.onnx", names, output, face_first=face_first), twin)
    return files


def random_inputs(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mel = rng.uniform(-4, 4, (count, 1, 80, 16)).astype(np.float32)
    face = rng.uniform(0, 1, (count, 6, 96, 96)).astype(np.float32)
    return mel, face


def test_fp32_export_reproduces_the_reference_output(exports_dir, reference_forward):
    with OnnxBackend(synthetic_wav2lip_onnx(exports_dir), device="cpu", batch_size=2) as backend:
        output = backend(reference_forward["mel"], reference_forward["face"])  # 3 samples in chunks of 2
        assert backend.precision == "fp32"
        assert backend.engine_name == "ONNX Runtime"
    assert output.dtype == np.float32 and output.shape == (3, 3, 96, 96)
    assert np.abs(output - reference_forward["output"]).max() < 1e-4


def test_fp16_model_is_fed_fp16_on_cpu(exports_dir, reference_forward):
    with OnnxBackend(synthetic_wav2lip_onnx(exports_dir, "fp16"), device="cpu") as backend:
        assert backend.signature.face_dtype == np.float16 and backend.signature.mel_dtype == np.float16
        output = backend(reference_forward["mel"], reference_forward["face"])
        assert backend.precision == "fp16"
        assert "fp16" in backend.describe()
    assert output.dtype == np.float32
    assert np.abs(output - reference_forward["output"]).max() < 2e-2


@pytest.mark.parametrize("layout", ["seed", "face_tool", "converter", "reversed"])
def test_inputs_are_found_by_shape_whatever_their_names_and_order(twin_files, layout):
    path, twin = twin_files[layout]
    mel, face = random_inputs(3)
    with OnnxBackend(path, device="cpu", batch_size=8) as backend:
        output = backend(mel, face)
    expected = twin.reference(torch.from_numpy(mel), torch.from_numpy(face)).numpy()
    assert np.abs(output - expected).max() < 1e-5


@pytest.mark.parametrize("fixed", [1, 4])
def test_fixed_batch_axis_is_fed_that_many_samples_per_run(tmp_path, fixed):
    twin = ShapeTwin()
    path = export(twin, tmp_path / "fixed.onnx", ("source", "target"), fixed_batch=fixed)
    notices: list[str] = []
    mel, face = random_inputs(5)
    with OnnxBackend(path, device="cpu", batch_size=16, on_notice=notices.append) as backend:
        assert backend.signature.fixed_batch == fixed
        assert backend.batch_size == fixed
        assert f"batch {fixed}" in backend.describe()
        output = backend(mel, face)
    expected = twin.reference(torch.from_numpy(mel), torch.from_numpy(face)).numpy()
    assert output.shape == (5, 3, 96, 96)
    assert np.abs(output - expected).max() < 1e-5
    assert any("fixed" in n for n in notices)


class ProvidersOnly:
    """A session stand-in that only reports which providers it runs on."""

    def __init__(self, providers: list[str]) -> None:
        self.providers = providers

    def get_providers(self) -> list[str]:
        return self.providers


def test_explicit_cuda_accepts_cuda_when_tensorrt_cannot_start(twin_files):
    notices: list[str] = []
    with OnnxBackend(twin_files["seed"][0], device="cpu", on_notice=notices.append) as backend:
        backend._session = ProvidersOnly([CUDA, CPU])
        backend._check_provider("cuda", [TENSORRT, CUDA, CPU])
        assert backend.device_label == CUDA
        backend._session = ProvidersOnly([CPU])
        with pytest.raises(AvatarStudioError, match="choose device cpu"):
            backend._check_provider("cuda", [TENSORRT, CUDA, CPU])
    assert len(notices) == 1
    assert notices[0].startswith(f"ONNX Runtime could not start {TENSORRT}") and notices[0].endswith(f"runs on {CUDA}.")


def test_tensorrt_warns_about_its_first_run(twin_files):
    notices: list[str] = []
    with OnnxBackend(twin_files["seed"][0], device="cpu", on_notice=notices.append) as backend:
        backend._session = ProvidersOnly([TENSORRT, CUDA, CPU])
        backend._check_provider("auto", [TENSORRT, CUDA, CPU])
    assert len(notices) == 1 and "first run" in notices[0]


def test_cpu_device_reports_the_cpu_provider(twin_files):
    with OnnxBackend(twin_files["seed"][0], device="cpu", batch_size=4) as backend:
        assert backend.device_label == CPU
        assert backend.describe() == f"ONNX Runtime · {CPU} · fp32 · batch 4"


def test_silent_fallback_to_cpu_is_detected_and_announced(twin_files, monkeypatch):
    """onnxruntime-gpu without working CUDA libraries quietly runs on the CPU: say so."""
    if onnx_backend.nvidia_driver_present():
        pytest.skip("a real NVIDIA driver is present, so CUDA may genuinely start")
    monkeypatch.setattr(onnx_backend, "nvidia_driver_present", lambda: True)
    monkeypatch.setattr("onnxruntime.get_available_providers", lambda: [CUDA, CPU])
    notices: list[str] = []
    with OnnxBackend(twin_files["seed"][0], on_notice=notices.append) as backend:
        assert backend.device_label == CPU
    assert len(notices) == 1 and CUDA in notices[0] and CPU in notices[0]
    with pytest.raises(AvatarStudioError, match="could not start CUDAExecutionProvider"):
        OnnxBackend(twin_files["seed"][0], device="cuda")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="affinity masks are Linux-only")
def test_cpu_threads_count_usable_cores():
    threads = onnx_backend.cpu_threads()
    assert 1 <= threads <= len(os.sched_getaffinity(0))


def test_provider_choice_follows_the_device():
    everything = [CPU, "CoreMLExecutionProvider", CUDA, TENSORRT]
    assert choose_providers("cpu", everything) == [CPU]
    assert choose_providers("mps", everything) == ["CoreMLExecutionProvider", CPU]
    with pytest.raises(AvatarStudioError, match="no CUDA support"):
        choose_providers("cuda", [CPU])
    with pytest.raises(AvatarStudioError, match="no CoreML support"):
        choose_providers("mps", [CUDA, CPU])


def test_unknown_device_or_precision_is_refused(twin_files):
    with pytest.raises(AvatarStudioError, match="Unknown device 'gpu'; choose one of auto, cpu, cuda, mps"):
        OnnxBackend(twin_files["seed"][0], device="gpu")
    with pytest.raises(AvatarStudioError, match="Unknown precision 'int8'"):
        OnnxBackend(twin_files["seed"][0], precision="int8")


def test_auto_prefers_gpu_providers_only_where_a_driver_exists(monkeypatch):
    available = [CPU, CUDA, TENSORRT, "DmlExecutionProvider"]
    monkeypatch.setattr(onnx_backend, "nvidia_driver_present", lambda: True)
    assert choose_providers("auto", available) == [TENSORRT, CUDA, "DmlExecutionProvider", CPU]
    assert choose_providers("cuda", available) == [TENSORRT, CUDA, CPU]
    monkeypatch.setattr(onnx_backend, "nvidia_driver_present", lambda: False)
    assert choose_providers("auto", available) == ["DmlExecutionProvider", CPU]
    with pytest.raises(AvatarStudioError, match="no NVIDIA driver"):
        choose_providers("cuda", available)


def test_precision_request_that_the_file_cannot_honour_is_announced(twin_files):
    notices: list[str] = []
    with OnnxBackend(twin_files["seed"][0], device="cpu", precision="fp16", on_notice=notices.append) as backend:
        assert backend.precision == "fp32"
    assert len(notices) == 1 and "--precision fp16" in notices[0]


def test_garbage_file_is_one_clear_error(tmp_path):
    garbage = tmp_path / "model.onnx"
    garbage.write_bytes(b"\x08\x07not a protobuf at all" * 50)
    with pytest.raises(AvatarStudioError, match="model.onnx is not a valid ONNX model") as caught:
        OnnxBackend(garbage, device="cpu")
    assert "\n" not in str(caught.value)


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(AvatarStudioError, match="does not exist"):
        OnnxBackend(tmp_path / "nowhere.onnx")


def test_model_with_other_shapes_is_rejected_naming_what_it_has(tmp_path):
    class Classifier(torch.nn.Module):
        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return image.mean(dim=(2, 3))

    path = tmp_path / "classifier.onnx"
    torch.onnx.export(Classifier(), (torch.rand(1, 3, 224, 224),), str(path), dynamo=False,
                      input_names=["image"], output_names=["logits"])
    with pytest.raises(AvatarStudioError, match=r"not a Wav2Lip ONNX model.*image \(1,3,224,224\)"):
        OnnxBackend(path, device="cpu")


class FlakySession:
    """Wraps a real session and fails like a GPU out of memory above a batch size."""

    def __init__(self, session, fails_above: int, message: str) -> None:
        self._session = session
        self.fails_above = fails_above
        self.message = message
        self.batch_sizes: list[int] = []

    def get_providers(self) -> list[str]:
        return self._session.get_providers()

    def run(self, names, feed):
        batch = len(next(iter(feed.values())))
        self.batch_sizes.append(batch)
        if batch > self.fails_above:
            raise RuntimeError(self.message)
        return self._session.run(names, feed)


def test_out_of_memory_halves_the_batch_and_retries(twin_files):
    path, twin = twin_files["seed"]
    mel, face = random_inputs(7)
    notices: list[str] = []
    with OnnxBackend(path, device="cpu", batch_size=8, on_notice=notices.append) as backend:
        flaky = FlakySession(backend._session, fails_above=2, message="CUDA failure 2: out of memory")
        backend._session = flaky
        output = backend(mel, face)
        assert backend.batch_size == 2
    expected = twin.reference(torch.from_numpy(mel), torch.from_numpy(face)).numpy()
    assert np.abs(output - expected).max() < 1e-5
    assert flaky.batch_sizes == [7, 4, 2, 2, 2, 1]
    assert [n.split(": ")[-1] for n in notices] == ["batch size lowered to 4.", "batch size lowered to 2."]


def test_out_of_memory_at_batch_one_gives_up_clearly(twin_files):
    with OnnxBackend(twin_files["seed"][0], device="cpu", batch_size=2) as backend:
        message = "Failed to allocate memory for requested buffer of size 123456"
        backend._session = FlakySession(backend._session, fails_above=0, message=message)
        with pytest.raises(AvatarStudioError, match="even at batch size 1"):
            backend(*random_inputs(3))


def test_other_run_errors_are_not_mistaken_for_out_of_memory(twin_files):
    with OnnxBackend(twin_files["seed"][0], device="cpu", batch_size=4) as backend:
        message = "Non-zero status code returned while running Conv node"
        backend._session = FlakySession(backend._session, fails_above=0, message=message)
        with pytest.raises(RuntimeError, match="Conv node"):
            backend(*random_inputs(2))
        assert backend.batch_size == 4
