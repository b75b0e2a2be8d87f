"""The window over the real engine with GGUF copies whose chat template loops, escapes the
sandbox, or runs away on one message: the reply comes from the built-in template and the
notice banner says which model and why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.engine.client import EngineClient
from app.services.types import ModelEntry
from tests.fixtures.templates import bad_template_copy, expected_notice
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

BUDGET_S = 5.0
WAIT_MS = 120_000


def timed_load(qtbot: QtBot, win: object, entry: ModelEntry) -> float:
    started = time.monotonic()
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT_MS):  # type: ignore[attr-defined]
        win.window.load_model(entry)  # type: ignore[attr-defined]
    return time.monotonic() - started


@pytest.mark.parametrize("kind", ["loop", "escape", "stall"])
def test_the_window_answers_with_the_builtin_template_and_says_why(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, tmp_path: Path, kind: str
) -> None:
    copy = bad_template_copy(smol_model, tmp_path, kind)
    notice = expected_notice(copy, kind)
    win = make_window(backend_factory=EngineClient)
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 8, "temperature": 0.0, "n_ctx": 512})
    banner = win.window.notice_banner

    starter = ModelEntry(name="starter", kind="chat", path=str(smol_model))
    starter_s = timed_load(qtbot, win, starter)
    assert not banner.isVisible()
    copy_s = timed_load(qtbot, win, ModelEntry(name=copy.stem, kind="chat", path=str(copy)))
    if kind == "stall":  # its template passes the trial: nothing to say yet
        assert not banner.isVisible()
    else:
        assert banner.isVisible() and banner.label.text() == notice
        assert copy_s < starter_s + BUDGET_S, (copy_s, starter_s)

    composer = win.window.composer.edit
    qtbot.keyClicks(composer, "Please stall now" if kind == "stall" else "Hi")
    sent = time.monotonic()
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    # The notice is shown (again) as soon as the prompt is ready: at most the 2 s budget.
    qtbot.waitUntil(lambda: banner.isVisible() and banner.label.text() == notice, timeout=WAIT_MS)
    shown_s = time.monotonic() - sent
    assert shown_s < BUDGET_S, shown_s
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    reply = win.chat.messages()[-1]
    assert reply.status == "complete" and reply.content.strip()
    assert reply.stats["completion_tokens"] > 0
    assert banner.isVisible() and banner.label.text() == notice
