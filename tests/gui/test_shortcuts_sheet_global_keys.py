"""The shortcuts sheet (Ctrl+/) lists the global keys set in Preferences (fast: nothing is
bound with the desktop here; binding through a portal stand-in and a real X11 grab is in
tests/gui/test_hotkeys_portal.py and test_hotkeys_x11.py)."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.global_keys import GlobalKeys
from app.ui.shortcuts_sheet import ShortcutsSheet
from tests.gui.conftest import MakeWindow

SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw
TALK = "Hold to talk, in any application (global key)"
QUICK = "Quick ask, in any application (global key)"


def test_global_keys_are_listed_when_set_and_marked_until_bound(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window()
    window = win.window
    preferences = window.preferences
    keys = window.findChild(GlobalKeys)
    assert preferences is not None and keys is not None

    sheet = window.show_shortcuts()
    assert isinstance(sheet, ShortcutsSheet)
    listed = [what for _keys, what in sheet.shortcuts()]
    assert not any("global key" in what for what in listed)  # none set: none listed
    sheet.close()

    preferences.settings.extra["hotkeys"] = {"push_to_talk": "Ctrl+Alt+T", "quick_ask": "Meta+Q"}
    sheet = window.show_shortcuts()
    assert isinstance(sheet, ShortcutsSheet)
    rows = dict(sheet.shortcuts())
    assert "not working yet" in rows["Ctrl+Alt+T"] and TALK in rows["Ctrl+Alt+T"]
    assert QUICK in rows["Meta+Q"]
    sheet.close()

    # Bound: as the desktop shows the trigger, without the mark.
    keys.service.bound = {"push_to_talk": "Ctrl+Alt+T", "quick_ask": "Logo+Q"}
    sheet = window.show_shortcuts()
    assert isinstance(sheet, ShortcutsSheet)
    rows = dict(sheet.shortcuts())
    assert rows["Ctrl+Alt+T"] == TALK and rows["Logo+Q"] == QUICK
    # Even with the same keys as the window's own quick ask, the global one is listed.
    preferences.settings.extra["hotkeys"] = {"quick_ask": "Ctrl+Shift+Space"}
    keys.service.bound = {"quick_ask": "Ctrl+Shift+Space"}
    sheet.close()
    sheet = window.show_shortcuts()
    assert isinstance(sheet, ShortcutsSheet)
    assert ("Ctrl+Shift+Space", QUICK) in sheet.shortcuts()
    if SHOTS:
        qtbot.waitExposed(sheet)
        sheet.grab().save(str(Path(SHOTS) / "shortcuts-global-keys.png"))
    sheet.close()
