"""What the render form shows while no lip-sync model is installed: which file is needed, where it
comes from, and a button to import it, instead of a form that cannot work."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from avatar_studio.gui.icons import icon

NO_MODEL_TEXT = (
    "<b>No model yet.</b> Rendering needs Wav2Lip weights: <tt>wav2lip.pth</tt> or "
    "<tt>wav2lip_gan.pth</tt> (linked from the Wav2Lip authors' repository, "
    "<a href='https://github.com/Rudrabha/Wav2Lip'>github.com/Rudrabha/Wav2Lip</a>; "
    "research and non-commercial use only), or an <tt>.onnx</tt> export of them. "
    "Import the file (or drop it on the window); it is checked and copied into the models folder."
)


class NoModelBanner(QFrame):
    """The note and its *Import model…* button (styled as the app's "banner" frames)."""

    import_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        text = QLabel(NO_MODEL_TEXT)
        text.setWordWrap(True)
        text.setOpenExternalLinks(True)
        button = QPushButton(icon("import"), "Import model…")
        button.clicked.connect(self.import_requested)
        layout = QHBoxLayout(self)
        layout.addWidget(text, 1)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
