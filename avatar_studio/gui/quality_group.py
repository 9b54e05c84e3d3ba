"""The render form's *Quality* group: mask, blur, colour match, face enhancer and silence.

Each control says in its tooltip what it changes in plain words. The values go into every job the
form builds (`JobSpec` fields of the same names) and are remembered in the app's settings
(QSettings), so the next start offers the same choices.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QWidget

from avatar_studio.choices import (
    DEFAULT_COLOR_MATCH,
    DEFAULT_ENHANCER_BLEND,
    DEFAULT_ENHANCER_REGION,
    DEFAULT_ENHANCER_WEIGHT,
    DEFAULT_MASK,
    DEFAULT_MASK_BLUR,
    DEFAULT_MOUTH_DILATE,
    DEFAULT_SILENCE,
    ENHANCER_REGIONS,
    MASK_BLUR_RANGE,
    MASK_KINDS,
    MOUTH_DILATE_RANGE,
    SILENCE_MODES,
)
from avatar_studio.gui.form_rows import choice_combo, widget_row
from avatar_studio.gui.formatting import format_size

SETTINGS_GROUP = "quality"
NO_ENHANCER = "None"

TOOLTIPS = {
    "mask": "Which part of the face the new mouth is drawn into: lower-face follows the jaw and cheeks, "
    "mouth only the lips, box is the old rectangle (avatars prepared before face landmarks always use box)",
    "mask_blur": "How soft the edge of the mask is, as a share of the face size: higher hides the edge better "
    "but lets more of the old mouth show through",
    "mouth_dilate": "With the mouth mask: how far beyond the lips it reaches, as a share of the face size",
    "color_match": "Shift the new mouth's colours to match the skin around it, so no tinted patch shows",
    "silence": "What the mouth does in silent stretches of the audio: keep lip-syncing, or show the avatar's "
    "own frames (original) with a short fade in and out",
    "enhancer": "A face-restoration model (GFPGAN, CodeFormer, GPEN-BFR, RestoreFormer++) that sharpens the soft "
    "lip-synced mouth; import one in Models. Slow: several times the cost of the lip sync",
    "enhancer_region": "mouth: sharpen only where the lip sync drew (the rest stays the original); "
    "face: restore the whole face",
    "enhancer_blend": "How much of the restored face is used: 0 = none, 1 = all of it",
    "enhancer_weight": "CodeFormer only: 0 restores the most, 1 stays closest to the lip-synced face",
}


class QualityGroup(QGroupBox):
    """The quality controls; `values()` gives their JobSpec fields, `set_values()` takes them back."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Quality", parent)
        self._wanted_enhancer = ""
        self.mask_kind = choice_combo(MASK_KINDS)
        self.mask_blur = _spin(MASK_BLUR_RANGE, 0.01)
        self.mouth_dilate = _spin(MOUTH_DILATE_RANGE, 0.01)
        self.color_match = QCheckBox("Match colour")
        self.silence = choice_combo(SILENCE_MODES)
        self.enhancer = QComboBox()
        self.enhancer.addItem(NO_ENHANCER, "")
        self.enhancer_region = choice_combo(ENHANCER_REGIONS)
        self.enhancer_blend = _spin((0.0, 1.0), 0.05)
        self.enhancer_weight = _spin((0.0, 1.0), 0.05)
        self.controls: dict[str, QWidget] = {
            "mask": self.mask_kind, "mask_blur": self.mask_blur, "mouth_dilate": self.mouth_dilate,
            "color_match": self.color_match, "silence": self.silence, "enhancer": self.enhancer,
            "enhancer_region": self.enhancer_region, "enhancer_blend": self.enhancer_blend,
            "enhancer_weight": self.enhancer_weight,
        }  # fmt: skip
        for name, text in TOOLTIPS.items():
            self.controls[name].setToolTip(text)
        self.mask_kind.currentTextChanged.connect(self._update_enabled)
        self.enhancer.currentIndexChanged.connect(self._update_enabled)

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Mask", widget_row(self.mask_kind, QLabel("blur"), self.mask_blur, QLabel("lips +"), self.mouth_dilate))
        form.addRow("Colour", widget_row(self.color_match, QLabel("silence"), self.silence))
        form.addRow("Enhancer", widget_row(self.enhancer, self.enhancer_region))
        form.addRow("", widget_row(QLabel("blend"), self.enhancer_blend, QLabel("fidelity"), self.enhancer_weight))
        self.set_values(_defaults())
        for signal in (self.mask_kind.currentTextChanged, self.mask_blur.valueChanged, self.mouth_dilate.valueChanged,
                       self.color_match.toggled, self.silence.currentTextChanged, self.enhancer.currentIndexChanged,
                       self.enhancer_region.currentTextChanged, self.enhancer_blend.valueChanged,
                       self.enhancer_weight.valueChanged):  # fmt: skip
            signal.connect(self.changed)

    def set_enhancers(self, models: list) -> None:
        """Offer the catalog's face enhancers (`ModelInfo`s of kind "enhancer"), keeping the choice."""
        current = self.enhancer.currentData()
        self.enhancer.blockSignals(True)
        self.enhancer.clear()
        self.enhancer.addItem(NO_ENHANCER, "")
        for info in models:
            if info.kind == "enhancer":
                self.enhancer.addItem(f"{info.name} · {format_size(info.size_bytes)}", str(info.path))
                # Hovering an enhancer shows its family and licence note.
                self.enhancer.setItemData(self.enhancer.count() - 1, info.note, Qt.ItemDataRole.ToolTipRole)
        wanted = current or self._wanted_enhancer
        self.enhancer.setCurrentIndex(max(self.enhancer.findData(wanted), 0))
        self.enhancer.blockSignals(False)
        self._update_enabled()

    def values(self) -> dict[str, Any]:
        """The JobSpec / RenderSettings fields these controls set."""
        return {
            "mask": self.mask_kind.currentText(),
            "mask_blur": round(self.mask_blur.value(), 4),
            "mouth_dilate": round(self.mouth_dilate.value(), 4),
            "color_match": self.color_match.isChecked(),
            "silence": self.silence.currentText(),
            "enhancer": self.enhancer.currentData() or "",
            "enhancer_region": self.enhancer_region.currentText(),
            "enhancer_blend": round(self.enhancer_blend.value(), 4),
            "enhancer_weight": round(self.enhancer_weight.value(), 4),
        }

    def set_values(self, values: dict[str, Any]) -> None:
        """Show `values` (e.g. a job's or the saved ones); unknown or missing keys keep the current choice."""
        for combo, name in ((self.mask_kind, "mask"), (self.silence, "silence"),
                            (self.enhancer_region, "enhancer_region")):  # fmt: skip
            if name in values and combo.findText(str(values[name])) >= 0:
                combo.setCurrentText(str(values[name]))
        for spin, name in ((self.mask_blur, "mask_blur"), (self.mouth_dilate, "mouth_dilate"),
                           (self.enhancer_blend, "enhancer_blend"), (self.enhancer_weight, "enhancer_weight")):  # fmt: skip
            if isinstance(values.get(name), (int, float)):
                spin.setValue(float(values[name]))
        if "color_match" in values:
            self.color_match.setChecked(bool(values["color_match"]))
        if "enhancer" in values:
            # An enhancer not listed yet (the models folder is read later) is chosen once it is.
            self._wanted_enhancer = str(values["enhancer"] or "")
            self.enhancer.setCurrentIndex(max(self.enhancer.findData(self._wanted_enhancer), 0))
        self._update_enabled()

    def save(self, settings: QSettings | None = None) -> None:
        """Remember the current choices for the next start."""
        settings = settings or QSettings()
        settings.beginGroup(SETTINGS_GROUP)
        for name, value in self.values().items():
            settings.setValue(name, value)
        settings.endGroup()

    def restore(self, settings: QSettings | None = None) -> None:
        """Take back the choices `save` remembered (after `set_enhancers`, so the enhancer is found)."""
        settings = settings or QSettings()
        settings.beginGroup(SETTINGS_GROUP)
        saved: dict[str, Any] = {}
        for name, default in _defaults().items():
            if settings.contains(name):
                saved[name] = settings.value(name, default, type(default))
        settings.endGroup()
        self.set_values(saved)

    def _update_enabled(self) -> None:
        has_enhancer = bool(self.enhancer.currentData())
        for widget in (self.enhancer_region, self.enhancer_blend, self.enhancer_weight):
            widget.setEnabled(has_enhancer)
        mesh_mask = self.mask_kind.currentText() != "box"
        self.mask_blur.setEnabled(mesh_mask)
        self.mouth_dilate.setEnabled(self.mask_kind.currentText() == "mouth")


def _defaults() -> dict[str, Any]:
    return {
        "mask": DEFAULT_MASK, "mask_blur": DEFAULT_MASK_BLUR, "mouth_dilate": DEFAULT_MOUTH_DILATE,
        "color_match": DEFAULT_COLOR_MATCH, "silence": DEFAULT_SILENCE, "enhancer": "",
        "enhancer_region": DEFAULT_ENHANCER_REGION, "enhancer_blend": DEFAULT_ENHANCER_BLEND,
        "enhancer_weight": DEFAULT_ENHANCER_WEIGHT,
    }  # fmt: skip


def _spin(bounds: tuple[float, float], step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(*bounds)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    return spin
