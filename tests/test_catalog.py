"""The models catalog: listing without loading, choosing the model of a render, safe imports."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
import torch

from avatar_studio.errors import AvatarStudioError
from avatar_studio.model import catalog
from avatar_studio.model.catalog import ModelInfo, import_model, list_models, model_info, resolve_model
from avatar_studio.settings import EngineSettings
from onnx_exports import ShapeTwin, convert_to_fp16, export


@pytest.fixture(scope="module")
def twin_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(ShapeTwin(), tmp_path_factory.mktemp("catalog") / "twin.onnx", ("source", "target"))


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


def small_checkpoint(path: Path, dtype: torch.dtype, legacy: bool = False) -> Path:
    """A checkpoint-shaped file: listing reads only which storage types it names, not its weights."""
    state = {"conv.weight": torch.zeros(4, 4, dtype=dtype), "bn.num_batches_tracked": torch.tensor(0)}
    torch.save({"state_dict": state, "global_step": 3}, path, _use_new_zipfile_serialization=not legacy)
    return path


def names(infos: list[ModelInfo]) -> list[str]:
    return [info.name for info in infos]


def test_listing_tells_format_precision_and_size(models, twin_onnx):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    small_checkpoint(models / "half.pt", torch.float16)
    small_checkpoint(models / "legacy.pth", torch.float32, legacy=True)
    shutil.copyfile(twin_onnx, models / "export.onnx")
    convert_to_fp16(twin_onnx, models / "export_fp16.ONNX")
    (models / "broken.pth").write_bytes(b"\x80\x02not really a pickle")
    (models / "README.md").write_text("not a model")
    (models / ".import-123.part").write_bytes(b"an import in progress")

    listed = {info.name: (info.format, info.precision) for info in list_models(models)}

    assert listed == {
        "broken.pth": ("PyTorch", "unknown"),
        "export.onnx": ("ONNX", "fp32"),
        "export_fp16.ONNX": ("ONNX", "fp16"),
        "half.pt": ("PyTorch", "fp16"),
        "legacy.pth": ("PyTorch", "fp32"),
        "wav2lip.pth": ("PyTorch", "fp32"),
    }
    assert names(list_models(models)) == sorted(listed, key=str.lower)
    assert model_info(models / "export.onnx").size_bytes == twin_onnx.stat().st_size


def test_listing_never_runs_code_from_a_pickle(models, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (models / "evil.pth").write_bytes(pickle.dumps({"state_dict": Payload()}, protocol=2))
    assert list_models(models)[0].precision == "unknown"
    assert not marker.exists()


def test_missing_or_empty_folder_lists_nothing(tmp_path, models):
    assert list_models(tmp_path / "absent") == []
    assert list_models(models) == []


def test_explicit_path_wins(models, twin_onnx):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    settings = EngineSettings(default_model="wav2lip.pth")
    assert resolve_model(str(twin_onnx), settings, models) == twin_onnx.resolve()


def test_explicit_name_or_stem_is_looked_up_in_the_models_folder(models):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    small_checkpoint(models / "wav2lip_gan.pth", torch.float32)
    assert resolve_model("wav2lip_gan.pth", EngineSettings(), models) == models / "wav2lip_gan.pth"
    assert resolve_model("wav2lip_gan", EngineSettings(), models) == models / "wav2lip_gan.pth"


def test_a_stem_shared_by_two_files_asks_for_the_full_name(models, twin_onnx):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    shutil.copyfile(twin_onnx, models / "wav2lip.onnx")
    with pytest.raises(AvatarStudioError, match=r"matches wav2lip.onnx, wav2lip.pth; give the full file name"):
        resolve_model("wav2lip", EngineSettings(), models)


def test_unknown_model_names_what_the_folder_holds(models):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    with pytest.raises(AvatarStudioError, match=r"'wav2lip_gan' was found neither .* \(it holds wav2lip.pth\)"):
        resolve_model("wav2lip_gan", EngineSettings(), models)


def test_default_model_from_the_settings_beats_the_folder(models):
    small_checkpoint(models / "a.pth", torch.float32)
    small_checkpoint(models / "b.pth", torch.float32)
    assert resolve_model(None, EngineSettings(default_model="b.pth"), models) == models / "b.pth"
    absolute = str(models / "a.pth")
    assert resolve_model(None, EngineSettings(default_model=absolute), models) == models / "a.pth"


def test_default_model_that_disappeared_is_reported_as_such(models):
    small_checkpoint(models / "a.pth", torch.float32)
    with pytest.raises(AvatarStudioError, match="The default model 'gone.pth' was found neither"):
        resolve_model(None, EngineSettings(default_model="gone.pth"), models)


def test_the_only_model_is_used_without_asking(models):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    assert resolve_model(None, EngineSettings(), models) == models / "wav2lip.pth"


def test_no_model_says_where_to_put_one(models):
    with pytest.raises(AvatarStudioError) as caught:
        resolve_model(None, EngineSettings(), models)
    message = str(caught.value)
    assert str(models) in message and "pretrained/README.md" in message


def test_several_models_and_no_default_lists_them_and_says_how_to_choose(models):
    small_checkpoint(models / "wav2lip.pth", torch.float32)
    small_checkpoint(models / "wav2lip_gan.pth", torch.float32)
    with pytest.raises(AvatarStudioError, match=r"several models \(wav2lip.pth, wav2lip_gan.pth\).*--model NAME"):
        resolve_model(None, EngineSettings(), models)


def test_import_validates_copies_and_describes_an_onnx_model(models, twin_onnx):
    info = import_model(twin_onnx, models)
    assert info == ModelInfo(models / "twin.onnx", "twin.onnx", "ONNX", "fp32", twin_onnx.stat().st_size)
    assert (models / "twin.onnx").read_bytes() == twin_onnx.read_bytes()
    assert (models / "twin.onnx").stat().st_mode & 0o777 == twin_onnx.stat().st_mode & 0o777
    assert twin_onnx.exists()


def test_import_validates_a_checkpoint(models, synthetic_checkpoint):
    info = import_model(synthetic_checkpoint, models)
    assert (info.format, info.precision) == ("PyTorch", "fp32")
    assert names(list_models(models)) == [synthetic_checkpoint.name]


def test_import_never_replaces_silently(models, twin_onnx, tmp_path):
    (models / "twin.onnx").write_bytes(b"the user's own file")
    with pytest.raises(AvatarStudioError, match="already in the models folder"):
        import_model(twin_onnx, models)
    assert (models / "twin.onnx").read_bytes() == b"the user's own file"
    import_model(twin_onnx, models, overwrite=True)
    assert (models / "twin.onnx").read_bytes() == twin_onnx.read_bytes()


def test_import_rejects_a_bad_onnx_file_with_the_loaders_message(models, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"definitely not onnx" * 10)
    with pytest.raises(AvatarStudioError, match="bad.onnx is not a valid ONNX model"):
        import_model(bad, models)
    assert list(models.iterdir()) == []


def test_import_rejects_a_bad_checkpoint_with_the_loaders_message(models, tmp_path):
    not_wav2lip = small_checkpoint(tmp_path / "other.pth", torch.float32)
    with pytest.raises(AvatarStudioError, match="does not hold Wav2Lip weights"):
        import_model(not_wav2lip, models)
    assert list(models.iterdir()) == []


def test_import_rejects_missing_files_and_other_kinds(models, tmp_path):
    with pytest.raises(AvatarStudioError, match="does not exist"):
        import_model(tmp_path / "nowhere.pth", models)
    other = tmp_path / "weights.bin"
    other.write_bytes(b"x")
    with pytest.raises(AvatarStudioError, match="weights.bin is not a model file"):
        import_model(other, models)


def test_interrupted_copy_leaves_nothing_behind(models, twin_onnx, monkeypatch):
    def copy_half_then_fail(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalog.shutil, "copyfile", copy_half_then_fail)
    with pytest.raises(AvatarStudioError, match="Could not copy twin.onnx .*No space left on device"):
        import_model(twin_onnx, models)
    assert list(models.iterdir()) == []


def test_importing_a_file_already_in_the_folder_is_a_no_op(models, twin_onnx):
    inside = shutil.copyfile(twin_onnx, models / "twin.onnx")
    assert import_model(inside, models).path == inside
    assert names(list_models(models)) == ["twin.onnx"]
