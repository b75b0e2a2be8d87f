"""The quick-ask panel over the real window and its services (fake engine: fast)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.services.quick_ask_service import QUICK_MARK
from app.ui.background import Background
from app.ui.launch import Window
from app.ui.quick_ask import QuickAskPanel
from tests.fakes.fake_engine import DEFAULT_REPLY
from tests.gui.conftest import MakeWindow
from tests.gui.rendered import rendered_text
from tests.gui.test_window import ready

WAIT = 10_000


def open_panel(qtbot: QtBot, win: Window) -> tuple[Background, QuickAskPanel]:
    background = win.background
    assert background is not None
    panel = background.show_quick_ask()
    qtbot.waitExposed(panel)
    return background, panel


def ask(qtbot: QtBot, panel: QuickAskPanel, text: str) -> None:
    panel.edit.setFocus()
    qtbot.keyClicks(panel.edit, text)
    qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not panel.service.busy, timeout=WAIT)


def test_typed_question_streams_and_is_kept_in_quick_questions(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window(token_delay=0.01)
    ready(qtbot, win)
    win.chat.new_conversation()
    before = win.chat.current_id
    _background, panel = open_panel(qtbot, win)
    assert panel.model_label.text() == "fake-model"
    deltas: list[str] = []
    panel.service.answer_delta.connect(deltas.append)
    ask(qtbot, panel, "What is a prime?")
    assert len(deltas) >= 3, "the answer streamed"
    assert panel.question.text() == "What is a prime?"
    assert panel.answer.toPlainText() == rendered_text(DEFAULT_REPLY)
    assert panel.status.text() == "Saved in Quick questions."
    assert panel.edit.text() == "" and panel.ask_button.isVisible()

    # Stored in the quick conversation; the window stayed where the user was.
    quick = panel.service.find_conversation()
    conversation = win.store.get_conversation(quick)
    assert conversation.title == "Quick questions" and conversation.settings[QUICK_MARK]
    messages = win.store.get_messages(quick)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "What is a prime?"),
        ("assistant", DEFAULT_REPLY),
    ]
    assert messages[1].status == "complete" and messages[1].model == "fake-model"
    assert win.chat.current_id == before
    titles = [
        win.window.sidebar.list.item(i).text() for i in range(win.window.sidebar.list.count())
    ]
    assert any("Quick questions" in t for t in titles), titles

    # A second question goes to the same conversation, which the model reads whole.
    ask(qtbot, panel, "And the next one?")
    assert panel.service.find_conversation() == quick
    assert len([c for c in win.store.list_conversations() if c.settings.get(QUICK_MARK)]) == 1
    assert [m.role for m in win.store.get_messages(quick)] == ["user", "assistant"] * 2
    engine = win.engine.local
    assert [m["content"] for m in engine.requests[-1]][:3] == [
        "What is a prime?",
        DEFAULT_REPLY,
        "And the next one?",
    ]

    # Esc closes the panel.
    qtbot.keyClick(panel.edit, Qt.Key.Key_Escape)
    assert not panel.isVisible()


def test_open_in_hearth_continues_in_the_window(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    background, panel = open_panel(qtbot, win)
    ask(qtbot, panel, "Remember this")
    background.hide_to_tray()
    assert not win.window.isVisible()
    panel.open_button.click()
    assert not panel.isVisible() and win.window.isVisible()
    quick = panel.service.find_conversation()
    assert win.chat.current_id == quick
    shown = [m.content for m in win.chat.messages()]
    assert shown == ["Remember this", DEFAULT_REPLY]
    assert set(win.window.chat_view.widgets) == {m.id for m in win.chat.messages()}
    # Continued there: the window's next message goes into the same conversation.
    win.window.composer.edit.setPlainText("And more")
    win.window.composer.send_button.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT)
    assert [m.content for m in win.store.get_messages(quick)][2] == "And more"


def test_window_shortcut_opens_the_panel(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    background = win.background
    assert background is not None
    assert background.quick_action in win.window.actions()
    assert background.quick_action.shortcut().toString() == "Ctrl+Shift+Space"
    win.window.activateWindow()  # a window shortcut works in the active window
    qtbot.waitUntil(win.window.isActiveWindow)
    win.window.composer.edit.setFocus()
    qtbot.keyClick(
        win.window.composer.edit,
        Qt.Key.Key_Space,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: background.panel is not None and background.panel.isVisible())


def test_without_a_model_the_panel_says_what_to_do(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    _background, panel = open_panel(qtbot, win)
    assert panel.model_label.text() == "No model loaded"
    ask(qtbot, panel, "Hello?")
    assert "No model is loaded" in panel.status.text()
    assert panel.service.find_conversation() == 0, "nothing was stored"
    assert panel.edit.text() == "Hello?", "the question stays to ask again"
