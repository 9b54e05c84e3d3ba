"""The PySide6 desktop app: thin widgets over the engine, every long task in a QThread worker."""
