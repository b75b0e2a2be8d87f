"""The Qt binding keeps Python's reference counts straight.

PySide6 6.12.0 under Python 3.11 dropped a reference to ``True`` on every ``emit`` and
to ``None`` on every call that returns nothing; the window then aborted with "Fatal
Python error: bool_dealloc" after a few thousand signals (a long streamed reply, a few
hundred files indexed). pyproject.toml keeps that release out; this test catches a
binding with the same fault, whatever its version.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

ROUNDS = 500


class _Emitter(QObject):
    text = Signal(str)


def test_emitting_a_signal_keeps_the_count_of_true(qtbot: QtBot) -> None:
    emitter = _Emitter()
    received: list[str] = []
    emitter.text.connect(received.append)
    before = sys.getrefcount(True)
    for _ in range(ROUNDS):
        emitter.text.emit("x")
    # Other code may take or drop a few references meanwhile; a leak loses one per emit.
    assert sys.getrefcount(True) > before - ROUNDS // 2
    assert len(received) == ROUNDS


def test_calls_that_return_nothing_keep_the_count_of_none(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for n in range(ROUNDS):
        label.setText(str(n))
        label.hide()
    assert sys.getrefcount(None) > before - ROUNDS // 2
    assert label.text() == str(ROUNDS - 1)
