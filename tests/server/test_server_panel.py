"""The window's API-server tab: ServerService behind ServerPanel, in the settings dialog,
serving the real starter model to the official ``openai`` client."""

from __future__ import annotations

import http.client
import os
import socket

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import openai
import pytest
from pytestqt.qtbot import QtBot

from app.core.generation import Message
from app.core.settings import Settings
from app.services.server_service import ServerService, ServerSettings
from app.ui.settings_dialog import SettingsDialog
from tests.fixtures.reference import Reference
from tests.server.conftest import API_KEY, CHAT_MODEL, starter_library, starter_prompt_tokens

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_settings_tab_starts_and_stops_the_server(
    qtbot: QtBot, tmp_path: Path, reference: Reference
) -> None:
    library = starter_library(tmp_path)
    service = ServerService(library, ServerSettings(port=0, api_key=API_KEY))
    dialog = SettingsDialog(Settings(), str(tmp_path), [], server=service)
    qtbot.addWidget(dialog)
    panel = dialog.server_panel
    assert panel is not None
    try:
        # Off loopback without a key: refused, the switch falls back to off.
        panel.host.setText("0.0.0.0")
        panel.api_key.setText("")
        panel.enabled.setChecked(True)
        assert not service.running and not panel.enabled.isChecked()
        assert "without an API key" in panel.status.text()

        panel.host.setText("127.0.0.1")
        panel.api_key.setText(API_KEY)
        with qtbot.waitSignal(service.running_changed, timeout=10_000):
            service.start(ServerSettings(port=0, api_key=API_KEY))
        url = service.url
        assert url is not None and panel.status.text() == f"Serving at {url}"
        api = openai.OpenAI(base_url=url, api_key=API_KEY, max_retries=0, timeout=60)
        question: list[Message] = [{"role": "user", "content": "What is the capital of France?"}]
        reply = api.chat.completions.create(
            model=CHAT_MODEL, messages=question, max_tokens=24, temperature=0
        )
        # The words depend on the CPU: a reply from the model to the whole question.
        assert (reply.choices[0].message.content or "").strip()
        assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 24
        assert reply.usage.prompt_tokens == starter_prompt_tokens(reference, question)

        # The remote-endpoint half lists what that endpoint serves.
        panel.remote_url.setText(url)
        panel.remote_key.setText(API_KEY)
        with qtbot.waitSignal(service.remote_models_listed, timeout=10_000):
            panel.check.click()
        names = [panel.remote_model.itemText(i) for i in range(panel.remote_model.count())]
        assert names == [CHAT_MODEL]
        panel.remote_key.setText("wrong-key-xyz")
        with qtbot.waitSignal(service.remote_failed, timeout=10_000):
            panel.check.click()
        assert "refused the API key" in panel.remote_status.text()

        with qtbot.waitSignal(service.running_changed, timeout=10_000):
            panel.enabled.setChecked(True)
            panel.enabled.setChecked(False)
        assert not service.running
        with pytest.raises(openai.APIConnectionError):
            api.models.list()

        saved = dialog.apply().extra
        assert saved["remote"]["url"] == url and saved["server"]["api_key"] == API_KEY
        assert ServerSettings.from_extra(saved).remote_model == CHAT_MODEL
    finally:
        service.shutdown()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(port: int, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/v1/models", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_the_tab_edits_the_origin_and_host_allow_lists(qtbot: QtBot, tmp_path: Path) -> None:
    library = starter_library(tmp_path)
    service = ServerService(library, ServerSettings(origins="https://old.example"))
    dialog = SettingsDialog(Settings(), str(tmp_path), [], server=service)
    qtbot.addWidget(dialog)
    panel = dialog.server_panel
    assert panel is not None
    assert panel.origins.text() == "https://old.example"  # what was saved is shown
    port = _free_port()
    try:
        panel.port.setValue(port)
        panel.origins.setText("https://app.example, http://box.lan:3000")
        panel.hosts.setText("box.lan")
        with qtbot.waitSignal(service.running_changed, timeout=10_000):
            panel.enabled.setChecked(True)
        here = f"127.0.0.1:{port}"
        # A page from a listed origin gets through; any other page is refused.
        assert _status(port, {"Host": here, "Origin": "https://app.example"}) == 200
        assert _status(port, {"Host": here, "Origin": "https://old.example"}) == 403
        assert _status(port, {"Host": here, "Origin": "https://evil.example"}) == 403
        # A listed host name is answered; a rebinding name is not.
        assert _status(port, {"Host": f"box.lan:{port}"}) == 200
        assert _status(port, {"Host": f"rebind.evil.example:{port}"}) == 403
        saved = dialog.apply().extra["server"]
        assert saved["origins"] == "https://app.example, http://box.lan:3000"
        assert saved["hosts"] == "box.lan"
    finally:
        service.shutdown()
