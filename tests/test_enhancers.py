"""Face enhancers: recognised by shape (never by name), listed and imported beside the lip-sync
models, and run by ONNX Runtime with their fidelity weight and a fixed batch axis honoured."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model.catalog import import_model, list_models, resolve_enhancer, resolve_model
from avatar_studio.model.enhancers import FaceEnhancer, read_enhancer_signature
from avatar_studio.settings import EngineSettings
from onnx_exports import ShapeTwin, export
from standin_enhancers import (
    level_of,
    write_brightening_enhancer,
    write_codeformer_enhancer,
    write_identity_enhancer,
    write_not_a_face_model,
)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    ("size", "family", "template", "licence"),
    [
        (256, "GPEN-BFR 256", "arcface_128", "non-commercial"),
        (512, "GFPGAN 1.2/1.3/1.4, RestoreFormer++ or GPEN-BFR 512", "ffhq_512", "cannot be told"),
        (1024, "GPEN-BFR 1024", "ffhq_512", "non-commercial"),
        (2048, "GPEN-BFR 2048", "ffhq_512", "non-commercial"),
    ],
)
def test_each_family_is_recognised_by_its_image_size(tmp_path, size, family, template, licence):
    # A misleading file name: only the shapes may decide.
    path = write_identity_enhancer(tmp_path / "wav2lip_gan.onnx", size=size, name="x")
    signature = read_enhancer_signature(path)
    assert signature is not None and signature.size == size
    assert signature.family.label.startswith(family) and signature.family.template == template
    assert licence in signature.description and signature.weight_name is None
    if size == 512:
        assert "Apache-2.0" in signature.description  # GFPGAN's and RestoreFormer++'s licence, said as "if"


def test_codeformer_is_told_apart_by_its_weight_input(tmp_path):
    signature = read_enhancer_signature(write_codeformer_enhancer(tmp_path / "gfpgan_1.4.onnx"))
    assert signature is not None and signature.weight_name == "weight"
    assert signature.weight_dtype == np.float64 and signature.family.label == "CodeFormer"
    assert "S-Lab" in signature.description and "non-commercial" in signature.description


def test_a_fixed_batch_axis_is_read(tmp_path):
    signature = read_enhancer_signature(write_identity_enhancer(tmp_path / "e.onnx", fixed_batch=1))
    assert signature is not None and signature.fixed_batch == 1


def test_a_wav2lip_export_is_not_an_enhancer(tmp_path):
    assert read_enhancer_signature(export(ShapeTwin(), tmp_path / "gfpgan.onnx", ("mel", "face"))) is None


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (lambda p: write_not_a_face_model(p, size=224), "face enhancers take square 256, 512, 1024, 2048"),
        (lambda p: write_not_a_face_model(p, size=512), "not a restored face of the same size"),
    ],
)
def test_a_non_face_model_is_refused_on_import_with_one_sentence(models, tmp_path, writer, reason):
    source = writer(tmp_path / "codeformer.onnx")
    with pytest.raises(AvatarStudioError) as caught:
        import_model(source, models)
    message = str(caught.value)
    assert reason in message and "codeformer.onnx" in message
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message
    assert list(models.iterdir()) == []


def test_enhancers_are_listed_and_imported_beside_lip_sync_models(models, tmp_path):
    twin = export(ShapeTwin(), tmp_path / "twin.onnx", ("mel_batch", "face_batch"))
    shutil.copyfile(twin, models / "lipsync.onnx")
    imported = import_model(write_codeformer_enhancer(tmp_path / "restorer.onnx"), models)
    assert imported.kind == "enhancer" and "CodeFormer" in imported.note

    listed = {info.name: info for info in list_models(models)}
    assert listed["lipsync.onnx"].kind == "lip-sync" and listed["lipsync.onnx"].note == ""
    assert listed["restorer.onnx"].kind == "enhancer" and listed["restorer.onnx"].size_bytes > 0
    # The only lip-sync model is still chosen without asking; the enhancer is looked up by stem.
    assert resolve_model(None, EngineSettings(), models) == models / "lipsync.onnx"
    assert resolve_enhancer("restorer", models) == models / "restorer.onnx"
    with pytest.raises(AvatarStudioError, match="lipsync.onnx in the models folder is a lip-sync model"):
        resolve_enhancer("lipsync", models)
    with pytest.raises(AvatarStudioError, match="its enhancers are restorer.onnx"):
        resolve_enhancer("gfpgan", models)


def _faces(count: int, size: int = 512) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def test_identity_enhancer_gives_the_faces_back_exactly(tmp_path):
    faces = _faces(3)
    with FaceEnhancer(write_identity_enhancer(tmp_path / "e.onnx"), device="cpu", batch_size=2) as enhancer:
        assert enhancer.size == 512 and enhancer.template == "ffhq_512"
        restored = enhancer.enhance(faces)
    np.testing.assert_array_equal(restored, faces)  # BGR->RGB->[-1,1]->back is lossless at 8 bits


def test_fixed_batch_of_one_runs_each_face_alone(tmp_path):
    faces = _faces(3, size=256)
    path = write_brightening_enhancer(tmp_path / "e.onnx", delta=0.5, size=256, fixed_batch=1)
    with FaceEnhancer(path, device="cpu", batch_size=4) as enhancer:
        assert enhancer.batch_size == 1
        restored = enhancer.enhance(faces)
    expected = np.clip(faces.astype(np.float64) + 63.75, 0, 255)
    assert restored.shape == faces.shape and np.abs(restored - expected).max() <= 1.0


@pytest.mark.parametrize("weight", [0.0, 0.5, 0.9])
def test_codeformer_receives_its_weight(tmp_path, weight):
    with FaceEnhancer(write_codeformer_enhancer(tmp_path / "c.onnx"), device="cpu", weight=weight) as enhancer:
        restored = enhancer.enhance(_faces(2))
    assert np.abs(restored.astype(float) - level_of(weight)).max() <= 0.5


def test_out_of_memory_halves_the_enhancer_batch(tmp_path):
    notices: list[str] = []
    enhancer = FaceEnhancer(write_identity_enhancer(tmp_path / "e.onnx"), device="cpu", batch_size=4,
                            on_notice=notices.append)  # fmt: skip
    run = enhancer._run
    sizes: list[int] = []

    def small_device(images: np.ndarray) -> np.ndarray:
        sizes.append(len(images))
        if len(images) > 1:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : CUDA failure 2: out of memory")
        return run(images)

    enhancer._run = small_device  # type: ignore[method-assign]
    faces = _faces(3)
    np.testing.assert_array_equal(enhancer.enhance(faces), faces)
    assert enhancer.batch_size == 1 and sizes[:2] == [3, 2] and notices[-1].endswith("batch size lowered to 1.")


def test_models_command_imports_and_lists_enhancers_by_kind(tmp_path, capsys):
    import json

    from avatar_studio.cli.main import main

    assert main(["models", "import", str(write_identity_enhancer(tmp_path / "face_fix.onnx", size=256))]) == 0
    assert "GPEN-BFR 256" in capsys.readouterr().out
    assert main(["models", "import", str(write_not_a_face_model(tmp_path / "classifier.onnx"))]) == 2
    assert "face enhancers take square" in capsys.readouterr().err
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["name"], row["kind"]) for row in rows] == [("face_fix.onnx", "enhancer")]
    assert "non-commercial" in rows[0]["note"]
