"""The PySide6 desktop app: thin widgets over the engine, every long task in a QThread worker."""

import os

# superqt reaches Qt through qtpy, which would take PyQt if one is installed beside PySide6.
os.environ.setdefault("QT_API", "pyside6")
