"""What the render form and the settings dialog share about engine options: the plain-words help
people ask for, and greying out the devices this machine lacks. One place, so both say the same."""

from __future__ import annotations

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox

BATCH_TIP = ("How many video frames the model works on at once. Larger is faster on a GPU but needs "
             "more memory; if the GPU runs out, the app halves it by itself.")
CRF_TIP = ("Picture quality of the saved video: lower numbers look better and make bigger files. "
           "18 looks the same as the original to most eyes; 23 is smaller; above 28 looks blocky.")
PRESET_TIP = ("How hard the encoder works to make the file small. Slower presets make slightly smaller "
              "files at the same quality but take longer; veryfast is a good balance.")
LOOP_TIP = "How the avatar's clip repeats under longer audio: pingpong plays it forward then backward; loop restarts it"


def grey_out_missing(combo: QComboBox, reasons: dict[str, str]) -> None:
    """Disable the entries of `combo` that have a reason (shown as their tooltip); a disabled
    current entry gives way to the first one ("auto", which picks what is present)."""
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    for row in range(combo.count()):
        reason = reasons.get(combo.itemText(row), "")
        item = model.item(row)
        item.setEnabled(not reason)
        item.setToolTip(reason or "available on this machine")
    current = combo.currentIndex()
    if current >= 0 and not model.item(current).isEnabled():
        combo.setCurrentIndex(0)
