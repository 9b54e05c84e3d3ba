"""The render form: what to render (avatar, audio, model) and how (device, precision, encoder).

It builds a `JobSpec`; the main window queues it. With no model installed it says what file is
needed, where it comes from and offers the import, instead of a form that cannot work.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.choices import (
    BACKENDS,
    DEVICES,
    ENCODER_PRESETS,
    LOOP_MODES,
    MAX_CRF,
    PRECISIONS,
)
from avatar_studio.gui.file_kinds import AUDIO_FILTER, FileKind, file_kind
from avatar_studio.gui.formatting import format_size
from avatar_studio.gui.icons import icon
from avatar_studio.jobs.model import JobSpec
from avatar_studio.jobs.naming import default_output_path
from avatar_studio.settings import EngineSettings

PREVIEW_SECONDS = 5.0

NO_MODEL_TEXT = (
    "<b>No model yet.</b> Rendering needs Wav2Lip weights: <tt>wav2lip.pth</tt> or "
    "<tt>wav2lip_gan.pth</tt> (linked from the Wav2Lip authors' repository, "
    "<a href='https://github.com/Rudrabha/Wav2Lip'>github.com/Rudrabha/Wav2Lip</a>; "
    "research and non-commercial use only), or an <tt>.onnx</tt> export of them. "
    "Import the file (or drop it on the window); it is checked and copied into the models folder."
)


class JobForm(QWidget):
    queue_requested = Signal()
    preview_requested = Signal()
    import_model_requested = Signal()
    several_audio_chosen = Signal(list)  # [Path, ...]: queue one job per file with these settings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._output_dir = Path.home()
        self._output_edited = False
        self._taken_outputs: list[str] = []

        self.avatar = QComboBox()
        self.avatar.currentIndexChanged.connect(self._suggest_output)
        self.audio = QLineEdit()
        self.audio.setPlaceholderText("voice recording: wav, mp3, m4a, flac, ogg… (or drop it here)")
        self.audio.textChanged.connect(self._suggest_output)
        browse_audio = QToolButton()
        browse_audio.setIcon(icon("folder"))
        browse_audio.setToolTip("Choose the audio file")
        browse_audio.clicked.connect(self._browse_audio)
        self.model = QComboBox()
        import_model = QToolButton()
        import_model.setIcon(icon("import"))
        import_model.setToolTip("Import a model file (.pth or .onnx)")
        import_model.clicked.connect(self.import_model_requested)
        self.backend = self._combo(BACKENDS)
        self.device = self._combo(DEVICES)
        self.precision = self._combo(PRECISIONS)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 512)
        self.loop = self._combo(LOOP_MODES)
        self.loop.setToolTip("pingpong: the clip plays forward then backward; loop: it restarts")
        self.crf = QSpinBox()
        self.crf.setRange(0, MAX_CRF)
        self.crf.setToolTip("H.264 quality: lower is better and bigger (18 is visually lossless)")
        self.preset = self._combo(ENCODER_PRESETS)
        self.output = QLineEdit()
        self.output.textEdited.connect(self._on_output_edited)
        browse_output = QToolButton()
        browse_output.setIcon(icon("folder"))
        browse_output.setToolTip("Choose where to save the video")
        browse_output.clicked.connect(self._browse_output)

        self.no_model_banner = QFrame()
        self.no_model_banner.setObjectName("banner")
        banner_text = QLabel(NO_MODEL_TEXT)
        banner_text.setWordWrap(True)
        banner_text.setOpenExternalLinks(True)
        banner_button = QPushButton(icon("import"), "Import model…")
        banner_button.clicked.connect(self.import_model_requested)
        banner_layout = QHBoxLayout(self.no_model_banner)
        banner_layout.addWidget(banner_text, 1)
        banner_layout.addWidget(banner_button, 0, Qt.AlignmentFlag.AlignTop)

        self.preview_button = QPushButton(icon("preview"), f"Quick preview ({PREVIEW_SECONDS:.0f} s)")
        self.preview_button.setToolTip("Render the first 5 seconds with these settings and play them")
        self.preview_button.clicked.connect(self.preview_requested)
        self.queue_button = QPushButton(icon("render"), "Add to queue")
        self.queue_button.setToolTip("Queue this render (Ctrl+R)")
        self.queue_button.setDefault(True)
        self.queue_button.clicked.connect(self.queue_requested)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Avatar", self.avatar)
        form.addRow("Audio", self._row(self.audio, browse_audio))
        form.addRow("Model", self._row(self.model, import_model))
        form.addRow("Run on", self._row(self.backend, self.device, self.precision, QLabel("batch"), self.batch_size))
        form.addRow("Video", self._row(self.loop, QLabel("CRF"), self.crf, QLabel("preset"), self.preset))
        form.addRow("Output", self._row(self.output, browse_output))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.queue_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>New render</b>"))
        layout.addWidget(self.no_model_banner)
        layout.addLayout(form)
        layout.addLayout(buttons)

    # -- filling -----------------------------------------------------------------------------------

    def apply_settings(self, settings: EngineSettings, output_dir: Path) -> None:
        """Take the engine defaults (backend, device, precision, batch, encoder, output folder)."""
        for combo, value in ((self.backend, settings.backend), (self.device, settings.device),
                             (self.precision, settings.precision), (self.preset, settings.preset)):
            combo.setCurrentText(value)
        self.batch_size.setValue(settings.batch_size)
        self.crf.setValue(settings.crf)
        self._output_dir = output_dir
        self._suggest_output()

    def set_avatars(self, names: list[str]) -> None:
        current = self.avatar.currentText()
        self.avatar.blockSignals(True)
        self.avatar.clear()
        self.avatar.addItems(names)
        if current in names:
            self.avatar.setCurrentText(current)
        self.avatar.blockSignals(False)
        self._suggest_output()

    def select_avatar(self, name: str) -> None:
        self.avatar.setCurrentText(name)

    def set_models(self, models: list, default: str) -> None:
        """`models` are catalog `ModelInfo`s; `default` the configured default model's path."""
        current = self.model.currentData()
        self.model.clear()
        for info in models:
            label = f"{info.name} · {info.format} {info.precision} · {format_size(info.size_bytes)}"
            self.model.addItem(label, str(info.path))
        wanted = current or default
        index = self.model.findData(str(wanted)) if wanted else -1
        if index < 0 and default:
            index = self.model.findData(str(default))
        self.model.setCurrentIndex(max(index, 0))
        has_models = bool(models)
        self.no_model_banner.setVisible(not has_models)
        self.queue_button.setEnabled(has_models)
        self.preview_button.setEnabled(has_models)

    def set_audio(self, path: Path) -> None:
        self.audio.setText(str(path))

    def set_output(self, path: Path) -> None:
        """Use `path` as the output (kept until a job is queued, as if typed)."""
        self.output.setText(str(path))
        self._output_edited = True

    def set_taken_outputs(self, outputs: list[str]) -> None:
        """Outputs promised to queued jobs, so the suggested name does not collide with them."""
        self._taken_outputs = outputs
        self._suggest_output()

    # -- reading -----------------------------------------------------------------------------------

    def spec(self, preview_output: Path | None = None) -> JobSpec:
        """The job as filled in; a preview renders the first seconds to `preview_output`."""
        return JobSpec(
            avatar=self.avatar.currentText(),
            audio=self.audio.text().strip(),
            output=str(preview_output) if preview_output else self.output.text().strip(),
            model=self.model.currentData() or "",
            backend=self.backend.currentText(),
            device=self.device.currentText(),
            precision=self.precision.currentText(),
            batch_size=self.batch_size.value(),
            loop=self.loop.currentText(),
            crf=self.crf.value(),
            preset=self.preset.currentText(),
            seconds=PREVIEW_SECONDS if preview_output else None,
            overwrite=bool(preview_output),
        )

    def job_queued(self) -> None:
        """After queueing, propose a fresh output name for the next job."""
        self._output_edited = False
        self._suggest_output()

    # -- internals ---------------------------------------------------------------------------------

    def _suggest_output(self) -> None:
        if self._output_edited:
            return
        avatar, audio = self.avatar.currentText(), self.audio.text().strip()
        if not avatar or not audio:
            self.output.setText("")
            return
        self.output.setText(str(default_output_path(self._output_dir, avatar, audio, self._taken_outputs)))

    def _on_output_edited(self, text: str) -> None:
        self._output_edited = bool(text.strip())

    def _browse_audio(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Choose the voice recording (several: one render each)", self.audio.text(), AUDIO_FILTER)
        if len(paths) == 1:
            self.set_audio(Path(paths[0]))
        elif paths:
            self.several_audio_chosen.emit([Path(path) for path in paths])

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the video as", self.output.text(), "MP4 video (*.mp4)")
        if path:
            self.set_output(Path(path if path.lower().endswith(".mp4") else path + ".mp4"))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if audio_from_urls(event.mimeData().urls()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls()
                 if url.isLocalFile() and file_kind(Path(url.toLocalFile())) is FileKind.AUDIO]
        if len(paths) == 1:
            self.set_audio(paths[0])
        elif paths:
            self.several_audio_chosen.emit(paths)
        if paths:
            event.acceptProposedAction()

    @staticmethod
    def _combo(values: tuple[str, ...]) -> QComboBox:
        combo = QComboBox()
        combo.addItems(values)
        return combo

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for index, widget in enumerate(widgets):
            layout.addWidget(widget, 1 if index == 0 else 0)
        return row


def audio_from_urls(urls) -> Path | None:
    """The first local audio file among dropped URLs."""
    for url in urls:
        if url.isLocalFile() and file_kind(Path(url.toLocalFile())) is FileKind.AUDIO:
            return Path(url.toLocalFile())
    return None
