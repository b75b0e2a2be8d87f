"""The window over the real engine process and the real starter model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.catalog.starter import STARTER_CHAT_NAME
from app.engine.client import EngineClient
from app.ui.launch import default_chat_model
from tests.fixtures.reference import RecordingEngineClient, Reference
from tests.gui.conftest import MakeWindow
from tests.gui.rendered import rendered_text

pytestmark = pytest.mark.slow


def test_real_model_answers_in_the_window(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, reference: Reference
) -> None:
    from app.context import open_app_context

    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make_window(backend_factory=recording_engine)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None and entry.name == STARTER_CHAT_NAME
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 40, "temperature": 0.0, "n_ctx": 1024})
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(entry)
    assert "CPU only" in win.window.header.plan.text()
    composer = win.window.composer.edit
    qtbot.keyClicks(composer, "What is the capital of France?")
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=120_000)
    reply = win.chat.messages()[-1]
    assert reply.status == "complete" and reply.content.strip()
    assert reply.model == STARTER_CHAT_NAME and reply.stats["tokens_per_s"] > 0
    # The words depend on the CPU. The window's settings reached the engine, and its reply
    # is llama-cpp-python's own for that request (the first after a load: a fresh context).
    (engine,) = engines
    sent = engine.generations[-1]
    assert sent.messages[-1] == {"role": "user", "content": "What is the capital of France?"}
    assert (sent.params.max_tokens, sent.params.temperature) == (40, 0.0)
    assert engine.loads[-1].n_ctx == 1024
    expected = reference.answer(engine.loads[-1], sent.messages, sent.params)
    assert reply.content == expected.text
    assert reply.stats["prompt_tokens"] == expected.prompt_tokens
    widget = win.window.chat_view.widgets[reply.id]
    assert widget.body.toPlainText() == rendered_text(reply.content)
    assert "tok/s" in widget.footer.text()


def test_a_model_that_fails_to_load_is_shown_and_the_window_keeps_working(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, tmp_path: Path
) -> None:
    from app.services.types import ModelEntry
    from tests.fixtures.models import write_truncated

    broken = write_truncated(smol_model, tmp_path / "broken-download.gguf")
    win = make_window(backend_factory=EngineClient)
    entry = ModelEntry(name="broken-download", kind="chat", path=str(broken))
    with qtbot.waitSignal(win.models.load_failed, timeout=120_000):
        win.window.load_model(entry)
    banner = win.window.error_banner
    assert banner.isVisible() and "truncated" in banner.label.text()
    assert win.window.header.plan.text() == "No model loaded"
    good = ModelEntry(name="starter", kind="chat", path=str(smol_model))
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(good)


def test_window_geometry_is_remembered(qtbot: QtBot, make_window: MakeWindow) -> None:
    first = make_window()
    first.window.resize(first.window.width(), 700)  # the default height is 760
    size = first.window.size()
    first.window.close()
    second = make_window()
    # The offscreen screen is narrower than the window, so Qt clamps the restored width;
    # the height comes back exactly.
    assert second.window.size().height() == size.height() == 700
