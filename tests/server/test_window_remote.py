"""The window with a remote endpoint: its model in the picker, a conversation answered by
the real ``hearth serve`` process, and back to the local engine without losing anything."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import signal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.launch import Window
from tests.fakes.fake_engine import DEFAULT_REPLY
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.gui.rendered import rendered_text
from tests.gui.test_window import ready
from tests.server.conftest import API_KEY, CHAT_MODEL, ServeProcess, start_serve, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def pick_remote_model(qtbot: QtBot, win: Window, served: ServeProcess) -> None:
    """Set the endpoint in Preferences and choose its model in the picker, as a user does."""
    window = win.window
    assert window.server is not None
    dialog = window.open_preferences()
    assert dialog is not None and dialog.server_panel is not None
    panel = dialog.server_panel
    panel.remote_url.setText(served.url)
    panel.remote_key.setText(served.api_key or "")
    with qtbot.waitSignal(window.server.remote_models_listed, timeout=30_000) as listed:
        panel.check.click()
    assert CHAT_MODEL in listed.args[0]
    panel.remote_model.setCurrentText(CHAT_MODEL)
    dialog.accept()

    names = [window.header.models.itemText(i) for i in range(window.header.models.count())]
    remote_index = next(i for i, n in enumerate(names) if n.startswith(f"{CHAT_MODEL} @ "))
    assert "remote" in names[remote_index]
    with qtbot.waitSignal(win.models.model_ready, timeout=30_000) as loaded:
        window.header.models.setCurrentIndex(remote_index)
        window.header.models.activated.emit(remote_index)  # as a user's pick does
    assert loaded.args[0].backend == "remote" and win.engine.is_remote


def test_conversation_on_the_remote_endpoint_then_back_to_local(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    serve_process: ServeProcess,
) -> None:
    win = make_window()  # the local engine is the fake one: answers tell them apart
    window = win.window
    ready(qtbot, win)
    pick_remote_model(qtbot, win, serve_process)

    win.chat.update_settings({"temperature": 0.0, "max_tokens": 40})
    window.composer.edit.setPlainText("What is the capital of France?")
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=60_000)
    reply = win.chat.messages()[-1]
    # The words depend on the server's CPU: a reply that came from the model (the local
    # engine is the fake one, whose replies are fixed), shown as it came.
    assert reply.status == "complete" and reply.content.strip()
    assert reply.content != DEFAULT_REPLY and reply.stats["backend"] == "remote"
    assert 0 < reply.stats["completion_tokens"] <= 40
    body = window.chat_view.widgets[reply.id].body.toPlainText()
    assert body == rendered_text(reply.content)

    # Back to the local model: the same conversation goes on there.
    ready(qtbot, win)  # the local (fake) model again
    assert not win.engine.is_remote
    window.composer.edit.setPlainText("And of Italy?")
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=10_000)
    messages = win.chat.messages()
    assert [m.role for m in messages] == ["user", "assistant"] * 2
    assert messages[-1].status == "complete" and messages[-2].content == "And of Italy?"


def test_a_reply_cut_off_by_the_server_is_marked_so(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    tmp_path: Path,
) -> None:
    served = start_serve(tmp_path / "home", "--api-key", API_KEY)
    try:
        win = make_window()
        ready(qtbot, win)
        pick_remote_model(qtbot, win, served)
        win.chat.update_settings({"max_tokens": 2500, "seed": 3})
        win.window.composer.edit.setPlainText("Write a very long story about a dragon and a king.")
        with qtbot.waitSignal(win.chat.reply_delta, timeout=30_000):
            win.window.composer.send_button.click()
        served.process.send_signal(signal.SIGKILL)  # the server dies mid-reply
        qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)
        reply = win.chat.messages()[-1]
        assert reply.status == "error" and reply.stats["error_kind"] == "RemoteCutOffError"
        assert reply.content.strip(), "what came before the cut is kept, marked"
        footer = win.window.chat_view.widgets[reply.id].footer.text()
        assert "was cut off" in footer
    finally:
        if served.process.poll() is None:
            stop_serve(served)


def test_remote_model_without_an_endpoint_is_a_clear_message(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
) -> None:
    from app.services.model_service import REMOTE_SOURCE
    from app.services.types import ModelEntry

    win = make_window()
    entry = ModelEntry(name="big @ nowhere", kind="chat", path="big", source=REMOTE_SOURCE)
    with qtbot.waitSignal(win.models.load_failed, timeout=5_000) as failed:
        win.window.load_model(entry)
    assert "No remote endpoint is set up" in failed.args[0]
    assert "No remote endpoint" in win.window.error_banner.label.text()
