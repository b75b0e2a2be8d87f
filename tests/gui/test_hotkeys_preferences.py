"""Preferences: picking the global keys. One key for both actions is refused as it is
typed; the keys are saved, off by default; where the desktop offers no way to get global
keys, the window says so in one sentence and names what works instead."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings
from app.services.global_keys import PUSH_TO_TALK, QUICK_ASK
from app.ui.settings_dialog import SettingsDialog
from tests.gui.conftest import MakeWindow


def test_keys_are_picked_saved_and_a_desktop_without_global_keys_is_said(
    qtbot: QtBot, make_window: MakeWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No session bus and no X11 display: no backend can work here.
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    win = make_window()
    window = win.window
    dialog = window.open_preferences()
    assert isinstance(dialog, SettingsDialog)
    fields = dialog.hotkeys
    # Off by default, and said so.
    assert fields.values() == {PUSH_TO_TALK: "", QUICK_ASK: ""}
    assert fields.status.text() == "No global keys are set."
    for edit in (fields.talk, fields.quick):
        assert edit.accessibleName() and edit.toolTip()
    assert fields.status.accessibleName() and fields.status.toolTip()

    fields.talk.setKeySequence(QKeySequence("Ctrl+Alt+T"))
    fields.quick.setKeySequence(QKeySequence("Ctrl+Alt+T"))  # the same key: refused
    assert fields.values() == {PUSH_TO_TALK: "Ctrl+Alt+T", QUICK_ASK: ""}
    assert fields.status.text() == (
        "Ctrl+Alt+T is already the other global key; give each its own key."
    )
    fields.quick.setKeySequence(QKeySequence("Ctrl+Shift+Space"))
    dialog.accept()
    saved = load_settings(app_paths()).extra["hotkeys"]
    assert saved == {PUSH_TO_TALK: "Ctrl+Alt+T", QUICK_ASK: "Ctrl+Shift+Space"}

    sentence = (
        "Global keys are not available on this desktop (no shortcuts portal and no X11 "
        "display); Hearth's own shortcuts work while its window is active, such as "
        "Ctrl+Shift+Space for quick ask."
    )
    qtbot.waitUntil(lambda: window.error_banner.label.text() == sentence, timeout=20_000)
    assert window.error_banner.isVisible()
    again = window.open_preferences()
    assert isinstance(again, SettingsDialog)
    assert again.hotkeys.status.text() == sentence  # Preferences shows it too
    again.reject()
