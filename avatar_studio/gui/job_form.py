"""The render form: what to render (avatar, audio, model) and how (device, precision, encoder).

It builds a `JobSpec`; the main window queues it. With no model installed it shows the
`no_model_banner` instead of a form that cannot work. The audio is checked by `audio_check`; the
help texts it shares with the settings dialog live in `engine_options`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
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
    MAX_BATCH_SIZE,
    MAX_CRF,
    MIN_BATCH_SIZE,
    MIN_CRF,
    PRECISIONS,
    check_choice,
)
from avatar_studio.gui.audio_check import AudioCheck, dropped_audio
from avatar_studio.gui.encoder_combo import EncoderCombo
from avatar_studio.gui.engine_options import BATCH_TIP, CRF_TIP, LOOP_TIP, PRESET_TIP, grey_out_missing
from avatar_studio.gui.file_kinds import AUDIO_FILTER, OUTPUT_FILTER, with_output_suffix
from avatar_studio.gui.form_rows import choice_combo, widget_row
from avatar_studio.gui.formatting import format_size
from avatar_studio.gui.icons import icon
from avatar_studio.gui.no_model_banner import NoModelBanner
from avatar_studio.gui.quality_group import QualityGroup
from avatar_studio.jobs.model import JobSpec
from avatar_studio.jobs.naming import default_output_path, writable_output_folder
from avatar_studio.media.probe import MediaInfo
from avatar_studio.settings import EngineSettings

PREVIEW_SECONDS = 5.0


class JobForm(QWidget):
    queue_requested = Signal()
    preview_requested = Signal()
    frame_preview_requested = Signal()
    import_model_requested = Signal()
    several_audio_chosen = Signal(list)  # [Path, ...]: queue one job per file with these settings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._output_dir = Path.home()
        self._output_edited = False
        self._taken_outputs: list[str] = []
        self._has_models = False

        self.avatar = QComboBox()
        self.avatar.currentIndexChanged.connect(self._suggest_output)
        self._audio_check = AudioCheck(self)
        self._audio_check.changed.connect(self._update_buttons)
        self.audio_info = self._audio_check.info
        self.audio = QLineEdit()
        self.audio.setPlaceholderText("voice recording: wav, mp3, m4a, flac, ogg… (or drop it here)")
        self.audio.textChanged.connect(self._suggest_output)
        self.audio.textChanged.connect(self._on_audio_text)
        self.audio.editingFinished.connect(lambda: self._audio_check.check(Path(self.audio.text().strip()))
                                           if self.audio.text().strip() else None)
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
        self.backend.setToolTip("auto: ONNX Runtime for .onnx models, PyTorch for .pth checkpoints")
        self.device.setToolTip("auto: the GPU when one is usable, else the CPU")
        self.precision.setToolTip("fp16 is faster on GPUs; fp32 is exact everywhere; auto picks per device")
        self.batch_size = QSpinBox()
        self.batch_size.setRange(MIN_BATCH_SIZE, MAX_BATCH_SIZE)
        self.batch_size.setToolTip(BATCH_TIP)
        self.loop = self._combo(LOOP_MODES)
        self.loop.setToolTip(LOOP_TIP)
        self.crf = QSpinBox()
        self.crf.setRange(MIN_CRF, MAX_CRF)
        self.crf.setToolTip(CRF_TIP)
        self.preset = self._combo(ENCODER_PRESETS)
        self.preset.setToolTip(PRESET_TIP)
        self.encoder = EncoderCombo()
        self.output = QLineEdit()
        self.output.textEdited.connect(self._on_output_edited)
        browse_output = QToolButton()
        browse_output.setIcon(icon("folder"))
        browse_output.setToolTip("Choose where to save the video")
        browse_output.clicked.connect(self._browse_output)

        self.no_model_banner = NoModelBanner()
        self.no_model_banner.import_requested.connect(self.import_model_requested)

        self.preview_button = QPushButton(icon("preview"), f"Quick preview ({PREVIEW_SECONDS:.0f} s)")
        self.preview_button.setToolTip("Render the first 5 seconds with these settings and play them")
        self.preview_button.clicked.connect(self.preview_requested)
        self.frame_preview_button = QPushButton(icon("preview"), "Preview frame")
        self.frame_preview_button.setToolTip(
            "Render only the frame under the player's playhead with these settings and compare it with the original"
        )
        self.frame_preview_button.clicked.connect(self.frame_preview_requested)
        self.queue_button = QPushButton(icon("render"), "Add to queue")
        self.queue_button.setToolTip("Queue this render (Ctrl+R)")
        self.queue_button.setDefault(True)
        self.queue_button.clicked.connect(self.queue_requested)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self._label("&Avatar", self.avatar), self.avatar)
        form.addRow(self._label("A&udio", self.audio), self._row(self.audio, browse_audio))
        form.addRow("", self.audio_info)
        form.addRow(self._label("&Model", self.model), self._row(self.model, import_model))
        form.addRow(self._label("&Backend", self.backend), self._row(
            self.backend, self._label("&Device", self.device), self.device,
            self._label("&Precision", self.precision), self.precision, stretch_all=True))
        form.addRow(self._label("&Loop", self.loop), self._row(
            self.loop, self._label("Batc&h size", self.batch_size), self.batch_size, stretch_all=True))
        form.addRow(self._label("E&ncoder", self.encoder), self._row(
            self.encoder, self._label("C&RF", self.crf), self.crf, self._label("Pre&set", self.preset), self.preset,
            stretch_all=True))
        form.addRow(self._label("&Output", self.output), self._row(self.output, browse_output))
        self.output_note = QLabel()
        self.output_note.setWordWrap(True)
        self.output_note.hide()
        form.addRow("", self.output_note)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.frame_preview_button)
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.queue_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>New render</b>"))
        layout.addWidget(self.no_model_banner)
        layout.addLayout(form)
        self.quality = QualityGroup()
        self.quality.restore()
        self.quality.changed.connect(self.quality.save)
        layout.addWidget(self.quality)
        layout.addLayout(buttons)

    # -- filling -----------------------------------------------------------------------------------

    def apply_settings(self, settings: EngineSettings, output_dir: Path) -> None:
        """Take the engine defaults (backend, device, precision, batch, encoder, output folder)."""
        for combo, value in ((self.backend, settings.backend), (self.device, settings.device),
                             (self.precision, settings.precision), (self.preset, settings.preset)):
            combo.setCurrentText(value)
        self.batch_size.setValue(settings.batch_size)
        self.crf.setValue(settings.crf)
        self.encoder.set_value(settings.encoder)
        self._output_dir = writable_output_folder(output_dir)
        moved = self._output_dir != Path(output_dir)
        self.output_note.setText(f"The output folder {output_dir} cannot be written (choose another in "
                                 f"Settings); proposing {self._output_dir} instead." if moved else "")
        self.output_note.setVisible(moved)
        self._suggest_output()

    def set_device_availability(self, reasons: dict[str, str]) -> None:
        """Grey out the devices this machine lacks; `reasons` maps each to why ("" when present)."""
        grey_out_missing(self.device, reasons)

    def set_avatars(self, avatars: list[tuple[str, str]]) -> None:
        """The library's avatars as (id, display name); the id is what a queued job keeps."""
        current = self.avatar.currentData()
        self.avatar.blockSignals(True)
        self.avatar.clear()
        for avatar_id, name in avatars:
            self.avatar.addItem(name, avatar_id)
        index = self.avatar.findData(current) if current else -1
        if index >= 0:
            self.avatar.setCurrentIndex(index)
        self.avatar.blockSignals(False)
        self._suggest_output()

    def select_avatar(self, name: str) -> None:
        self.avatar.setCurrentText(name)

    def set_models(self, models: list, default: str) -> None:
        """`models` are catalog `ModelInfo`s; `default` the configured default model's path.
        Only lip-sync models are offered here; face enhancers go to the quality group."""
        current = self.model.currentData()
        self.model.clear()
        self.quality.set_enhancers(models)
        models = [info for info in models if info.kind == "lip-sync"]
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
        self._has_models = has_models
        self._update_buttons()

    def set_audio(self, path: Path) -> None:
        """Use `path` as the audio and check it in the background (duration, format, or why not)."""
        self.audio.setText(str(path))
        self._audio_check.check(path)

    def set_output(self, path: Path) -> None:
        """Use `path` as the output (kept until a job is queued, as if typed)."""
        self.output.setText(str(path))
        self._output_edited = True

    def set_taken_outputs(self, outputs: list[str]) -> None:
        """Outputs promised to queued jobs, so the suggested name does not collide with them."""
        self._taken_outputs = outputs
        self._suggest_output()

    # -- reading -----------------------------------------------------------------------------------

    @property
    def audio_problem(self) -> str:
        """Why the chosen audio cannot be rendered ("" when it can, or while it is being checked)."""
        return self._audio_check.problem

    @property
    def audio_details(self) -> MediaInfo | None:
        """The chosen audio's facts once checked."""
        return self._audio_check.details

    def spec(self, preview_output: Path | None = None) -> JobSpec:
        """The job as filled in; a preview renders the first seconds to `preview_output`."""
        return JobSpec(
            avatar=self.avatar.currentText(),
            avatar_id=self.avatar.currentData() or "",
            audio=self.audio.text().strip(),
            output=str(preview_output) if preview_output else self.output.text().strip(),
            model=self.model.currentData() or "",
            backend=check_choice("backend", self.backend.currentText(), BACKENDS),
            device=check_choice("device", self.device.currentText(), DEVICES),
            precision=check_choice("precision", self.precision.currentText(), PRECISIONS),
            batch_size=self.batch_size.value(),
            loop=check_choice("loop mode", self.loop.currentText(), LOOP_MODES),
            crf=self.crf.value(),
            preset=check_choice("encoder preset", self.preset.currentText(), ENCODER_PRESETS),
            encoder=self.encoder.value(),
            seconds=PREVIEW_SECONDS if preview_output else None,
            overwrite=bool(preview_output),
            **self.quality.values(),
        )

    def job_queued(self) -> None:
        """After queueing, propose a fresh output name for the next job."""
        self._output_edited = False
        self._suggest_output()

    # -- internals ---------------------------------------------------------------------------------

    def _on_audio_text(self, text: str) -> None:
        if not text.strip():
            self._audio_check.forget()

    def _update_buttons(self) -> None:
        usable = self._has_models and not self.audio_problem
        self.queue_button.setEnabled(usable)
        self.preview_button.setEnabled(usable)
        self.frame_preview_button.setEnabled(usable)
        self.queue_button.setToolTip(self.audio_problem or "Queue this render (Ctrl+R)")

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
        path, chosen = QFileDialog.getSaveFileName(self, "Save the video as", self.output.text(), OUTPUT_FILTER)
        if path:
            self.set_output(with_output_suffix(Path(path), chosen))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_audio(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_audio(event.mimeData().urls())
        if len(paths) == 1:
            self.set_audio(paths[0])
        elif paths:
            self.several_audio_chosen.emit(paths)
        if paths:
            event.acceptProposedAction()

    _combo = staticmethod(choice_combo)
    _row = staticmethod(widget_row)

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        """A label whose Alt+letter focuses `buddy` (and which screen readers announce with it)."""
        label = QLabel(text)
        label.setBuddy(buddy)
        return label
