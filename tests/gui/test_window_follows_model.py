"""The window follows every model change in its engine, whoever made it.

The window's API server shares the window's engine worker; when a client of the server
asks for another model, the worker loads it, and the window's picker, header and the
model its next reply is stored under follow. Real parts: the engine process with the
starter model (and a copy of it under another name), the in-process server, real HTTP.
"""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.engine.client import EngineClient
from app.services.server_service import ServerSettings
from app.ui.launch import default_chat_model
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

API_KEY = "test-key-0123456789"


def post_chat(url: str, model: str, out: dict[str, Any]) -> None:
    """POST a one-token chat completion for ``model``; the answer (or error) into ``out``."""
    body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "Hi"}]}
    request = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            out["reply"] = json.load(response)
    except Exception as exc:  # the test reports it
        out["error"] = exc


def test_the_window_follows_a_model_its_api_server_loads(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, tmp_path: Path
) -> None:
    from app.context import open_app_context

    win = make_window(backend_factory=EngineClient)
    window, models = win.window, win.models
    first = default_chat_model(open_app_context(), models)
    assert first is not None
    win.chat.new_conversation()
    win.chat.update_settings({"n_ctx": 1024, "max_tokens": 8, "temperature": 0.0})
    with qtbot.waitSignal(models.model_ready, timeout=120_000):
        window.load_model(first)
    other = models.import_file(Path(shutil.copy(smol_model, tmp_path / "smol-twin.gguf")))
    assert other is not None and other.name != first.name
    assert models.current is not None and models.current.path == first.path

    server = window.server
    assert server is not None
    assert server.start(ServerSettings(port=0, api_key=API_KEY)), "the server did not start"
    assert server.url is not None
    answer: dict[str, Any] = {}
    client = threading.Thread(target=post_chat, args=(server.url, other.name, answer))
    with qtbot.waitSignal(models.model_ready, timeout=120_000) as followed:
        client.start()
    client.join(120)
    assert "error" not in answer, answer
    assert answer["reply"]["choices"][0]["message"]["role"] == "assistant"

    # The window now shows, and talks to, the model the server loaded.
    assert followed.args[0].path == other.path
    assert models.current is not None and models.current.path == other.path
    assert window.header.models.currentText().startswith(f"{other.name}  (")
    assert window.header.plan.text() == followed.args[0].plan
    window.composer.edit.setPlainText("Hello")
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=120_000)
    reply = win.chat.messages()[-1]
    assert reply.status == "complete" and reply.model == other.name
