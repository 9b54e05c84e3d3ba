"""The queue's table: one row per job, columns that always fit, drag-and-drop to reorder.

Job and output names take the spare width (elided when short of it); the state is a word with an
icon, never the error (that goes in the tooltip and the details pane), so no message can widen a
column and push Progress/Speed/Time behind a horizontal scrollbar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QDropEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from avatar_studio.gui.formatting import eta_text, format_clock, format_rate
from avatar_studio.gui.icons import icon
from avatar_studio.jobs.model import Job, JobState
from avatar_studio.progress import Progress

COLUMNS = ("#", "Job", "Output", "State", "Progress", "Speed", "Time")
COL_ID, COL_JOB, COL_OUTPUT, COL_STATE, COL_PROGRESS, COL_SPEED, COL_TIME = range(len(COLUMNS))
ROLE_ID = Qt.ItemDataRole.UserRole
_ROLE_FRACTION = Qt.ItemDataRole.UserRole + 1
PROGRESS_WIDTH = 90
CANCELLING = "cancelling…"
_STATE_ICONS = {
    JobState.QUEUED: "queued", JobState.RUNNING: "render", JobState.DONE: "done",
    JobState.FAILED: "error", JobState.CANCELLED: "cancel", JobState.INTERRUPTED: "error",
    JobState.DAMAGED: "error",
}


class _ProgressDelegate(QStyledItemDelegate):
    """Paints the progress cell as a progress bar (the cell's text is the bar's label)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = round((index.data(_ROLE_FRACTION) or 0.0) * 1000)
        bar.text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)


def job_title(job: Job) -> str:
    title = f"{job.spec.avatar} ← {Path(job.spec.audio).name}"
    if job.group:  # rows of one batch manifest sit together in the queue under its name
        return f"{job.group} › {title}"
    return f"Preview, first {job.spec.seconds:g} s · {title}" if job.spec.seconds else title


def output_name(job: Job) -> str:
    return Path(job.output_path or job.spec.output).name


def job_time_text(job: Job) -> str:
    """ETA while running ("estimating…" until the rate is steady), the render time once done."""
    if job.state is JobState.RUNNING:
        return eta_text(job.eta_s, estimating=True)
    if job.state is JobState.DONE and job.elapsed_s is not None:
        return f"took {format_clock(job.elapsed_s)}"
    return ""


def job_tooltip(job: Job) -> str:
    output = job.output_path or job.spec.output
    lines = [*([f"Audio: {job.spec.audio}"] if job.spec.audio else []), *([f"Output: {output}"] if output else [])]
    if job.device_description:
        lines.append(f"Ran on: {job.device_description}")
    if job.error_summary:
        lines.append(f"Error: {job.error_summary}")
    return "\n".join(lines)


class QueueTable(QTableWidget):
    """Rows are rebuilt from the store on every state change; progress touches one row only."""

    #: (job id, its new index among the queued jobs) after a drag and drop.
    reorder_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        for column in (COL_ID, COL_STATE, COL_SPEED, COL_TIME):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for column in (COL_JOB, COL_OUTPUT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_PROGRESS, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(COL_PROGRESS, PROGRESS_WIDTH)
        self.setItemDelegateForColumn(COL_PROGRESS, _ProgressDelegate(self))
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDropIndicatorShown(True)
        self._jobs: list[Job] = []

    def set_jobs(self, jobs: list[Job], cancelling: int | None = None) -> None:
        self._jobs = jobs
        self.setRowCount(len(jobs))
        for row, job in enumerate(jobs):
            state = CANCELLING if job.id == cancelling else job.state.value
            cells = (str(job.id), job_title(job), output_name(job), state, f"{job.progress * 100:.0f} %",
                     format_rate(job.fps, short=True), job_time_text(job))
            tooltip = job_tooltip(job)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(ROLE_ID, job.id)
                item.setToolTip(tooltip)
                if column == COL_STATE:
                    item.setIcon(icon(_STATE_ICONS[job.state]))
                elif column == COL_PROGRESS:
                    item.setData(_ROLE_FRACTION, job.progress)
                self.setItem(row, column, item)

    def show_progress(self, job_id: int, progress: Progress) -> None:
        row = self.row_of(job_id)
        if row is None:
            return
        cell = self._cell(row, COL_PROGRESS)
        cell.setData(_ROLE_FRACTION, progress.fraction)
        cell.setText(f"{progress.percent:.0f} %")
        self._cell(row, COL_SPEED).setText(format_rate(progress.rate, short=True))
        self._cell(row, COL_TIME).setText(eta_text(progress.eta_s, estimating=True))

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.item(row, column)
        assert item is not None, "set_jobs fills every cell"
        return item

    def row_of(self, job_id: int) -> int | None:
        for row, job in enumerate(self._jobs):
            if job.id == job_id:
                return row
        return None

    def selected_ids(self) -> list[int]:
        """The selected jobs in queue order."""
        rows = sorted(index.row() for index in self.selectionModel().selectedRows())
        return [self._jobs[row].id for row in rows if row < len(self._jobs)]

    def dropEvent(self, event: QDropEvent) -> None:
        """A drop reorders through the store (the rows are rebuilt from it), never moves cells."""
        selected = set(self.selected_ids())
        moving = [job for job in self._jobs if job.id in selected and job.can_move]
        target = self.indexAt(event.position().toPoint())
        if target.isValid():
            rect = self.visualRect(target)
            insert_row = target.row() + (1 if event.position().y() > rect.center().y() else 0)
        else:
            insert_row = len(self._jobs)
        # Copy, not Move: a move would make the view clear the dragged cells itself.
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if not moving:
            return
        job = moving[0]
        index = sum(1 for other in self._jobs[:insert_row]
                    if other.state is JobState.QUEUED and other.id != job.id)
        self.reorder_requested.emit(job.id, index)
