"""The MCP servers page of Preferences on real servers: paste a configuration, test off
the GUI thread (running with its tools; failed with the server's error output), add,
refuse, remove; and the page's tab in the settings dialog."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.errors import ConfigError
from app.core.settings import Settings
from app.ui.mcp_settings import AddServerDialog, McpSettingsPanel, PasteConfigDialog

SERVERS = Path(__file__).parent / "mcp_servers"
PASTED = json.dumps(
    {
        "mcpServers": {
            "calc": {"command": sys.executable, "args": [str(SERVERS / "working.py")]},
            "weather": {"command": sys.executable, "args": [str(SERVERS / "crash_at_start.py")]},
            "cloud": {"url": "https://mcp.example.com/mcp"},
        }
    }
)


@pytest.fixture
def panel(qtbot: QtBot, tmp_path: Path) -> Iterator[McpSettingsPanel]:
    page = McpSettingsPanel(tmp_path / "mcp.json")
    qtbot.addWidget(page)
    yield page
    page.manager.close()


def test_paste_then_test_each_server(qtbot: QtBot, panel: McpSettingsPanel) -> None:
    assert panel.servers.topLevelItemCount() == 0
    assert panel.paste_config(PASTED) == ["calc", "weather"]
    assert "mcp.example.com is not this machine" in panel.problems.text()
    assert panel.state_of("calc") == "Stopped" and panel.state_of("weather") == "Stopped"
    assert "press Test" in panel.details.toPlainText()

    panel.select("calc")
    with qtbot.waitSignal(panel.tested, timeout=30_000) as tested:
        panel.test_button.click()
        # The click returned before the server answered: the test runs off the GUI thread.
        assert panel.state_of("calc") == "Testing…"
        assert not panel.test_button.isEnabled()
    assert tested.args == ["calc"]
    assert panel.state_of("calc") == "Running · 3 tools"
    details = panel.details.toPlainText()
    assert "calc__add — Add two whole numbers." in details

    panel.select("weather")
    with qtbot.waitSignal(panel.tested, timeout=30_000):
        panel.test_button.click()
    assert panel.state_of("weather") == "Failed"
    details = panel.details.toPlainText()
    assert "stopped before it answered" in details
    assert "error: WEATHER_API_KEY is not set" in details
    assert panel.state_of("calc") == "Running · 3 tools"  # the other one is untouched


def test_add_refuse_and_remove(qtbot: QtBot, panel: McpSettingsPanel) -> None:
    dialog = AddServerDialog(panel)
    qtbot.addWidget(dialog)
    dialog.name.setText("remote")
    dialog.target.setText("http://192.168.1.9:8000/mcp")
    dialog.save()
    assert "192.168.1.9 is not this machine" in dialog.error.text()
    dialog.name.setText("echo")
    dialog.target.setText(f'"{sys.executable}" "{SERVERS / "working.py"}"')
    dialog.env.setPlainText("GREETING=hello world\n")
    dialog.save()
    assert dialog.result() == AddServerDialog.DialogCode.Accepted
    saved = json.loads(panel.path.read_text())["mcpServers"]["echo"]
    assert saved == {
        "command": sys.executable,
        "args": [str(SERVERS / "working.py")],
        "env": {"GREETING": "hello world"},
    }
    assert panel.selected() == "echo" and panel.state_of("echo") == "Stopped"
    with pytest.raises(ConfigError, match="already in"):
        panel.add_from_fields("echo", "other-program")
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        panel.add_from_fields("two", "prog", "JUSTTEXT")

    paste = PasteConfigDialog(panel)
    qtbot.addWidget(paste)
    paste.text.setPlainText('{"mcpServers": {"x": {"command": "a",}}}')
    paste.save()
    assert "is not valid JSON" in paste.error.text()

    panel.remove_selected()
    assert panel.servers.topLevelItemCount() == 0
    assert json.loads(panel.path.read_text())["mcpServers"] == {}


def test_the_settings_dialog_has_an_mcp_tab(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QTabWidget

    from app.catalog.library import Library
    from app.services.server_service import ServerService
    from app.ui.settings_dialog import SettingsDialog

    config = tmp_path / "mcp.json"
    config.write_text(PASTED)
    service = ServerService(Library(tmp_path / "library.json", [tmp_path / "models"]))
    dialog = SettingsDialog(Settings(), str(tmp_path), [], server=service, mcp_config=config)
    qtbot.addWidget(dialog)
    tabs = dialog.findChild(QTabWidget)
    assert tabs is not None
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert "MCP servers" in titles
    assert dialog.mcp_panel is not None
    assert dialog.mcp_panel.manager.names() == ["calc", "weather"]
    dialog.reject()  # stops the page's servers in the background


def test_the_settings_dialog_shares_the_windows_running_manager(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Test on the page uses the window's own servers (no second copy of a server), and
    closing Preferences leaves them running for the conversation."""
    from app.catalog.library import Library
    from app.services.server_service import ServerService
    from app.tools.mcp.config import load_config
    from app.tools.mcp.manager import McpManager
    from app.ui.settings_dialog import SettingsDialog

    config = tmp_path / "mcp.json"
    config.write_text(PASTED)
    running = McpManager(load_config(config).servers)
    try:
        service = ServerService(Library(tmp_path / "library.json", [tmp_path / "models"]))
        dialog = SettingsDialog(
            Settings(), str(tmp_path), [], server=service, mcp_config=config, mcp_manager=running
        )
        qtbot.addWidget(dialog)
        assert dialog.mcp_panel is not None
        assert dialog.mcp_panel.manager is running
        dialog.reject()
        assert [t.name for t in running.list_tools("calc")][:1] == ["add"]
    finally:
        running.close()
