"""Settings in pages (General, Folders, Rendering, Encoder), with Apply, OK and Cancel.

The library folder is remembered by Qt; everything else is the library's `EngineSettings`. Each
page shows the value actually in force and what set it (an environment variable, the checkout's
`pretrained/` folder, a default), and folders are checked the moment they are chosen: a missing
one is offered to be created, one that cannot be written is refused with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.choices import (
    BACKENDS,
    DEVICES,
    ENCODER_PRESETS,
    MAX_BATCH_SIZE,
    MAX_CRF,
    MIN_BATCH_SIZE,
    MIN_CRF,
    PRECISIONS,
    check_choice,
)
from avatar_studio.gui.app_log import log_path
from avatar_studio.gui.encoder_combo import EncoderCombo
from avatar_studio.gui.engine_options import BATCH_TIP, CRF_TIP, PRESET_TIP, grey_out_missing
from avatar_studio.gui.icons import icon
from avatar_studio.jobs.naming import is_writable_folder, writable_output_folder
from avatar_studio.paths import HOME_ENV, library_choice, models_choice
from avatar_studio.settings import SETTINGS_FILE, EngineSettings
from avatar_studio.system_info import device_availability

PAGES = ("General", "Folders", "Rendering", "Encoder")
#: Apply callback: (library folder, engine settings) -> whether they were taken.
ApplySettings = Callable[[Path, EngineSettings], bool]


def folder_problem(folder: Path) -> str:
    """Why renders or models cannot go into `folder` ("" when they can); `folder` exists."""
    if not folder.is_dir():
        return f"{folder} is not a folder; choose a folder."
    if not is_writable_folder(folder):
        return f"{folder} cannot be written by you; choose a folder you own."
    return ""


class SettingsDialog(QDialog):
    def __init__(self, library_root: Path, settings: EngineSettings, models: list,
                 parent: QWidget | None = None, apply: ApplySettings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumSize(720, 420)
        self._settings = settings
        self._library_root = library_root
        self._apply = apply
        self.problems: dict[QLineEdit, str] = {}

        self.library = QLineEdit(str(library_root))
        self.models_dir = QLineEdit(settings.models_dir)
        self.output_dir = QLineEdit(settings.output_dir)
        self.default_model = QComboBox()
        self.default_model.addItem("(the only model in the folder)", "")
        for info in models:
            if info.kind == "lip-sync":  # a face enhancer can never be the render's model
                self.default_model.addItem(info.name, str(info.path))
        index = self.default_model.findData(settings.default_model)
        self.default_model.setCurrentIndex(max(index, 0))
        self.backend = self._combo(BACKENDS, settings.backend)
        self.device = self._combo(DEVICES, settings.device)
        grey_out_missing(self.device, device_availability())
        self.precision = self._combo(PRECISIONS, settings.precision)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(MIN_BATCH_SIZE, MAX_BATCH_SIZE)
        self.batch_size.setValue(settings.batch_size)
        self.batch_size.setToolTip(BATCH_TIP)
        self.crf = QSpinBox()
        self.crf.setRange(MIN_CRF, MAX_CRF)
        self.crf.setValue(settings.crf)
        self.crf.setToolTip(CRF_TIP)
        self.preset = self._combo(ENCODER_PRESETS, settings.preset)
        self.encoder = EncoderCombo()
        self.encoder.set_value(settings.encoder)
        self.preset.setToolTip(PRESET_TIP)
        self.in_force: dict[str, QLabel] = {}

        self.pages = QStackedWidget()
        self.page_list = QListWidget()
        self.page_list.setFixedWidth(140)
        self.page_list.setSpacing(3)
        for title, page in zip(PAGES, (self._general_page(), self._folders_page(), self._rendering_page(),
                                       self._encoder_page()), strict=True):
            self.page_list.addItem(title)
            self.pages.addWidget(page)
        self.page_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.page_list.setCurrentRow(0)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Apply
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.clicked.connect(self._on_button)
        self.buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.page_list)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        for field in (self.models_dir, self.output_dir):
            field.editingFinished.connect(lambda field=field: self.check_folder(field))
            field.textChanged.connect(self._show_in_force)
        self.library.textChanged.connect(self._show_in_force)
        self._show_in_force()

    # -- values --------------------------------------------------------------------------------------

    @property
    def library_root(self) -> Path:
        return Path(self.library.text().strip()).expanduser().resolve()

    def engine_settings(self) -> EngineSettings:
        return replace(
            self._settings,
            models_dir=self.models_dir.text().strip(),
            output_dir=self.output_dir.text().strip(),
            default_model=self.default_model.currentData() or "",
            backend=check_choice("backend", self.backend.currentText(), BACKENDS),
            device=check_choice("device", self.device.currentText(), DEVICES),
            precision=check_choice("precision", self.precision.currentText(), PRECISIONS),
            batch_size=self.batch_size.value(),
            crf=self.crf.value(),
            preset=check_choice("encoder preset", self.preset.currentText(), ENCODER_PRESETS),
            encoder=self.encoder.value(),
        )

    def check_folder(self, field: QLineEdit, ask: bool = True) -> bool:
        """Check a folder the moment it is chosen: offer to create a missing one, refuse an unwritable one."""
        text = field.text().strip()
        self.problems.pop(field, None)
        if text:
            folder = Path(text).expanduser()
            if not folder.exists() and ask:
                answer = QMessageBox.question(
                    self, "Create the folder?", f"{folder} does not exist. Create it now?")
                if answer == QMessageBox.StandardButton.Yes:
                    try:
                        folder.mkdir(parents=True, exist_ok=True)
                    except OSError as error:
                        self.problems[field] = f"{folder} could not be created ({error.strerror}); choose another folder."
            if field not in self.problems:
                problem = folder_problem(folder) if folder.exists() else f"{folder} does not exist; create it or choose another folder."
                if problem:
                    self.problems[field] = problem
        self._show_in_force()
        return field not in self.problems

    # -- pages ---------------------------------------------------------------------------------------

    def _general_page(self) -> QWidget:
        page, form = self._page("What every render starts from, unless the form says otherwise.")
        form.addRow("Default model", self.default_model)
        form.addRow("Settings file", self._in_force_label("settings"))
        form.addRow("Log file", self._in_force_label("log"))
        return page

    def _folders_page(self) -> QWidget:
        page, form = self._page("The library holds avatars, the queue and these settings: another library "
                                "folder brings its own settings (the other pages' changes are not applied).")
        if os.environ.get(HOME_ENV):
            self.library.setReadOnly(True)
            self.library.setToolTip(f"Set by ${HOME_ENV}; unset it to choose the library here")
        form.addRow("Library folder", self._with_browse(self.library, "Choose the library folder"))
        form.addRow("", self._in_force_label("library"))
        self.models_dir.setPlaceholderText("default: $AVATAR_STUDIO_MODELS, else the checkout's pretrained/ folder")
        form.addRow("Models folder", self._with_browse(self.models_dir, "Choose the models folder"))
        form.addRow("", self._in_force_label("models"))
        self.output_dir.setPlaceholderText("default: your Videos folder, else your home folder")
        form.addRow("Output folder", self._with_browse(self.output_dir, "Choose the output folder"))
        form.addRow("", self._in_force_label("output"))
        return page

    def _rendering_page(self) -> QWidget:
        page, form = self._page("How the model runs; auto chooses the fastest that works on this machine.")
        form.addRow("Backend", self.backend)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("Batch size", self.batch_size)
        return page

    def _encoder_page(self) -> QWidget:
        page, form = self._page("How the finished video is compressed: the output file's suffix picks the format "
                                "(.mp4/.m4v/.mkv H.264 or H.265 with AAC, .webm VP9, .mov ProRes 4444).")
        form.addRow("Quality (CRF)", self.crf)
        form.addRow("Preset", self.preset)
        form.addRow("Encoder", self.encoder)
        return page

    @staticmethod
    def _page(note: str) -> tuple[QWidget, QFormLayout]:
        page = QWidget()
        form = QFormLayout(page)
        text = QLabel(note)
        text.setWordWrap(True)
        text.setStyleSheet("font-style: italic;")  # a note, but readable (a disabled label is too faint)
        form.addRow(text)
        return page, form

    def _in_force_label(self, key: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        self.in_force[key] = label
        return label

    def _show_in_force(self) -> None:
        """Under each folder: the path in force and what set it, or why the chosen one is refused."""
        library, library_origin = library_choice(None if os.environ.get(HOME_ENV) else self.library_root)
        self.in_force["library"].setText(f"In use: {library} ({library_origin})")
        self.in_force["settings"].setText(str(self.library_root / SETTINGS_FILE))
        self.in_force["log"].setText(f"{log_path(self.library_root)} (Help → Open log; --verbose also prints it)")
        models, models_origin = models_choice(self.models_dir.text().strip() or None)
        chosen_output = self.output_dir.text().strip()
        output = writable_output_folder(chosen_output or Path.home() / "Videos")
        output_origin = "chosen here" if chosen_output and output == Path(chosen_output) else "the default"
        for key, field, text in (("models", self.models_dir, f"In use: {models} ({models_origin})"),
                                 ("output", self.output_dir, f"In use: {output} ({output_origin})")):
            problem = self.problems.get(field, "")
            self.in_force[key].setText(problem or text)
            self.in_force[key].setStyleSheet("color: #d64545;" if problem else "")
        ok = not self.problems
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            self.buttons.button(button).setEnabled(ok)

    # -- buttons ---------------------------------------------------------------------------------------

    def _on_button(self, button: QAbstractButton) -> None:
        role = self.buttons.buttonRole(button)
        if role == QDialogButtonBox.ButtonRole.ApplyRole:
            self.apply()
        elif role == QDialogButtonBox.ButtonRole.AcceptRole and self.apply():
            self.accept()

    def apply(self) -> bool:
        """Check the folders once more and hand the values to the window; False keeps the dialog open."""
        if not all(self.check_folder(field, ask=False) for field in (self.models_dir, self.output_dir)):
            self.page_list.setCurrentRow(PAGES.index("Folders"))
            return False
        if self._apply is None:
            return True
        taken = self._apply(self.library_root, self.engine_settings())
        if taken:
            self._settings = self.engine_settings()
        return taken

    @staticmethod
    def _combo(values: tuple[str, ...], current: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(values)
        combo.setCurrentText(current)
        return combo

    def _with_browse(self, field: QLineEdit, title: str) -> QWidget:
        button = QToolButton()
        button.setIcon(icon("folder"))
        button.setToolTip(title)
        button.setEnabled(not field.isReadOnly())
        button.clicked.connect(lambda: self._browse(field, title))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field, 1)
        layout.addWidget(button)
        return row

    def _browse(self, field: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, field.text())
        if folder:
            field.setText(folder)
            if field is not self.library:
                self.check_folder(field)
