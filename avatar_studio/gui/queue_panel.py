"""The render queue: the job table, a toolbar and a right-click menu with every action, details.

One table of actions (`_ACTIONS`) feeds both the toolbar buttons and the context menu, so they
never disagree. Actions that make sense for several jobs (cancel, retry, move, remove) act on every
selected job they apply to; the others act on the first selected one. The panel only asks:
`QueueActions` does the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QTextOption
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.gui.icons import icon
from avatar_studio.gui.queue_table import ROLE_ID, QueueTable, job_title, job_tooltip
from avatar_studio.jobs.model import (
    CLEARED_AS_FAILED,
    CLEARED_AS_FINISHED,
    Job,
    JobState,
)
from avatar_studio.progress import Progress

DETAILS_LINES = 4


@dataclass(frozen=True)
class _Action:
    key: str
    icon_name: str
    text: str
    applies: Callable[[Job], bool]
    many: bool  # acts on every selected job it applies to (else on the first selected one)


_ACTIONS = (
    _Action("cancel", "cancel", "Cancel", lambda j: j.state in (JobState.QUEUED, JobState.RUNNING), True),
    _Action("retry", "retry", "Queue again", lambda j: j.can_retry, True),
    _Action("up", "up", "Move up", lambda j: j.can_move, True),
    _Action("down", "down", "Move down", lambda j: j.can_move, True),
    _Action("play", "play", "Play the output", lambda j: j.state is JobState.DONE, False),
    _Action("folder", "folder", "Show the output in its folder", lambda j: j.state is JobState.DONE, False),
    _Action("error", "error", "Show the full error", lambda j: bool(j.error), False),
    _Action("remove", "remove", "Remove from the list (the video stays on disk)", lambda j: j.can_remove, True),
)


class QueuePanel(QWidget):
    """Signals carry the ids of the jobs an action applies to, in queue order."""

    cancel_requested = Signal(list)
    retry_requested = Signal(list)
    remove_requested = Signal(list)
    move_requested = Signal(list, int)
    reorder_requested = Signal(int, int)  # job id, new index among the queued jobs
    play_requested = Signal(int)
    result_selected = Signal(int)  # one finished job selected: show its first frame
    show_folder_requested = Signal(int)
    show_error_requested = Signal(int)
    clear_requested = Signal(object)  # the set of JobStates to clear
    pause_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: dict[int, Job] = {}
        self.table = QueueTable()
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.itemDoubleClicked.connect(self._on_double_click)
        self.table.reorder_requested.connect(self.reorder_requested)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.details.setMaximumHeight(self.details.fontMetrics().lineSpacing() * (DETAILS_LINES + 1))
        self.details.setPlaceholderText("Select a job to see its files, device and any error.")

        self.title = QLabel()
        self.buttons: dict[str, QToolButton] = {}
        self.actions_by_key: dict[str, QAction] = {}
        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addStretch(1)
        for spec in _ACTIONS:
            action = QAction(icon(spec.icon_name), spec.text, self)
            action.triggered.connect(lambda _=False, s=spec: self._trigger(s))
            self.actions_by_key[spec.key] = action
            self.buttons[spec.key] = self._button(action)
            bar.addWidget(self.buttons[spec.key])
        self.pause_action = QAction(icon("pause"), "Pause the queue after the current job", self)
        self.pause_action.setCheckable(True)
        self.pause_action.toggled.connect(self._on_pause_toggled)
        self.clear_finished_action = QAction(icon("clear"), "Clear finished", self)
        self.clear_finished_action.triggered.connect(lambda: self.clear_requested.emit(CLEARED_AS_FINISHED))
        self.clear_failed_action = QAction(icon("clear"), "Clear failed", self)
        self.clear_failed_action.triggered.connect(lambda: self.clear_requested.emit(CLEARED_AS_FAILED))
        for key, action in (("pause", self.pause_action), ("clear_finished", self.clear_finished_action)):
            self.actions_by_key[key] = action
            self.buttons[key] = self._button(action)
            bar.addWidget(self.buttons[key])
        self.actions_by_key["clear_failed"] = self.clear_failed_action
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        self.set_paused(False)
        self._update_actions()

    # -- contents --------------------------------------------------------------------------------

    def set_jobs(self, jobs: list[Job], cancelling: int | None = None) -> None:
        """Show `jobs`; `cancelling` is the running job asked to stop (shown as "cancelling…")."""
        selected = self.selected_job_ids()
        self._jobs = {job.id: job for job in jobs}
        self.table.blockSignals(True)
        self.table.set_jobs(jobs, cancelling)
        self.table.clearSelection()
        for job_id in selected:
            self._select_row(job_id)
        self.table.blockSignals(False)
        self._show_selection()  # the same jobs stay selected: nothing to load into the player again

    def show_progress(self, job_id: int, progress: Progress) -> None:
        """Update the running job's row in place."""
        self.table.show_progress(job_id, progress)

    def set_paused(self, paused: bool) -> None:
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)
        self.title.setText("<b>Queue</b> — paused after the current job" if paused else "<b>Queue</b>")

    def selected_job_ids(self) -> list[int]:
        return self.table.selected_ids()

    def selected_job_id(self) -> int | None:
        ids = self.selected_job_ids()
        return ids[0] if ids else None

    def select(self, *job_ids: int) -> None:
        """Select exactly these jobs."""
        self.table.clearSelection()
        for job_id in job_ids:
            self._select_row(job_id)

    def job(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def context_menu(self) -> QMenu:
        """The right-click menu for the current selection (every action, greyed where it does not apply)."""
        menu = QMenu(self)
        for spec in _ACTIONS:
            menu.addAction(self.actions_by_key[spec.key])
        menu.addSeparator()
        for key in ("pause", "clear_finished", "clear_failed"):
            menu.addAction(self.actions_by_key[key])
        return menu

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _button(action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolTip(action.text())
        return button

    def _select_row(self, job_id: int) -> None:
        row = self.table.row_of(job_id)
        if row is not None:
            index = self.table.model().index(row, 0)
            flags = (self.table.selectionModel().SelectionFlag.Select
                     | self.table.selectionModel().SelectionFlag.Rows)
            self.table.selectionModel().select(index, flags)

    def _applicable(self, spec: _Action) -> list[int]:
        jobs = [self._jobs[i] for i in self.selected_job_ids() if i in self._jobs]
        if not spec.many:
            jobs = jobs[:1]
        return [job.id for job in jobs if spec.applies(job)]

    def _trigger(self, spec: _Action) -> None:
        ids = self._applicable(spec)
        if not ids:
            return
        if spec.key == "cancel":
            self.cancel_requested.emit(ids)
        elif spec.key == "retry":
            self.retry_requested.emit(ids)
        elif spec.key == "remove":
            self.remove_requested.emit(ids)
        elif spec.key in ("up", "down"):
            self.move_requested.emit(ids, -1 if spec.key == "up" else 1)
        elif spec.key == "play":
            self.play_requested.emit(ids[0])
        elif spec.key == "folder":
            self.show_folder_requested.emit(ids[0])
        elif spec.key == "error":
            self.show_error_requested.emit(ids[0])

    def _on_pause_toggled(self, paused: bool) -> None:
        self.set_paused(paused)
        self.pause_toggled.emit(paused)

    def _on_selection_changed(self) -> None:
        """The user changed the selection: one finished job selected shows in the player."""
        job = self._show_selection()
        if job is not None and job.state is JobState.DONE and len(self.selected_job_ids()) == 1:
            self.result_selected.emit(job.id)

    def _show_selection(self) -> Job | None:
        """Actions and the details pane for the selection; returns its first job."""
        self._update_actions()
        job = self._jobs.get(self.selected_job_id() or -1)
        if job is None:
            self.details.clear()
        else:
            self.details.setPlainText(f"#{job.id} {job_title(job)} — {job.state.value}\n{job_tooltip(job)}")
        return job

    def _update_actions(self) -> None:
        for spec in _ACTIONS:
            self.actions_by_key[spec.key].setEnabled(bool(self._applicable(spec)))
        states = {job.state for job in self._jobs.values()}
        self.clear_finished_action.setEnabled(bool(states & CLEARED_AS_FINISHED))
        self.clear_failed_action.setEnabled(bool(states & CLEARED_AS_FAILED))

    def _show_context_menu(self, position: QPoint) -> None:
        self.context_menu().exec(self.table.viewport().mapToGlobal(position))

    def _on_double_click(self, item: QTableWidgetItem) -> None:
        job = self._jobs.get(item.data(ROLE_ID))
        if job is None:
            return
        if job.state is JobState.DONE:
            self.play_requested.emit(job.id)
        elif job.error:
            self.show_error_requested.emit(job.id)
