"""The Thinking block in the real window, offscreen (fake engine: fast)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.engine import protocol as p
from app.services.chat_service import params_from_settings
from app.ui.conversation_settings import ConversationSettingsDialog
from tests.fakes.fake_engine import FakeEngineClient
from tests.fixtures.models import write_tiny_gguf
from tests.gui.conftest import MakeWindow
from tests.gui.test_window import ready, type_and_send, wait_reply
from tests.reasoning.templates import QWEN3_STYLE

WAIT = 10_000
# Long enough (one word every 50 ms) to look at the window while it thinks.
THINKING = "The user wants two plus two. " + "I add them and check the sum again. " * 6 + "Four."
ANSWER = "The answer is 4."
REPLY = f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"


class OpenedThinkingEngine(FakeEngineClient):
    """A fake engine whose prompt opened the block (as DeepSeek-R1's template does)."""

    def _emit(self, event: p.Event) -> None:
        if isinstance(event, p.PromptPrepared):
            event = replace(event, thinking_open=True)
        super()._emit(event)


def test_thinking_streams_in_its_block_and_folds_when_the_answer_starts(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window(reply=REPLY, token_delay=0.05)
    ready(qtbot, win)
    answers: list[str] = []
    thoughts: list[str] = []
    win.chat.reply_delta.connect(lambda _mid, text: answers.append(text))
    win.chat.reasoning_delta.connect(lambda _mid, text: thoughts.append(text))
    type_and_send(qtbot, win, "What is 2 + 2?")
    qtbot.waitUntil(lambda: bool(win.window.chat_view.widgets) and len(thoughts) >= 2, timeout=WAIT)
    widget = list(win.window.chat_view.widgets.values())[-1]
    # While it thinks: the block is open, counting, and the answer is still empty.
    assert widget.thinking.isVisible() and widget.thinking.expanded
    assert widget.thinking.toggle.text().startswith("Thinking")
    assert widget.body.toPlainText().strip() == ""
    wait_reply(qtbot, win)

    assert "".join(thoughts).strip() == THINKING
    assert "".join(answers).strip() == ANSWER
    reply = win.chat.messages()[-1]
    assert reply.content == ANSWER and reply.reasoning == THINKING
    assert reply.stats is not None and reply.stats["thinking_s"] > 0
    widget = win.window.chat_view.widgets[reply.id]
    assert not widget.thinking.expanded, "folded once the answer started"
    assert widget.thinking.toggle.text().startswith("Thought for ")
    assert "think" not in widget.body.toPlainText().lower()
    assert widget.body.toPlainText().strip() == ANSWER
    qtbot.mouseClick(widget.thinking.toggle, Qt.MouseButton.LeftButton)
    assert widget.thinking.expanded and widget.thinking.body.text().strip() == THINKING

    # Shown again from the database: folded, with its stored duration.
    win.chat.select(win.chat.current_id)
    widget = win.window.chat_view.widgets[reply.id]
    assert widget.thinking.isVisibleTo(widget) and not widget.thinking.expanded
    assert widget.thinking.toggle.text() == f"Thought for {reply.stats['thinking_s']:.1f} s"

    # The history sent back holds the answer as content, the thinking apart from it.
    type_and_send(qtbot, win, "And 3 + 3?")
    wait_reply(qtbot, win)
    engine: Any = win.engine.local
    sent = engine.requests[-1]
    assistant = next(m for m in sent if m["role"] == "assistant")
    assert assistant["content"] == ANSWER
    assert assistant["reasoning_content"] == THINKING


def test_a_reply_that_starts_inside_the_block(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window(
        backend_factory=lambda on_event: OpenedThinkingEngine(
            on_event=on_event, reply=f"{THINKING}\n</think>\n\n{ANSWER}"
        )
    )
    ready(qtbot, win)
    type_and_send(qtbot, win, "What is 2 + 2?")
    wait_reply(qtbot, win)
    reply = win.chat.messages()[-1]
    assert (reply.content, reply.reasoning) == (ANSWER, THINKING)


def test_a_reply_without_thinking_has_no_block(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window(reply="Just an answer.")
    ready(qtbot, win)
    type_and_send(qtbot, win, "Hi")
    wait_reply(qtbot, win)
    reply = win.chat.messages()[-1]
    assert reply.content == "Just an answer." and not reply.reasoning
    widget = win.window.chat_view.widgets[reply.id]
    assert not widget.thinking.isVisibleTo(widget)
    assert "thinking_s" not in (reply.stats or {})


def test_reasoning_switch_only_where_the_template_has_it(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    win = make_window()
    ready(qtbot, win)
    plain = win.window.open_conversation_settings()
    assert isinstance(plain, ConversationSettingsDialog) and plain.thinking is None
    plain.reject()

    model = write_tiny_gguf(tmp_path / "qwen3-style.gguf", template=QWEN3_STYLE)
    win.chat.model_loaded(str(model), "gguf")
    assert win.chat.template_reasoning.enable_thinking
    dialog = win.window.open_conversation_settings()
    assert isinstance(dialog, ConversationSettingsDialog) and dialog.thinking is not None
    assert dialog.thinking.isChecked()  # the template's default: thinking on
    dialog.thinking.setChecked(False)
    dialog.accept()
    assert win.chat.settings()["thinking"] is False
    params = params_from_settings(win.chat.settings())
    assert params.template_vars == (("enable_thinking", False),)
    # Never set: no variable at all, the template decides.
    assert params_from_settings({}).template_vars == ()
    # A built-in template does nothing with reasoning: no switch.
    win.chat.model_loaded(str(model), "builtin")
    assert not win.chat.template_reasoning.enable_thinking
