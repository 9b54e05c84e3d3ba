"""Run as a script: many short background tasks end while the GUI thread keeps building widgets
and collecting garbage. Before workers started their work through a queued call, this deadlocked
within a few hundred tasks (Qt deleting a worker on its thread waited for the GIL while holding a
signal-slot mutex that a widget constructor on the GUI thread, holding the GIL, waited for).
Prints the number of tasks that finished."""

from __future__ import annotations

import gc
import sys


def churn(count: int) -> int:
    from PySide6.QtWidgets import QApplication, QSpinBox

    from avatar_studio.gui.workers import BackgroundTask

    app = QApplication([])
    finished: list[int] = []
    for index in range(count):
        task = BackgroundTask(lambda _progress, _cancel: [object() for _ in range(200)], name="churn")
        task.finished.connect(lambda index=index: finished.append(index))
        task.start()
        for _ in range(5):  # widgets take signal-slot mutexes from Qt's shared pool
            QSpinBox().deleteLater()
        app.processEvents()
        if index % 7 == 0:
            gc.collect()
    BackgroundTask.wait_for_all()
    app.processEvents()
    return len(finished)


if __name__ == "__main__":
    print(churn(int(sys.argv[1])))
