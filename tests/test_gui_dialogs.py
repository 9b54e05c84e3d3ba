"""The Models, Settings and About dialogs on a real window (offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gui_helpers import install_model

# no_qt_log: pytest-qt's Python message handler is called from QtMultimedia's own threads (its audio
# renderer warns that there is no sound device), which crashes PySide6 when it happens as a test ends.
pytestmark = [pytest.mark.timeout(180), pytest.mark.no_qt_log]


def test_models_dialog_lists_sets_default_and_converts_to_onnx(open_window, qtbot, synthetic_checkpoint):
    from avatar_studio.gui.models_dialog import ModelsDialog

    models = Path(os.environ["AVATAR_STUDIO_MODELS"])
    install_model(synthetic_checkpoint, models)
    window = open_window()
    dialog = ModelsDialog(window.models, window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 1
    assert [dialog.table.item(0, c).text() for c in (1, 2, 3, 4)] == ["wav2lip.pth", "Lip sync", "PyTorch", "fp32"]
    dialog.table.selectRow(0)
    dialog.set_default()
    assert window.session.settings.default_model.endswith("wav2lip.pth")
    assert dialog.table.item(0, 0).text() == "★"

    dialog.precision.setCurrentText("fp32")
    task = dialog.convert_selected()
    assert task is not None and not dialog.convert_button.isEnabled()
    with qtbot.waitSignal(task.finished, timeout=150_000):
        pass
    assert "Wrote wav2lip_fp32.onnx" in dialog.message.text(), dialog.message.text()
    assert dialog.progress.format().endswith(" %") and "frames/s" not in dialog.progress.format()
    names = [dialog.table.item(row, 1).text() for row in range(dialog.table.rowCount())]
    assert names == ["wav2lip.pth", "wav2lip_fp32.onnx"]
    assert window.form.model.count() == 2  # the render form offers it too
    dialog.close()


def test_settings_dialog_saves_engine_defaults_in_the_library(open_window, tmp_path):
    from avatar_studio.gui.settings_dialog import SettingsDialog
    from avatar_studio.settings import EngineSettings

    window = open_window()
    dialog = SettingsDialog(window.session.root, window.session.settings, [], window)
    dialog.crf.setValue(23)
    dialog.preset.setCurrentText("fast")
    dialog.output_dir.setText(str(tmp_path / "videos"))
    assert dialog.library_root == window.session.root
    saved = dialog.engine_settings()
    saved.save(window.session.root)
    reloaded = EngineSettings.load(window.session.root)
    assert (reloaded.crf, reloaded.preset, reloaded.output_dir) == (23, "fast", str(tmp_path / "videos"))


def test_encoder_choices_grey_out_what_cannot_start_here(open_window, qtbot):
    """Settings dialog and render form: every encoder listed, each enabled exactly when its real
    trial encode succeeds here, the reason beside the others; the choice reaches the settings."""
    from avatar_studio.gui.settings_dialog import SettingsDialog
    from avatar_studio.media.encoders import trial

    window = open_window()
    dialog = SettingsDialog(window.session.root, window.session.settings, [], window)
    for combo in (dialog.encoder, window.form.encoder):
        qtbot.waitUntil(lambda combo=combo: combo.trials_shown, timeout=60_000)
        model = combo.model()
        for row in range(1, combo.count()):  # row 0 is "auto"
            name, item = combo.itemData(row), model.item(row)
            option = trial(name)
            assert item.isEnabled() == option.usable, name
            assert item.text() == (name if option.usable else f"{name} — {option.reason}")
    dialog.encoder.set_value("libx265")
    assert dialog.engine_settings().encoder == "libx265"
    window.form.encoder.set_value("libx265")
    assert window.form.spec().encoder == "libx265"


def test_output_dialog_formats_and_suffixes() -> None:
    from avatar_studio.gui.file_kinds import OUTPUT_FILTER, with_output_suffix

    assert "(*.webm)" in OUTPUT_FILTER and "(*.mov)" in OUTPUT_FILTER and OUTPUT_FILTER.split(";;")[0].endswith("(*.mp4)")
    webm_filter = next(f for f in OUTPUT_FILTER.split(";;") if f.endswith("(*.webm)"))
    assert with_output_suffix(Path("/v/talk"), webm_filter) == Path("/v/talk.webm")
    assert with_output_suffix(Path("/v/talk.MOV"), webm_filter) == Path("/v/talk.MOV")  # typed suffix wins
    assert with_output_suffix(Path("/v/talk.v2"), "") == Path("/v/talk.v2.mp4")


def test_about_dialog_reports_versions_and_providers(open_window, qtbot):
    from avatar_studio.gui.about_dialog import AboutDialog

    window = open_window()
    dialog = AboutDialog(window.session.root, window)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.task.finished, timeout=60_000):
        pass
    text = dialog.details.toPlainText()
    assert "onnxruntime" in text and "CPUExecutionProvider: usable" in text and "Torch devices" in text
    dialog.close()
