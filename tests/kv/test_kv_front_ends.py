"""One worker, three front ends: the window's conversation, an API request through the
window's own server (ServerService over the window's EngineClient), then the window's
conversation again — its prefix comes back from the worker's RAM slot, so only the new
turn is evaluated. The real window, the real HTTP server, the official openai client and
the real starter model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.composition.options import kv_state_folder
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.engine.kv_files import conversation_key, key_tag, name_tag
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.kv.test_kv_cache import SYSTEM, TURNS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

API_KEY = "test-key-0123456789"
WAIT_MS = 180_000


def _tagged(folder: Path, key: str) -> list[Path]:
    return [f for f in folder.glob("*.kvs") if name_tag(f) == key_tag(key)]


def _stats(engine: EngineClient) -> dict[str, Any]:
    report = engine.stats().wait(60)
    assert isinstance(report, p.StatsReport)
    return report.stats


def test_window_then_server_then_window_evaluates_only_the_new_turn(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
) -> None:
    import openai

    from app.context import open_app_context
    from app.services.server_service import ServerSettings
    from app.ui.launch import default_chat_model

    win = make_window(backend_factory=EngineClient)
    window, chat = win.window, win.chat
    preferences = window.preferences
    assert preferences is not None
    settings = preferences.settings
    settings.kv_state_mb = 64  # saved state on (the default may change)
    preferences.save(settings)
    chat.new_conversation()
    chat.set_system_prompt(SYSTEM)
    chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048, "max_tokens": 12})
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT_MS):
        window.load_model(entry)
    for turn in TURNS[:2]:  # conversation A, typed in the window
        with qtbot.waitSignal(chat.reply_finished, timeout=WAIT_MS):
            assert chat.send(turn)
    engine = chat.engine.local
    assert isinstance(engine, EngineClient)

    server = window.server
    assert server is not None
    with qtbot.waitSignal(server.running_changed, timeout=10_000):
        assert server.start(ServerSettings(port=0, api_key=API_KEY))
    try:
        url = server.url
        assert url is not None
        api = openai.OpenAI(base_url=url, api_key=API_KEY, max_retries=0, timeout=300)
        other = [
            {
                "role": "system",
                "content": "You answer questions about a small public library. It opens at "
                "nine, lends books for three weeks and closes at six. Answer briefly.",
            },
            {"role": "user", "content": "How long may I keep a book, and when do you close?"},
        ]
        reply = api.chat.completions.create(
            model=entry.name,
            messages=other,  # type: ignore[arg-type]
            max_tokens=8,
            temperature=0,
        )
        assert reply.usage is not None and reply.usage.completion_tokens > 0
        after_api = _stats(engine)
        # The server used the window's loaded model (no reload), evaluated its own prompt
        # whole, and kept A in a RAM slot.
        assert after_api["generations"] == 3
        assert after_api["prompt_tokens_evaluated"] > 40
        assert after_api["kv_ram_slots"] == 1

        with qtbot.waitSignal(chat.reply_finished, timeout=WAIT_MS) as finished:
            assert chat.send(TURNS[2])  # A again, in the window
        message = finished.args[0]
        assert message.status == "complete"
        stats = _stats(engine)
    finally:
        server.stop()
    assert stats["kv_state_restored_from"] == "ram"
    prompt_tokens = message.stats["prompt_tokens"]
    evaluated = stats["prompt_tokens_evaluated"]
    assert prompt_tokens > 150 and evaluated < 40, (prompt_tokens, evaluated)

    # On disk: A's state, tagged with its key (the API request's is never written);
    # deleting the conversation deletes it.
    folder, key = kv_state_folder(), conversation_key(chat.current_id)
    qtbot.waitUntil(lambda: len(_tagged(folder, key)) == 1, timeout=30_000)
    assert len(list(folder.glob("*.kvs"))) == 1
    chat.delete(chat.current_id)
    qtbot.waitUntil(lambda: not _tagged(folder, key), timeout=60_000)
