"""Keyboard-only use of send, stop, attach and talk; the shortcuts sheet; and a screen
reader's name on every control of the window and its dialogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QDialog, QTabWidget, QWidget
from pytestqt.qtbot import QtBot

from app.ui.accessibility import controls, unnamed_controls
from app.ui.composer import Composer
from app.ui.launch import Window
from tests.gui.conftest import MakeWindow
from tests.gui.test_window import WAIT, ready, type_and_send, wait_reply

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def focused() -> QWidget | None:
    return QApplication.focusWidget()


def activate(qtbot: QtBot, widget: QWidget) -> None:
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow, timeout=WAIT)


def describe(widget: QWidget) -> str:
    chain, node = [], widget
    while node is not None:
        chain.append(f"{type(node).__name__}#{node.objectName()}")
        node = node.parentWidget()
    return " < ".join(chain[:5])


def test_send_and_stop_with_the_keyboard_alone(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window(token_delay=0.05, reply="word " * 200)
    ready(qtbot, win)
    window, composer = win.window, win.window.composer
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_L, CTRL)  # to the message box
    assert focused() is composer.edit
    qtbot.keyClicks(composer.edit, "Hello by keyboard")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)  # Tab leaves the box for Send
    assert focused() is composer.send_button
    qtbot.keyClick(composer.send_button, Qt.Key.Key_Space)
    qtbot.waitUntil(composer.stop_button.isVisible, timeout=WAIT)
    assert [m.content for m in win.chat.messages()][:1] == ["Hello by keyboard"]
    # While it answers, Tab from the box reaches Stop (Send is hidden), Space presses it.
    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)
    assert focused() is composer.stop_button
    qtbot.keyClick(composer.stop_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT)
    assert win.chat.messages()[-1].status == "stopped"


def test_attach_with_the_keyboard_alone(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = tmp_path / "red.png"
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    assert image.save(str(picture))
    asked: list[str] = []

    def choose(*_args: object, **_kwargs: object) -> tuple[list[str], str]:
        asked.append("dialog")  # the system's file dialog, answered here
        return [str(picture)], ""

    monkeypatch.setattr("app.ui.composer.QFileDialog.getOpenFileNames", choose)
    win = make_window()
    ready(qtbot, win)
    composer = win.window.composer
    activate(qtbot, win.window)
    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_A, CTRL_SHIFT)
    qtbot.waitUntil(lambda: len(composer.attachments) == 1, timeout=WAIT)
    # And the button itself: Tab from the box, past Send, to Attach; Space presses it.
    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is composer.attach_button
    qtbot.keyClick(composer.attach_button, Qt.Key.Key_Space)
    assert asked == ["dialog", "dialog"]


def test_talk_with_the_keyboard_alone(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    qtbot.waitExposed(composer)
    activate(qtbot, composer)
    toggles: list[bool] = []
    composer.voice_toggled.connect(toggles.append)
    qtbot.keyClick(composer.edit, Qt.Key.Key_T, CTRL_SHIFT)
    # A button's shortcut presses it visibly (animateClick): the toggle follows shortly.
    qtbot.waitUntil(lambda: toggles == [True], timeout=WAIT)
    assert composer.voice_button.isChecked()
    composer.voice_button.setFocus()
    qtbot.keyClick(composer.voice_button, Qt.Key.Key_Space)
    assert toggles == [True, False]
    assert composer.voice_button.accessibleName() == "Talk"
    assert "Ctrl+Shift+T" in composer.voice_button.toolTip()


def test_shortcuts_sheet_lists_the_window_keys(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    activate(qtbot, win.window)
    qtbot.keyClick(win.window, Qt.Key.Key_Slash, CTRL)
    sheets = [w for w in win.window.findChildren(QDialog) if w.objectName() == "shortcutsSheet"]
    assert len(sheets) == 1 and sheets[0].isVisible()
    listed = dict(sheets[0].shortcuts())  # type: ignore[attr-defined]
    for keys in ("Ctrl+N", "Ctrl+F", "Ctrl+L", "Ctrl+.", "Ctrl+Shift+R", "Ctrl+/", "Ctrl+Shift+A"):
        assert keys in listed, (keys, listed)
    for keys in ("Enter", "Shift+Enter", "Esc", "F2"):
        assert keys in listed
    assert listed["Ctrl+Shift+A"] == "Attach images"
    assert all(what for what in listed.values())
    sheets[0].close()


def every_window(win: Window) -> list[QWidget]:
    """The main window and each dialog it opens, with every tab visited."""
    window = win.window
    opened = [
        window.open_model_manager(),
        window.open_preferences(),
        window.open_conversation_settings(),
        window.open_voice_settings(),
        window.show_shortcuts(),
    ]
    windows: list[QWidget] = [window, *(d for d in opened if d is not None)]
    for top in windows:
        for tabs in top.findChildren(QTabWidget):
            for index in range(tabs.count()):
                tabs.setCurrentIndex(index)
                QApplication.processEvents()
    return windows


def test_every_control_has_an_accessible_name(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "Show me code")  # a reply's widgets are walked too
    wait_reply(qtbot, win)
    windows = every_window(win)
    assert len(windows) >= 4  # the window, Models, Preferences, Chat settings
    checked = 0
    for top in windows:
        found = controls(top)
        checked += len(found)
        nameless = [describe(w) for w in unnamed_controls(top)]
        assert not nameless, f"{type(top).__name__}: controls without a name: {nameless}"
    assert checked > 60
    # Names say what the control is, not what it holds.
    window = win.window
    assert window.header.models.accessibleName() == "Chat model"
    assert window.composer.edit.accessibleName() == "Message"
    assert window.sidebar.list.accessibleName() == "Conversations"
    assert window.composer.send_button.accessibleName() == "Send"
    for top in windows[1:]:
        top.close()
