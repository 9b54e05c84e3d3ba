"""*Preview frame*: the frame under the player's playhead rendered with the form's settings, shown
before/after with a draggable split.

The engine's `render_preview_frame` runs in a `BackgroundTask` (it loads the models), so the window
stays responsive; the result opens in one reusable dialog that the next preview refreshes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from avatar_studio.gui.compare_view import BeforeAfterView
from avatar_studio.gui.formatting import format_clock
from avatar_studio.gui.workers import BackgroundTask

if TYPE_CHECKING:
    from avatar_studio.avatars.library import Avatar
    from avatar_studio.faces.align import FrameMask
    from avatar_studio.gui.main_window import MainWindow
    from avatar_studio.render.preview_frame import PreviewFrame


class FramePreviewDialog(QDialog):
    """The before/after comparison of one previewed frame."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preview frame")
        self.resize(900, 700)
        self.view = BeforeAfterView()
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.show_mask = QCheckBox("Show mask")
        self.show_mask.setToolTip("Tint the region where the lip-sync model's mouth is blended in")
        self.show_mask.toggled.connect(self.view.set_show_mask)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.show_mask)
        layout.addWidget(buttons)

    def show_frame(self, frame: PreviewFrame, fps: float, avatar: str) -> None:
        self.view.set_images(frame.original, frame.rendered, frame.mask)
        seconds = frame.output_index / fps if fps > 0 else 0.0
        self.setWindowTitle(f"Preview frame — {avatar} at {format_clock(seconds)}")
        self.info.setText(
            f"Output frame {frame.output_index} (avatar frame {frame.source_index}) · {frame.description}. "
            "Drag the line: left is the original, right the render."
        )


class FramePreviewActions(QObject):
    """Starts a frame preview from the form and shows its result."""

    shown = Signal(object)  # the PreviewFrame, once on screen

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.task: BackgroundTask | None = None
        self.dialog: FramePreviewDialog | None = None
        window.form.frame_preview_requested.connect(self.preview)
        self._mask_avatar: Avatar | None = None
        # The player's face overlay can show the mask instead of the box.
        window.player.mask_at = self.mask_at
        window.form.quality.changed.connect(window.player.refresh_overlay)

    def tasks(self) -> list[BackgroundTask]:
        """The preview running now, if any (the window cancels and waits for it at shutdown)."""
        return [self.task] if self.task is not None else []

    def activity(self) -> list[str]:
        return [task.objectName() for task in self.tasks()]

    def preview(self) -> BackgroundTask | None:
        """Render the frame under the playhead (the avatar's first frame when another clip plays)."""
        if self.task is not None:
            return None
        from avatar_studio.jobs.runner import render_request_for
        from avatar_studio.render.preview_frame import render_preview_frame

        window = self._window
        spec = window.form.spec()  # its output is not used: a frame preview writes nothing
        player = window.player
        position_s = player.playhead_s if player.avatar_name == spec.avatar else 0.0
        request = render_request_for(spec)
        root = window.session.root
        task = BackgroundTask(
            lambda _progress, cancel: render_preview_frame(request, root, position_s, cancel), name="preview-frame"
        )
        task.setObjectName(f"Rendering the frame at {format_clock(position_s)}…")
        task.succeeded.connect(lambda frame: self._show(frame, spec.avatar))
        task.failed.connect(lambda message, details: window.show_error(f"Preview frame failed: {message}", details))
        task.finished.connect(self._on_finished)
        self.task = task
        task.start()
        window.update_activity()
        return task

    def mask_at(self, index: int) -> FrameMask | None:
        """The form's mask over frame `index` of the avatar the player shows (None without one)."""
        from avatar_studio.render.enhance import lipsync_region
        from avatar_studio.render.frame_compositor import FrameCompositor

        name = self._window.player.avatar_name
        if name is None:
            return None
        if self._mask_avatar is None or self._mask_avatar.name != name:
            self._mask_avatar = self._window.session.library.find(name)
        avatar = self._mask_avatar
        if avatar is None:
            return None
        compositor = FrameCompositor(self._window.form.spec().render_settings(), avatar.boxes, avatar.landmarks())
        return lipsync_region(compositor, avatar.boxes[index], index)

    def _show(self, frame: PreviewFrame, avatar_name: str) -> None:
        if self.dialog is None:
            self.dialog = FramePreviewDialog(self._window)
        avatar = self._window.session.library.find(avatar_name)
        self.dialog.show_frame(frame, float(avatar.fps) if avatar is not None else 0.0, avatar_name)
        self.dialog.show()
        self.dialog.raise_()
        self.shown.emit(frame)

    def _on_finished(self) -> None:
        self.task = None
        self._window.update_activity()
