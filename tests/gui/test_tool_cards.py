"""Tools in the window, over the real engine and the real starter model forced to call:
the card of each call (collapsed, then opened), Allow and Deny, Stop while a prompt
waits, the Tools page of Preferences, and screenshots light and dark."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QTabWidget
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.engine.client import EngineClient
from app.services.tool_service import registry_for
from app.ui.launch import Window, default_chat_model
from app.ui.tool_card import ToolCard, card_title
from app.ui.tools_settings import ToolsSettingsPanel
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

# Screenshots to look at: $HEARTH_SHOTS, else a folder in the temporary directory.
SHOTS = Path(os.environ.get("HEARTH_SHOTS") or Path(tempfile.gettempdir()) / "hearth-shots")
WAIT_MS = 300_000  # a reply, with its tool rounds, on a loaded 2-core machine


def choose_tools(
    enabled: list[str],
    permissions: dict[str, str] | None = None,
    folders: list[str] | None = None,
    theme: str | None = None,
) -> None:
    """The user's choices in the real settings file, as Preferences saves them."""
    paths = app_paths()
    settings = load_settings(paths)
    registry = registry_for(settings)
    for name in enabled:
        registry.set_enabled(name, True)
    for name, permission in (permissions or {}).items():
        registry.set_permission(name, permission)  # type: ignore[arg-type]
    registry.settings.folders = folders or []
    registry.save_to(settings)
    if theme:
        settings.extra["theme"] = theme
    save_settings(paths, settings)


def loaded_window(qtbot: QtBot, make_window: MakeWindow, choice: str) -> Window:
    from app.context import open_app_context

    win = make_window(backend_factory=EngineClient)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 40, "temperature": 0.0, "n_ctx": 2048})
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT_MS):
        win.window.load_model(entry)
    win.chat.tools.choice = choice
    win.window.resize(1000, 720)
    return win


def cards_of(win: Window, message_id: int) -> list[ToolCard]:
    widget = win.window.chat_view.widgets[message_id]
    return list(widget.tools.cards.values())


def test_what_time_is_it_shows_a_card_and_the_answer(qtbot: QtBot, make_window: MakeWindow) -> None:
    choose_tools(["current_datetime"])
    win = loaded_window(qtbot, make_window, "required")
    assert win.chat.send("What time is it?")
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    reply = win.chat.messages()[-1]
    assert reply.status == "complete", reply.stats
    [record] = reply.tools or []
    assert (record["name"], record["ok"], record["status"]) == (
        "current_datetime",
        True,
        "complete",
    )
    assert record["result"].startswith(datetime.now().strftime("%Y-%m-%d"))
    # Only the answer is the reply's text: the forced call's JSON never showed.
    assert reply.content.strip() and not reply.content.lstrip().startswith("{")
    [card] = cards_of(win, reply.id)
    assert not card.expanded and not card.details.isVisible()
    assert card.toggle.text() == card_title(record)
    assert card.toggle.text().startswith("current_datetime · done · ")
    assert not (card.allow.isVisible() or card.deny.isVisible() or card.stop.isVisible())
    card.toggle.click()
    assert card.expanded and card.details.isVisible()
    assert record["result"] in card.result.text()
    # The next reply reads the call and its result before the answer.
    history = win.chat.history()
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[1]["tool_calls"][0]["id"] == history[2]["tool_call_id"] == record["id"]
    assert history[2]["content"] == record["result"]
    assert history[3]["content"] == reply.content
    # The card comes back from the database too.
    win.chat.select(win.chat.current_id)
    [again] = cards_of(win, reply.id)
    assert again.record["result"] == record["result"]


def wait_asking(qtbot: QtBot, win: Window) -> ToolCard:
    holder: list[ToolCard] = []

    def asking() -> bool:
        message_id = win.chat.messages()[-1].id
        cards = cards_of(win, message_id) if message_id in win.window.chat_view.widgets else []
        holder[:] = [c for c in cards if c.status == "asking"]
        return bool(holder)

    qtbot.waitUntil(asking, timeout=WAIT_MS)
    return holder[0]


