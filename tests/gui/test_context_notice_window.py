"""The window says when old messages were left out to fit the context window (the same
notice the API gives in its ``hearth`` object), over the real engine and starter model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.engine.client import EngineClient
from app.services.types import ModelEntry
from app.ui.launch import Window
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

WAIT = 240_000
# ~270 tokens: two of them and a reply overflow a 512-token context.
LONG = "The quick brown fox jumps over the lazy dog near the river bank. " * 20


def send(qtbot: QtBot, win: Window, text: str) -> None:
    composer = win.window.composer.edit
    composer.setPlainText(text)
    composer.setFocus()
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT)


def test_window_shows_that_old_messages_were_left_out(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path
) -> None:
    win = make_window(backend_factory=EngineClient)
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 16, "temperature": 0.0, "n_ctx": 512})
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT):
        win.window.load_model(ModelEntry(name="starter", kind="chat", path=str(smol_model)))
    notices: list[str] = []
    win.chat.notice_posted.connect(notices.append)
    send(qtbot, win, f"First note: {LONG}")
    assert not any("left out" in n for n in notices), "the first turn fits"
    send(qtbot, win, f"Second note: {LONG}")
    (notice,) = [n for n in notices if "left out" in n]
    assert "oldest 2 messages were left out" in notice
    banner = win.window.notice_banner
    assert banner.isVisible() and banner.label.text() == notice
    # Only the reply was shortened: the conversation itself keeps every message.
    assert [m.role for m in win.chat.messages()] == ["user", "assistant"] * 2
