"""Take the README's pictures: the main window, the queue, the Settings dialog.

- docs/screenshot.png: the main window with a ready avatar (face box on), a finished and a
  running render;
- docs/screenshot_queue.png: the queue with a finished, a failed and a running job;
- docs/screenshot_settings.png: the Settings dialog on its Folders page (values in force).

Run it where a display exists (under Xvfb on a server; see the README for the X11 libraries):

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python docs/make_screenshot.py

Everything happens in a temporary library and models folder (a synthetic-weight model stands in
for real Wav2Lip weights, so the rendered mouth is meaningless; the screenshot shows the avatar).
Needs ../shared/media beside the checkout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT.parent / "shared" / "media"
WINDOW_SIZE = (1440, 880)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="avatar-studio-shot-"))
    try:
        os.environ["AVATAR_STUDIO_HOME"] = str(work / "library")
        os.environ["AVATAR_STUDIO_MODELS"] = str(work / "models")
        return take(work, args.output_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def take(work: Path, out_dir: Path) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from PySide6.QtCore import QSettings
    from synthetic_weights import write_checkpoint

    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.avatars.prepare import PrepareSettings
    from avatar_studio.gui.app import create_application
    from avatar_studio.gui.main_window import MainWindow
    from avatar_studio.gui.settings_dialog import PAGES, SettingsDialog
    from avatar_studio.jobs.model import JobState
    from avatar_studio.media.ffmpeg import base_args
    from avatar_studio.settings import EngineSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "qsettings"))
    create_application([sys.argv[0]])

    library = work / "library"
    print("preparing the avatar…")
    AvatarLibrary(library).prepare(MEDIA / "talking_man_25fps_844x844.mp4", "Presenter",
                                   PrepareSettings(max_height=480))
    # A second avatar with a long name: the list shortens it in the middle.
    AvatarLibrary(library).prepare(MEDIA / "anime_portrait_25fps_704x1216.mp4",
                                   "Lesson 12, thermodynamics - studio B, take 3", PrepareSettings(max_height=480))
    (work / "models").mkdir()
    write_checkpoint(work / "models" / "wav2lip.pth")
    audio = work / "welcome message.wav"
    subprocess.run([*base_args(), "-i", str(MEDIA / "speech_48k_stereo.wav"), "-t", "3", str(audio)], check=True)
    deleted = work / "interview take 2.wav"  # queued, then deleted before its turn: the job fails
    shutil.copy(audio, deleted)

    EngineSettings(output_dir=str(work / "Videos")).save(library)
    (work / "Videos").mkdir()
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    window.show()
    form = window.form
    window.library_panel.select("Presenter")  # the renders use it; the long name only shows in the list
    form.batch_size.setValue(8)
    print("rendering…")
    form.set_audio(audio)
    wait_until(lambda: form.audio_details is not None)
    done = window.renders.queue_render()
    wait_until(lambda: finished(window, done.id), timeout_s=240)
    form.set_audio(deleted)
    wait_until(lambda: form.audio_details is not None)
    deleted.unlink()  # gone after it was checked: the job is queued and fails when its turn comes
    failing = window.renders.queue_render()
    wait_until(lambda: finished(window, failing.id), timeout_s=60)
    window.banner.hide()  # the picture is about the queue; its failure shows in the row
    # A longer job is pictured while it renders.
    form.set_audio(MEDIA / "speech_48k_stereo.wav")
    wait_until(lambda: form.audio_details is not None)
    running = window.renders.queue_render()

    window.library_panel.select("Lesson 12, thermodynamics - studio B, take 3")
    window.library_panel.select("Presenter")  # the player back on the avatar (a result shows a noise mouth)
    window.player.face_box_toggle.setChecked(True)
    player = window.player.player
    wait_until(lambda: player.duration() > 0)
    player.play()
    wait_until(lambda: player.position() > 1500)
    player.pause()
    window.queue.select(failing.id)
    wait_until(lambda: window.session.store.get(running.id).progress > 0.4, timeout_s=240)
    wait_until(lambda: False, timeout_s=0.5)  # let the last frame and the progress paint
    out_dir.mkdir(parents=True, exist_ok=True)
    save(window.grab(), out_dir / "screenshot.png")
    save(window.queue.grab(), out_dir / "screenshot_queue.png")
    assert window.session.store.get(failing.id).state is JobState.FAILED

    dialog = SettingsDialog(window.session.root, window.session.settings, window.models.refresh(), window)
    dialog.page_list.setCurrentRow(PAGES.index("Folders"))
    dialog.resize(820, 460)
    dialog.show()
    wait_until(lambda: False, timeout_s=0.5)
    save(dialog.grab(), out_dir / "screenshot_settings.png")
    dialog.reject()
    window.shutdown()
    return 0


def finished(window, job_id: int) -> bool:
    from avatar_studio.jobs.model import JobState

    return window.session.store.get(job_id).state not in (JobState.QUEUED, JobState.RUNNING)


def save(picture, path: Path) -> None:
    picture.save(str(path))
    print(f"wrote {path}")


def wait_until(condition, timeout_s: float = 30.0) -> None:
    """Turn the event loop until `condition()` holds (or the time is up)."""
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

    deadline = QDeadlineTimer(int(timeout_s * 1000))
    while not condition() and not deadline.hasExpired():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


if __name__ == "__main__":
    sys.exit(main())
