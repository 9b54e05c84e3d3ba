"""Take docs/screenshot.png: the main window with one ready avatar and a finished render.

Run it where a display exists (under Xvfb on a server):

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
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="avatar-studio-shot-"))
    try:
        os.environ["AVATAR_STUDIO_HOME"] = str(work / "library")
        os.environ["AVATAR_STUDIO_MODELS"] = str(work / "models")
        return take(work, args.output)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def take(work: Path, output: Path) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from PySide6.QtCore import QSettings
    from synthetic_weights import write_checkpoint

    from avatar_studio.avatars.library import AvatarLibrary
    from avatar_studio.avatars.prepare import PrepareSettings
    from avatar_studio.gui.app import create_application
    from avatar_studio.gui.main_window import MainWindow
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
    (work / "models").mkdir()
    write_checkpoint(work / "models" / "wav2lip.pth")
    audio = work / "welcome message.wav"
    subprocess.run([*base_args(), "-i", str(MEDIA / "speech_48k_stereo.wav"), "-t", "3", str(audio)], check=True)

    EngineSettings(output_dir=str(work / "Videos")).save(library)
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    window.show()
    window.form.set_audio(audio)
    (work / "Videos").mkdir()
    window.form.batch_size.setValue(8)
    print("rendering…")
    job = window.renders.queue_render()
    wait_until(lambda: window.session.store.get(job.id).state not in (JobState.QUEUED, JobState.RUNNING), timeout_s=240)
    # A second, longer job is pictured while it renders.
    window.form.set_audio(MEDIA / "speech_48k_stereo.wav")
    running = window.renders.queue_render()

    window.library_panel.select("Presenter")
    window.player.face_box_toggle.setChecked(True)
    player = window.player.player
    wait_until(lambda: player.duration() > 0)
    player.play()
    wait_until(lambda: player.position() > 1500)
    player.pause()
    window.queue.select(job.id)
    wait_until(lambda: window.session.store.get(running.id).progress > 0.4, timeout_s=240)
    wait_until(lambda: False, timeout_s=0.5)  # let the last frame and the progress paint
    output.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(output))
    print(f"wrote {output}")
    window.shutdown()
    return 0


def wait_until(condition, timeout_s: float = 30.0) -> None:
    """Turn the event loop until `condition()` holds (or the time is up)."""
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

    deadline = QDeadlineTimer(int(timeout_s * 1000))
    while not condition() and not deadline.hasExpired():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


if __name__ == "__main__":
    sys.exit(main())
