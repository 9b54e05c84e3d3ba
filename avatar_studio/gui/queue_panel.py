"""The render queue list: every job with its state, progress, speed and time, and the actions on it.

The rows are rebuilt from the store when a job changes state; progress updates only touch the
running row, so a render reporting ten times a second costs nothing noticeable.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.gui.formatting import first_line, format_clock, format_rate
from avatar_studio.gui.icons import icon
from avatar_studio.gui.tables import row_table
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.progress import Progress

COLUMNS = ("#", "Job", "State", "Progress", "Speed", "Time")
_COL_STATE, _COL_PROGRESS, _COL_SPEED, _COL_TIME = 2, 3, 4, 5
_ROLE_ID = Qt.ItemDataRole.UserRole
_ROLE_FRACTION = Qt.ItemDataRole.UserRole + 1


class _ProgressDelegate(QStyledItemDelegate):
    """Paints the progress cell as a progress bar (the cell's text is the bar's label)."""

    def paint(self, painter, option, index) -> None:
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = round((index.data(_ROLE_FRACTION) or 0.0) * 1000)
        bar.text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


def job_title(job: Job) -> str:
    title = f"{job.spec.avatar} ← {Path(job.spec.audio).name}"
    if job.group:  # rows of one batch manifest sit together in the queue under its name
        return f"{job.group} › {title}"
    return f"Preview · {title}" if job.spec.seconds else title


def job_time_text(job: Job) -> str:
    """ETA while running, the render time once done."""
    if job.state is JobState.RUNNING:
        return f"{format_clock(job.eta_s)} left" if job.eta_s is not None else ""
    if job.state is JobState.DONE and job.elapsed_s is not None:
        return f"took {format_clock(job.elapsed_s)}"
    return ""


class QueuePanel(QWidget):
    """Signals carry the selected job's id."""

    cancel_requested = Signal(int)
    retry_requested = Signal(int)
    remove_requested = Signal(int)
    move_requested = Signal(int, int)
    play_requested = Signal(int)
    show_folder_requested = Signal(int)
    show_error_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: dict[int, Job] = {}
        self.table = row_table(COLUMNS)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_COL_PROGRESS, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(_COL_PROGRESS, 150)
        self.table.setItemDelegateForColumn(_COL_PROGRESS, _ProgressDelegate(self.table))
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.itemDoubleClicked.connect(self._on_double_click)

        self.buttons: dict[str, QToolButton] = {}
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Queue</b>"))
        bar.addStretch(1)
        for key, icon_name, tip, handler in (
            ("cancel", "cancel", "Cancel the job", lambda i: self.cancel_requested.emit(i)),
            ("retry", "retry", "Queue the job again", lambda i: self.retry_requested.emit(i)),
            ("up", "up", "Move up", lambda i: self.move_requested.emit(i, -1)),
            ("down", "down", "Move down", lambda i: self.move_requested.emit(i, 1)),
            ("play", "play", "Play the output", lambda i: self.play_requested.emit(i)),
            ("folder", "folder", "Show the output in its folder", lambda i: self.show_folder_requested.emit(i)),
            ("error", "error", "Show the full error", lambda i: self.show_error_requested.emit(i)),
            ("remove", "remove", "Remove from the list (the video stays on disk)",
             lambda i: self.remove_requested.emit(i)),
        ):
            button = QToolButton()
            button.setIcon(icon(icon_name))
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, h=handler: self._with_selected(h))
            self.buttons[key] = button
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self._update_actions()

    # -- contents --------------------------------------------------------------------------------

    def set_jobs(self, jobs: list[Job]) -> None:
        selected = self.selected_job_id()
        self._jobs = {job.id: job for job in jobs}
        self.table.setRowCount(len(jobs))
        for row, job in enumerate(jobs):
            cells = (str(job.id), job_title(job), self._state_text(job), f"{job.progress * 100:.0f} %",
                     format_rate(job.fps), job_time_text(job))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_ROLE_ID, job.id)
                item.setToolTip(self._tooltip(job))
                self.table.setItem(row, column, item)
            self._cell(row, _COL_PROGRESS).setData(_ROLE_FRACTION, job.progress)
        if selected is not None:
            self.select(selected)
        self._update_actions()

    def show_progress(self, job_id: int, progress: Progress) -> None:
        """Update the running job's row in place."""
        row = self._row_of(job_id)
        if row is None:
            return
        cell = self._cell(row, _COL_PROGRESS)
        cell.setData(_ROLE_FRACTION, progress.fraction)
        cell.setText(f"{progress.percent:.0f} %")
        self._cell(row, _COL_SPEED).setText(format_rate(progress.rate))
        eta = progress.eta_s
        self._cell(row, _COL_TIME).setText(f"{format_clock(eta)} left" if eta is not None else "")

    def selected_job_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(_ROLE_ID) if item is not None else None

    def select(self, job_id: int) -> None:
        row = self._row_of(job_id)
        if row is not None:
            self.table.selectRow(row)

    def job(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _state_text(job: Job) -> str:
        if job.state in (JobState.FAILED, JobState.INTERRUPTED, JobState.DAMAGED) and job.error_summary:
            return f"{job.state.value}: {first_line(job.error_summary, 80)}"
        return job.state.value

    @staticmethod
    def _tooltip(job: Job) -> str:
        lines = [f"Audio: {job.spec.audio}", f"Output: {job.output_path or job.spec.output}"]
        if job.device_description:
            lines.append(f"Ran on: {job.device_description}")
        if job.error_summary:
            lines.append(f"Error: {job.error_summary}")
        return "\n".join(lines)

    def _row_of(self, job_id: int) -> int | None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(_ROLE_ID) == job_id:
                return row
        return None

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """A cell of a row `show_jobs` filled (every cell of such a row has an item)."""
        item = self.table.item(row, column)
        assert item is not None
        return item

    def _with_selected(self, handler) -> None:
        job_id = self.selected_job_id()
        if job_id is not None:
            handler(job_id)

    def _update_actions(self) -> None:
        selected_id = self.selected_job_id()
        job = self._jobs.get(selected_id) if selected_id is not None else None
        enabled = {
            "cancel": job is not None and job.state in (JobState.QUEUED, JobState.RUNNING),
            "retry": job is not None and job.can_retry,
            "up": job is not None and job.can_move,
            "down": job is not None and job.can_move,
            "play": job is not None and job.state is JobState.DONE,
            "folder": job is not None and job.state is JobState.DONE,
            "error": job is not None and bool(job.error),
            "remove": job is not None and job.can_remove,
        }
        for key, button in self.buttons.items():
            button.setEnabled(enabled[key])

    def _on_double_click(self, item: QTableWidgetItem) -> None:
        job = self._jobs.get(item.data(_ROLE_ID))
        if job is None:
            return
        if job.state is JobState.DONE:
            self.play_requested.emit(job.id)
        elif job.error:
            self.show_error_requested.emit(job.id)
