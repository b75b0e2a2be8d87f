"""Quick ask over the real engine process and the starter model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.launch import default_chat_model
from tests.fixtures.reference import RecordingEngineClient, Reference
from tests.gui.conftest import MakeWindow
from tests.gui.rendered import rendered_text

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"


def test_typed_quick_question_is_answered_by_the_window_engine_and_stored(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, reference: Reference
) -> None:
    from app.context import open_app_context

    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make_window(backend_factory=recording_engine)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    win.chat.new_conversation()
    win.chat.update_settings({"n_ctx": 1024})
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(entry)
    window_conversation = win.chat.current_id
    win.window.hide()  # asked from the tray or the hotkey: the window is not there
    assert win.background is not None
    panel = win.background.show_quick_ask()
    qtbot.waitExposed(panel)
    quick = panel.service.conversation_id()
    win.store.update_conversation_settings(quick, {"max_tokens": 40, "temperature": 0.0})

    qtbot.keyClicks(panel.edit, QUESTION)
    qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not panel.service.busy, timeout=120_000)

    user, reply = win.store.get_messages(quick)
    assert (user.role, user.content) == ("user", QUESTION)
    assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()
    assert reply.model == entry.name and reply.stats["tokens_per_s"] > 0
    # One engine, the window's: the quick question went to it, and its answer is
    # llama-cpp-python's own for that request (the words depend on the CPU).
    (engine,) = engines
    sent = engine.generations[-1]
    assert sent.messages[-1] == {"role": "user", "content": QUESTION}
    assert (sent.params.max_tokens, sent.params.temperature) == (40, 0.0)
    expected = reference.answer(engine.loads[-1], sent.messages, sent.params)
    assert reply.content == expected.text
    assert panel.answer.toPlainText() == rendered_text(reply.content)
    assert win.chat.current_id == window_conversation


def test_a_tool_call_asks_in_the_panel_and_deny_refuses_it(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, tmp_path: Path
) -> None:
    from app.context import open_app_context
    from app.engine.client import EngineClient
    from tests.gui.test_tool_cards import choose_tools

    (tmp_path / "note.txt").write_text("the key is under the mat", encoding="utf-8")
    choose_tools(["read_file"], folders=[str(tmp_path)])
    win = make_window(backend_factory=EngineClient)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    win.chat.new_conversation()
    win.chat.update_settings({"n_ctx": 2048})
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(entry)
    assert win.background is not None
    panel = win.background.show_quick_ask()
    qtbot.waitExposed(panel)
    service = panel.service
    quick = service.conversation_id()
    win.store.update_conversation_settings(quick, {"max_tokens": 40, "temperature": 0.0})
    service.chat.tools.choice = "read_file"  # the starter model is made to call it

    qtbot.keyClicks(panel.edit, "Read note.txt")
    qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(panel.permission.isVisible, timeout=120_000)
    assert "read_file" in panel.permission_text.text()
    qtbot.wait(300)  # unanswered a while: nothing runs meanwhile
    assert service.busy and panel.stop_button.isVisible()
    panel.deny_button.click()
    qtbot.waitUntil(lambda: not service.busy, timeout=120_000)
    assert not panel.permission.isVisible()
    reply = win.store.get_messages(quick)[-1]
    [record] = reply.tools or []
    assert record["status"] == "refused" and "did not allow" in record["result"]
    assert "under the mat" not in record["result"]
