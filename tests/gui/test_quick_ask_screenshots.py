"""Screenshots of the quick-ask panel (light and dark) and of the tray menu, written to
assets/screenshots/: the real window's services, the real engine and starter model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.engine.client import EngineClient
from app.ui.launch import default_chat_model
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"
SHOTS = Path(os.environ.get("HEARTH_SHOTS") or ASSETS)
QUESTION = "How many days are in a leap year?"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_of_quick_ask_and_the_tray_menu(
    qtbot: QtBot,
    make_window: MakeWindow,
    smol_model: Path,
    monkeypatch: pytest.MonkeyPatch,
    theme: str,
) -> None:
    from app.context import open_app_context

    monkeypatch.setattr("app.ui.background.tray_available", lambda: True)
    paths = app_paths()
    settings = load_settings(paths)
    settings.extra["theme"] = theme
    save_settings(paths, settings)
    win = make_window(backend_factory=EngineClient)
    background = win.background
    assert background is not None and background.tray is not None
    entry = default_chat_model(open_app_context(), win.models)
    win.chat.new_conversation()
    win.chat.update_settings({"n_ctx": 1024})
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(entry)
    background.hide_to_tray()
    panel = background.show_quick_ask()
    qtbot.waitExposed(panel)
    quick = panel.service.conversation_id()
    win.store.update_conversation_settings(quick, {"max_tokens": 80, "temperature": 0.0})
    qtbot.keyClicks(panel.edit, QUESTION)
    qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not panel.service.busy, timeout=120_000)
    assert win.store.get_messages(quick)[-1].status == "complete"
    qtbot.keyClicks(panel.edit, "And in a normal year?")  # the next one being typed
    qtbot.wait(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"quick-ask-{theme}.png"
    assert panel.grab().save(str(path))
    assert path.stat().st_size > 10_000

    menu = background.tray.menu
    menu.popup(QPoint(40, 40))
    qtbot.waitExposed(menu)
    qtbot.wait(200)
    path = SHOTS / f"tray-menu-{theme}.png"
    assert menu.grab().save(str(path))
    assert path.stat().st_size > 2_000
    menu.hide()
    panel.close()
