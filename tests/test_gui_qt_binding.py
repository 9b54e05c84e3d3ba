"""Guard against a Qt binding that corrupts reference counts (the app would crash after a while).

PySide6 6.12.0 drops a reference to `True` on every `Signal.emit()` and to `None` on calls of
method slots. From Python 3.12 on these objects are immortal and nothing happens; on 3.11 the app
aborts with "Fatal Python error: bool_dealloc" after a few thousand progress signals, i.e. in the
middle of a render. pyproject.toml keeps such versions out; this test says so if one slips in.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal, Slot


class _Sender(QObject):
    value = Signal(object)


class _Receiver(QObject):
    @Slot(object)
    def on_value(self, _value: object) -> None:
        pass


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True and None are immortal from Python 3.12 on")
def test_signal_emission_keeps_reference_counts(qapp):
    sender, receiver = _Sender(), _Receiver()
    sender.value.connect(receiver.on_value)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(100):
        sender.value.emit(1)
    assert sys.getrefcount(True) - true_before >= 0, "Signal.emit() loses references to True"
    assert sys.getrefcount(None) - none_before >= 0, "slot calls lose references to None"
