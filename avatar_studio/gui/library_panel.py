"""The avatar library list: thumbnails with size/length/fps, preparations in progress and failures.

An avatar's quality notes (`Avatar.notes`: filmed with an open mouth, prepared before face-mesh
masks) show as a short tag on its second line and in full in its tooltip; an avatar without
landmarks offers "Re-prepare for face-mesh masks" in its menu.

The panel only shows and asks; the main window runs the work (preparing, renaming, deleting).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPalette, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from avatar_studio.avatars.library import NO_LANDMARKS_NOTE, OPEN_MOUTH_NOTE, Avatar
from avatar_studio.gui.formatting import avatar_summary
from avatar_studio.gui.icons import icon

THUMB = QSize(72, 72)
_ROLE_NAME = Qt.ItemDataRole.UserRole
_ROLE_KIND = Qt.ItemDataRole.UserRole + 1
#: What each quality note says on the avatar's second line (the tooltip has the whole sentence).
NOTE_TAGS = {OPEN_MOUTH_NOTE: "⚠ open mouth", NO_LANDMARKS_NOTE: "box mask only"}
REPREPARE_FOR_MESH = "Re-prepare for face-mesh masks…"


@dataclass
class PendingAvatar:
    """A preparation that is running or has failed (not in the library yet)."""

    name: str
    status: str
    failed: bool = False


class LibraryPanel(QWidget):
    avatar_selected = Signal(object)  # Avatar or None
    add_requested = Signal()
    rename_requested = Signal(str)
    delete_requested = Signal(str)
    reprepare_requested = Signal(str)
    show_folder_requested = Signal(str)
    cancel_requested = Signal(str)
    dismiss_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._avatars: dict[str, Avatar] = {}
        self._pending: dict[str, PendingAvatar] = {}
        title = QLabel("<b>Avatars</b>")
        add = QPushButton(icon("add"), "Add…")
        add.setToolTip("Add an avatar from a video or photo (Ctrl+O), or drop a file on the window")
        add.clicked.connect(self.add_requested)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(add)
        self.list = QListWidget()
        self.list.setIconSize(THUMB)
        self.list.setSpacing(2)
        self.list.setUniformItemSizes(True)
        # A long name loses its middle ("Professor Max…take 12"), not its end behind a scroll bar;
        # the tooltip holds it whole.
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._show_menu)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self._empty_hint = QLabel(
            "No avatars yet.\nAdd a short clip of a person talking to the camera, or a photo: "
            "press Add… or drop the file here."
        )
        self._empty_hint.setWordWrap(True)
        self._empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_hint.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        layout.addWidget(self._empty_hint, 1)

    # -- contents --------------------------------------------------------------------------------

    def set_avatars(self, avatars: list) -> None:
        """Show the library's avatars (keeping the selection where possible)."""
        self._avatars = {avatar.name: avatar for avatar in avatars}
        self._rebuild()

    def set_pending(self, name: str, status: str, failed: bool = False) -> None:
        """Show or update a preparation that is not in the library (yet)."""
        known = name in self._pending
        self._pending[name] = PendingAvatar(name, status, failed)
        item = self._find(name, "pending")
        if known and item is not None:
            self._style_pending(item, self._pending[name])
        else:
            self._rebuild()

    def clear_pending(self, name: str) -> None:
        if self._pending.pop(name, None) is not None:
            self._rebuild()

    def pending(self, name: str) -> PendingAvatar | None:
        return self._pending.get(name)

    def current_avatar(self):
        item = self.list.currentItem()
        if item is None or item.data(_ROLE_KIND) != "ready":
            return None
        return self._avatars.get(item.data(_ROLE_NAME))

    def select(self, name: str) -> None:
        item = self._find(name, "ready")
        if item is not None:
            self.list.setCurrentItem(item)

    # -- internals -------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        selected = self.list.currentItem().data(_ROLE_NAME) if self.list.currentItem() else None
        self.list.blockSignals(True)
        self.list.clear()
        for pending in self._pending.values():
            item = QListWidgetItem()
            item.setData(_ROLE_NAME, pending.name)
            item.setData(_ROLE_KIND, "pending")
            self._style_pending(item, pending)
            self.list.addItem(item)
        for avatar in sorted(self._avatars.values(), key=lambda a: a.name.casefold()):
            summary = avatar_summary(avatar.duration_s, avatar.width, avatar.height, avatar.fps, avatar.frame_count)
            tags = " · ".join(NOTE_TAGS[note] for note in avatar.notes)  # a line of their own: the
            item = QListWidgetItem("\n".join([avatar.name, summary, *([tags] if tags else [])]))  # summary stays whole
            item.setData(_ROLE_NAME, avatar.name)
            item.setData(_ROLE_KIND, "ready")
            item.setToolTip("\n".join([f"{avatar.name} — ready", str(avatar.folder), *avatar.notes]))
            thumb = QPixmap(str(avatar.thumbnail_path)) if avatar.thumbnail_path else QPixmap()
            if not thumb.isNull():
                item.setIcon(thumb.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._empty_hint.setVisible(self.list.count() == 0)
        self.list.setVisible(self.list.count() > 0)
        if selected is not None:
            for kind in ("ready", "pending"):
                found = self._find(selected, kind)
                if found is not None:
                    self.list.setCurrentItem(found)
                    break
        self._on_current_changed(self.list.currentItem(), None)

    def _style_pending(self, item: QListWidgetItem, pending: PendingAvatar) -> None:
        item.setText(f"{pending.name}\n{pending.status}")
        item.setIcon(icon("error" if pending.failed else "preview"))
        item.setToolTip(pending.status)
        color = QColor("#d64545") if pending.failed else self.palette().color(QPalette.ColorRole.PlaceholderText)
        item.setForeground(QBrush(color))

    def _find(self, name: str, kind: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_ROLE_NAME) == name and item.data(_ROLE_KIND) == kind:
                return item
        return None

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        self.avatar_selected.emit(self.current_avatar() if current is not None else None)

    def _show_menu(self, position) -> None:
        item = self.list.itemAt(position)
        if item is None:
            return
        self.menu_for(item).exec(self.list.viewport().mapToGlobal(position))

    def menu_for(self, item: QListWidgetItem) -> QMenu:
        """The context menu of one list entry (built fresh: what it offers depends on the avatar)."""
        name = item.data(_ROLE_NAME)
        menu = QMenu(self)
        if item.data(_ROLE_KIND) == "ready":
            avatar = self._avatars.get(name)
            if avatar is not None and not avatar.has_landmarks:
                menu.addAction(icon("retry"), REPREPARE_FOR_MESH, lambda: self.reprepare_requested.emit(name))
            menu.addAction(icon("settings"), "Rename…", lambda: self.rename_requested.emit(name))
            menu.addAction(icon("retry"), "Re-prepare…", lambda: self.reprepare_requested.emit(name))
            menu.addAction(icon("folder"), "Show folder", lambda: self.show_folder_requested.emit(name))
            menu.addSeparator()
            menu.addAction(icon("remove"), "Delete…", lambda: self.delete_requested.emit(name))
        elif self._pending[name].failed:
            menu.addAction(icon("remove"), "Dismiss", lambda: self.dismiss_requested.emit(name))
        else:
            menu.addAction(icon("cancel"), "Cancel preparation", lambda: self.cancel_requested.emit(name))
        return menu
