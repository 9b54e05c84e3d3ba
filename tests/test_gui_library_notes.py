"""The library panel shows an avatar's quality notes and offers face-mesh re-preparation (offscreen Qt)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from avatar_studio.avatars.library import NO_LANDMARKS_NOTE, OPEN_MOUTH_NOTE, Avatar
from avatar_studio.gui.library_panel import NOTE_TAGS, REPREPARE_FOR_MESH, LibraryPanel


def copy_as_old(avatar: Avatar, folder: Path, name: str, **meta_changes: object) -> Avatar:
    """A copy of `avatar` whose avatar.json is as written before the face mesh existed."""
    shutil.copytree(avatar.folder, folder)
    meta = json.loads((folder / "avatar.json").read_text(encoding="utf-8"))
    del meta["landmarks"], meta["open_mouth_share"]
    meta.update(display_name=name, **meta_changes)
    (folder / "avatar.json").write_text(json.dumps(meta), encoding="utf-8")
    return Avatar(folder)


def test_notes_show_in_the_list_and_old_avatars_offer_face_mesh_reprepare(qtbot, render_avatar, tmp_path: Path) -> None:
    talking = render_avatar("talking")  # talks through the clip: the open-mouth note
    assert talking.notes == (OPEN_MOUTH_NOTE,)
    old = copy_as_old(render_avatar("still"), tmp_path / "old", "Old one")
    panel = LibraryPanel()
    qtbot.addWidget(panel)
    requested: list[str] = []
    panel.reprepare_requested.connect(requested.append)
    panel.set_avatars([talking, old])
    items = {panel.list.item(row).data(256): panel.list.item(row) for row in range(panel.list.count())}

    assert NOTE_TAGS[OPEN_MOUTH_NOTE] in items["talking"].text() and OPEN_MOUTH_NOTE in items["talking"].toolTip()
    assert NOTE_TAGS[NO_LANDMARKS_NOTE] in items["Old one"].text() and NO_LANDMARKS_NOTE in items["Old one"].toolTip()
    assert REPREPARE_FOR_MESH not in [a.text() for a in panel.menu_for(items["talking"]).actions()]
    (action,) = [a for a in panel.menu_for(items["Old one"]).actions() if a.text() == REPREPARE_FOR_MESH]
    action.trigger()
    assert requested == ["Old one"]


def test_a_long_name_is_shortened_in_the_middle_and_whole_in_the_tooltip(qtbot, render_avatar, tmp_path: Path) -> None:
    long_name = "Professor Maximilian Longname, lecture series on thermodynamics, take 12 final"
    avatar = copy_as_old(render_avatar("still"), tmp_path / "long", long_name)
    panel = LibraryPanel()
    qtbot.addWidget(panel)
    panel.resize(240, 300)
    panel.show()
    panel.set_avatars([avatar])
    qtbot.waitExposed(panel)
    item = panel.list.item(0)
    text_width = panel.list.fontMetrics().horizontalAdvance(long_name)
    assert text_width > panel.list.viewport().width()  # it cannot fit: it must be shortened
    assert not panel.list.horizontalScrollBar().isVisible()
    assert panel.list.textElideMode() == Qt.TextElideMode.ElideMiddle
    assert long_name in item.toolTip()
