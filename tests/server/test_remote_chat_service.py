"""A window conversation (ChatService over EngineService) answered by a remote endpoint:
the real ``hearth serve`` process on the starter model, reached by RemoteEngineClient."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from functools import partial
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.remote.client import RemoteEngineClient
from app.services.chat_service import ChatService
from app.services.engine_service import EngineService
from app.storage import ConversationStore
from tests.server.conftest import CHAT_MODEL, ServeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_a_conversation_runs_on_a_remote_endpoint(
    qtbot: QtBot, serve_process: ServeProcess, tmp_path: Path
) -> None:
    factory = partial(RemoteEngineClient, serve_process.url, serve_process.api_key)
    engine = EngineService(backend_factory=factory)  # type: ignore[arg-type]
    with qtbot.waitSignal(engine.model_loaded, timeout=30_000) as loaded:
        engine.load(CHAT_MODEL)
    assert loaded.args is not None and loaded.args[0].backend == "remote"
    with ConversationStore(tmp_path / "chats.db") as store:
        chat = ChatService(store, engine)
        chat.model_name = CHAT_MODEL
        chat.new_conversation()
        chat.update_settings({"temperature": 0.0, "max_tokens": 40})
        deltas: list[str] = []
        chat.reply_delta.connect(lambda _id, text: deltas.append(text))
        with qtbot.waitSignal(chat.reply_finished, timeout=60_000) as finished:
            assert chat.send("What is the capital of France?")
        reply = finished.args[0] if finished.args else None
        # The words depend on the server's CPU: the model's reply, streamed whole.
        assert reply is not None and reply.content.strip()
        assert reply.status == "complete"
        assert "".join(deltas) == reply.content
        assert reply.stats["backend"] == "remote"
        assert 0 < reply.stats["completion_tokens"] <= 40
        # Stop mid-reply: the server stops, the reply keeps what came.
        chat.update_settings({"temperature": 0.8, "seed": 3, "max_tokens": 2500})
        with qtbot.waitSignal(chat.reply_delta, timeout=30_000):
            assert chat.send("Write a very long story about a dragon and a king.")
        with qtbot.waitSignal(chat.reply_finished, timeout=15_000) as stopped:
            chat.stop()
        last = stopped.args[0] if stopped.args else None
        assert last is not None and last.content and last.status == "stopped"
        assert [m.role for m in chat.messages()] == ["user", "assistant"] * 2
        chat.shutdown()
    engine.shutdown()
