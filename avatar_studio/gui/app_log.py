"""Where the app's chatter goes: a log file in the library, the console only with `--verbose`.

Three sources write to the console of a desktop app: Python's logging, Qt's messages (e.g.
QtMultimedia's "symbolsresolver: Couldn't load pipewire" lines) and native libraries writing to
file descriptor 2 directly (the FFmpeg inside QtMultimedia dumps every stream it opens). By
default all three land in `<library>/logs/avatar-studio.log`: Python logging through a file
handler, Qt messages through `qInstallMessageHandler` into that logging, and descriptor 2 pointed
at the same file. With `--verbose` nothing is redirected and the log also echoes to the console.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

LOG_FOLDER = "logs"
LOG_FILE = "avatar-studio.log"
MAX_LOG_BYTES = 2 * 1024 * 1024
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_qt_log = logging.getLogger("qt")


def log_path(library_root: Path) -> Path:
    return library_root / LOG_FOLDER / LOG_FILE


def _start_fresh_if_large(path: Path) -> None:
    """Keep the previous run's log as `.1` once it has grown large (one file for both writers
    during a run: rotating mid-run would leave descriptor 2 on the old file)."""
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    category = context.category or "default"
    _qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s: %s", category, message)


class AppLog:
    """The logging set-up of one app run; `close()` undoes it (before the interpreter exits)."""

    def __init__(self, library_root: Path, verbose: bool = False) -> None:
        self.path = log_path(library_root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _start_fresh_if_large(self.path)
        self._handlers: list[logging.Handler] = [logging.FileHandler(self.path, encoding="utf-8")]
        if verbose and sys.stderr is not None:
            self._handlers.append(logging.StreamHandler(sys.stderr))
        root = logging.getLogger()
        for handler in self._handlers:
            handler.setFormatter(logging.Formatter(_FORMAT))
            root.addHandler(handler)
        root.setLevel(logging.INFO)
        self._saved_stderr: int | None = None
        if not verbose:
            self._redirect_stderr()
        self._previous_handler = qInstallMessageHandler(_qt_message)
        logging.getLogger(__name__).info("Avatar Studio started; log file %s", self.path)

    def _redirect_stderr(self) -> None:
        """Point descriptor 2 at the log file, so native libraries' output lands there too.

        A Windows gui-script has no descriptor 2 (and `sys.stderr` is None): nothing to quieten.
        """
        if sys.stderr is not None:
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:
            return
        target = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(target, 2)
        os.close(target)
        self._saved_stderr = saved

    def close(self) -> None:
        """Restore Qt's handler, the console and the root logger (idempotent)."""
        qInstallMessageHandler(self._previous_handler)
        if self._saved_stderr is not None:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(self._saved_stderr, 2)
            os.close(self._saved_stderr)
            self._saved_stderr = None
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        self._handlers = []