def test_a_call_that_asks_waits_and_deny_refuses_it(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    (tmp_path / "note.txt").write_text("the key is under the mat", encoding="utf-8")
    choose_tools(["read_file"], folders=[str(tmp_path)])
    win = loaded_window(qtbot, make_window, "read_file")
    assert win.chat.send("Read note.txt")
    card = wait_asking(qtbot, win)
    assert card.allow.isVisible() and card.deny.isVisible()
    qtbot.wait(300)  # unanswered a while: nothing runs meanwhile
    assert card.status == "asking" and "result" not in card.record and win.chat.busy
    card.deny.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    [record] = win.chat.messages()[-1].tools or []
    assert record["status"] == "refused" and "did not allow" in record["result"]
    assert "under the mat" not in record["result"]

    assert win.chat.send("Read note.txt again")
    card = wait_asking(qtbot, win)
    card.allow.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    [record] = win.chat.messages()[-1].tools or []
    # The model chose the path: it was read inside the folder, or refused by the rules.
    assert record["status"] in ("complete", "error") and "did not allow" not in record["result"]


def test_stop_while_a_prompt_waits_runs_nothing(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    choose_tools(["read_file"], folders=[str(tmp_path)])
    win = loaded_window(qtbot, make_window, "read_file")
    assert win.chat.send("Read note.txt")
    wait_asking(qtbot, win)
    win.chat.stop()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    reply = win.chat.messages()[-1]
    assert reply.status == "stopped"
    [record] = reply.tools or []
    assert record["status"] == "refused" and "did not allow" in record["result"]


def test_a_prompt_nobody_answers_in_its_time_limit_is_refused(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    choose_tools(["read_file"], folders=[str(tmp_path)])
    win = loaded_window(qtbot, make_window, "read_file")
    win.chat.tools.ask_timeout_s = 0.5  # as voice sets it: no one may be at the screen
    # The prompt lasts half a second: on a loaded machine the window may get to its card
    # only after it was refused, so what the service said is recorded rather than polled.
    statuses: list[str] = []
    win.chat.tools.tools_changed.connect(
        lambda _id, records: statuses.extend(str(r.get("status")) for r in records)
    )
    assert win.chat.send("Read note.txt")
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    assert "asking" in statuses  # it asked first, then nobody answered
    reply = win.chat.messages()[-1]
    assert reply.status == "complete"
    [record] = reply.tools or []
    assert record["status"] == "refused" and "did not allow" in record["result"]
    [card] = cards_of(win, reply.id)
    assert card.status == "refused" and not card.allow.isVisible()


def test_an_mcp_servers_tool_asks_on_its_card_and_runs_when_allowed(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    """The real test MCP server (stdio, the official SDK) from the user's mcp.json."""
    server = Path(__file__).parents[1] / "tools" / "mcp_servers" / "working.py"
    paths = app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    config = {"mcpServers": {"testsrv": {"command": sys.executable, "args": [str(server)]}}}
    (paths.config_dir / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    choose_tools([])
    win = loaded_window(qtbot, make_window, "testsrv__add")
    qtbot.waitUntil(lambda: bool(win.chat.tools.mcp_tools()), timeout=60_000)
    # Its tools are listed on the Tools page, off until enabled, asking by default.
    dialog = win.window.open_preferences()
    assert dialog is not None
    panel = dialog.tools_panel  # type: ignore[attr-defined]
    assert not panel.enabled["testsrv__add"].isChecked()
    assert panel.permissions["testsrv__add"].currentData() == "ask"
    panel.enabled["testsrv__add"].setChecked(True)
    dialog.accept()
    assert win.chat.send("What is 2 plus 3?")
    card = wait_asking(qtbot, win)
    card.allow.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    [record] = win.chat.messages()[-1].tools or []
    assert record["status"] == "complete", record
    arguments = record["arguments"]
    assert record["result"] == str(arguments["a"] + arguments["b"])
    win.chat.tools.shutdown()


def test_the_tools_page_saves_enable_permission_and_folders(qtbot: QtBot, tmp_path: Path) -> None:
    settings = load_settings(app_paths())
    panel = ToolsSettingsPanel(settings)
    qtbot.addWidget(panel)
    assert not any(check.isChecked() for check in panel.enabled.values())
    assert panel.permissions["read_file"].currentData() == "ask"
    panel.enabled["calculator"].setChecked(True)
    panel.permissions["read_file"].setCurrentIndex(2)  # Never
    panel.add_folder(str(tmp_path))
    panel.add_folder(str(tmp_path))  # once only
    panel.apply(settings)
    save_settings(app_paths(), settings)
    again = registry_for(load_settings(app_paths()))
    assert again.is_enabled("calculator") and not again.is_enabled("read_file")
    assert again.permission("read_file") == "never"
    assert again.settings.folders == [str(tmp_path)]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_of_a_conversation_with_tool_cards(
    qtbot: QtBot, make_window: MakeWindow, theme: str
) -> None:
    choose_tools(["current_datetime", "calculator"], theme=theme)
    win = loaded_window(qtbot, make_window, "required")
    win.chat.tools.choice = "current_datetime"
    assert win.chat.send("What time is it?")
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    win.chat.tools.choice = "calculator"
    assert win.chat.send("What is 17 times 23?")
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    replies = [m for m in win.chat.messages() if m.role == "assistant"]
    assert [len(m.tools or []) for m in replies] == [1, 1]
    cards: list[Any] = cards_of(win, replies[-1].id)
    cards[0].toggle.click()  # one opened, one left collapsed
    qtbot.wait(200)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"tool-cards-{theme}.png"
    assert win.window.grab().save(str(path))
    assert path.stat().st_size > 10_000
    # Preferences, Tools tab: the two enabled tools checked, each with its permission.
    dialog = win.window.open_preferences()
    assert dialog is not None
    panel = dialog.tools_panel  # type: ignore[attr-defined]
    assert panel is not None and panel.enabled["calculator"].isChecked()
    tabs = panel.parentWidget()
    while tabs is not None and not isinstance(tabs, QTabWidget):
        tabs = tabs.parentWidget()
    assert tabs is not None
    tabs.setCurrentWidget(panel)
    dialog.resize(760, 520)
    qtbot.wait(200)
    assert dialog.grab().save(str(SHOTS / f"tools-settings-{theme}.png"))
    dialog.close()
