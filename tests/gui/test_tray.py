"""The tray and background mode around the real window (fake engine: fast).

The offscreen platform has no tray, so these tests say there is one
(``app.ui.background.tray_available``); the icon, its menu and its actions are the real
Qt objects, triggered as a click in the menu would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.catalog.downloads import DownloadProgress, DownloadState
from app.core.paths import app_paths
from app.core.settings import load_settings
from app.docs.indexer import IndexReport
from app.ui.background import Background
from app.ui.launch import Window
from app.ui.tray import HearthTray
from tests.gui.conftest import MakeWindow
from tests.gui.test_window import ready

WAIT = 10_000
SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw


@pytest.fixture
def with_tray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr("app.ui.background.tray_available", lambda: True)
    yield
    QApplication.setQuitOnLastWindowClosed(True)


def parts(win: Window) -> tuple[Background, HearthTray]:
    background = win.background
    assert background is not None and background.tray is not None
    return background, background.tray


def set_close_to_tray(win: Window, value: bool) -> None:
    preferences = win.window.preferences
    assert preferences is not None
    settings = preferences.settings
    settings.extra["tray"] = {"close_to_tray": value}
    preferences.save(settings)


def test_without_a_tray_the_window_closes_as_before(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    assert win.background is not None and win.background.tray is None
    assert win.window.close()
    assert not win.window.isVisible() and win.background.question is None


def test_tray_menu_follows_the_model_and_its_actions_work(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None
) -> None:
    win = make_window()
    background, tray = parts(win)
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts == [
        "No model loaded",
        "Voice conversation",
        "Listen for “Hey Hearth”",
        "Quick ask…",
        "Open Hearth",
        "Quit Hearth",
    ]
    assert not tray.model_action.isEnabled()
    ready(qtbot, win)
    assert tray.model_action.text() == "fake-model"
    assert "fake-model" in tray.icon.toolTip()

    set_close_to_tray(win, True)
    assert not win.window.close()  # hidden, not closed
    assert not win.window.isVisible() and not QApplication.quitOnLastWindowClosed()
    tray.open_action.trigger()
    assert win.window.isVisible() and QApplication.quitOnLastWindowClosed()

    tray.quick_action.trigger()
    panel = background.panel
    assert panel is not None
    qtbot.waitExposed(panel)
    assert panel.isVisible() and "No model" not in panel.model_label.text()
    panel.close()

    # Quit from the tray while the window is hidden: it closes for real all the same.
    background.hide_to_tray()
    shut: list[bool] = []
    real_shutdown = win.chat.shutdown
    win.chat.shutdown = lambda: (shut.append(True), real_shutdown())  # type: ignore[method-assign]
    tray.quit_action.trigger()
    assert background.quitting and not win.window.isVisible()
    assert shut == [True], "the window's close event ran (its services stopped)"
    # The window closed for real: its close saved the geometry, the icon went away.
    assert QSettings().value("window/geometry") is not None
    assert not tray.icon.isVisible()


def test_voice_action_turns_voice_on_and_follows_its_state(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None
) -> None:
    win = make_window()
    _background, tray = parts(win)
    voice = win.window.voice
    assert voice is not None and tray.voice_action.isVisible()
    asked: list[bool] = []
    win.window.set_voice_mode = asked.append  # type: ignore[method-assign]
    tray.voice_action.trigger()
    assert asked == [True]
    # Voice did not start (it was not really asked to): the action shows it off.
    assert not tray.voice_action.isChecked()
    voice.state_changed.emit("listening")
    assert tray.voice_action.isChecked()
    voice.state_changed.emit("off")
    assert not tray.voice_action.isChecked()


def saved_voice(win: Window) -> dict[str, object]:
    group = load_settings(app_paths()).extra.get("voice")
    return dict(group) if isinstance(group, dict) else {}


def test_listen_for_hey_hearth_saves_the_wake_word_and_starts_voice_with_it(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None
) -> None:
    win = make_window()
    background, tray = parts(win)
    voice = win.window.voice
    assert voice is not None and tray.wake_action.isVisible()
    assert not tray.wake_action.isChecked()
    assert tray.wake_action.toolTip()
    asked: list[bool] = []
    win.window.set_voice_mode = asked.append  # type: ignore[method-assign]
    tray.wake_action.trigger()
    assert asked == [True]
    assert saved_voice(win)["wake_word"] is True and saved_voice(win)["push_to_talk"] is False
    assert voice.settings()["wake_word"] is True
    assert win.window.voice_bar.wake_word
    # Not started for real here: the check shows what runs, not what was asked.
    assert not tray.wake_action.isChecked()
    voice._set_state("listening")
    assert tray.wake_action.isChecked() and background.wake_listening()
    if SHOTS:
        tray.menu.popup(QPoint(20, 20))
        qtbot.waitExposed(tray.menu)
        tray.menu.grab().save(str(Path(SHOTS) / "tray-menu-wake.png"))
        tray.menu.hide()
    assert win.window.voice_bar.state_label.text() == "Asleep — say “Hey Hearth”"

    tray.wake_action.trigger()  # off: the setting is saved off and voice ends
    assert asked == [True, False]
    assert saved_voice(win)["wake_word"] is False
    voice._set_state("off")
    assert not tray.wake_action.isChecked() and asked == [True, False]


def test_listen_for_hey_hearth_while_voice_runs_without_it_starts_voice_again(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None
) -> None:
    win = make_window()
    _background, tray = parts(win)
    voice = win.window.voice
    assert voice is not None
    asked: list[bool] = []
    win.window.set_voice_mode = asked.append  # type: ignore[method-assign]
    voice._set_state("listening")  # voice runs, every utterance answered
    assert tray.voice_action.isChecked() and not tray.wake_action.isChecked()
    tray.wake_action.trigger()
    assert asked == [False]  # stopped first: the loop reads the wake word when it starts
    voice._set_state("off")
    assert asked == [False, True]  # ... and started again once it has stopped
    voice._set_state("listening")
    assert tray.wake_action.isChecked()


def test_voice_without_a_model_is_refused_with_a_message_from_the_tray(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None
) -> None:
    win = make_window()
    background, tray = parts(win)
    background.hide_to_tray()
    with qtbot.waitSignal(tray.notified, timeout=WAIT) as shown:
        tray.voice_action.trigger()
    assert "No model is loaded" in shown.args[1]
    assert not tray.voice_action.isChecked()
    assert win.window.voice is not None and win.window.voice.state == "off"


@pytest.mark.parametrize(("answer", "kept"), [("keep", True), ("quit", False)])
def test_first_close_asks_once_and_keeps_the_answer(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None, answer: str, kept: bool
) -> None:
    win = make_window()
    background, _tray = parts(win)
    assert not win.window.close()  # the question comes first
    box = background.question
    assert isinstance(box, QMessageBox)
    qtbot.waitExposed(box)
    assert "tray" in box.text()
    (background.keep_button if kept else background.quit_button).click()
    qtbot.waitUntil(lambda: background.question is None, timeout=WAIT)
    saved = load_settings(app_paths()).extra["tray"]
    assert saved["close_to_tray"] is kept
    assert not win.window.isVisible()
    assert QApplication.quitOnLastWindowClosed() is not kept
    if kept:
        # Asked once: the next close hides the window without a question.
        background.show_window()
        assert not win.window.close()
        assert background.question is None and not win.window.isVisible()


def test_cancelling_the_question_keeps_the_window_and_decides_nothing(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None
) -> None:
    win = make_window()
    background, _tray = parts(win)
    assert not win.window.close()
    box = background.question
    assert box is not None
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: background.question is None, timeout=WAIT)
    assert win.window.isVisible()
    assert "tray" not in load_settings(app_paths()).extra


def test_preferences_keep_the_tray_choice_and_start_at_login(
    qtbot: QtBot,
    make_window: MakeWindow,
    with_tray: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    entry = tmp_path / "config" / "autostart" / "hearth.desktop"
    win = make_window()
    dialog = win.window.open_preferences()
    assert dialog is not None
    assert not dialog.close_to_tray.isChecked() and not dialog.start_at_login.isChecked()
    assert dialog.close_to_tray.accessibleName() or dialog.close_to_tray.text()
    dialog.start_at_login.setChecked(True)
    dialog.accept()
    saved = load_settings(app_paths()).extra["tray"]
    # Start at login on; keeping to the tray still to be asked at the first close.
    assert saved == {"start_at_login": True}
    assert "--background" in entry.read_text(encoding="utf-8")

    dialog = win.window.open_preferences()
    assert dialog is not None and dialog.start_at_login.isChecked()
    dialog.start_at_login.setChecked(False)
    dialog.close_to_tray.setChecked(True)
    dialog.accept()
    assert load_settings(app_paths()).extra["tray"] == {
        "start_at_login": False,
        "close_to_tray": True,
    }
    assert not entry.exists()
    assert not win.window.close()  # no question now: straight to the tray
    assert not win.window.isVisible()


def test_finished_download_and_index_are_told_by_the_tray_while_hidden(
    qtbot: QtBot, make_window: MakeWindow, with_tray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    win = make_window()
    background, tray = parts(win)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        tray.icon, "showMessage", lambda title, text, *_args: shown.append((title, text))
    )
    done = DownloadProgress(
        "org/model", "model.Q4_K_M.gguf", Path("/m/model.Q4_K_M.gguf"),
        DownloadState.DONE, 10, 10, 0.0, None,
    )  # fmt: skip
    # The window in front says it itself: no tray message.
    win.downloads.finished.emit(done)
    assert shown == []
    background.hide_to_tray()
    with qtbot.waitSignal(tray.notified, timeout=WAIT):
        win.downloads.finished.emit(done)
    assert shown == [("Hearth", "model.Q4_K_M.gguf has downloaded and is ready to use.")]
    assert win.documents is not None
    win.documents.finished.emit("Household", IndexReport("Household"))
    win.documents.finished.emit("Old", None)  # a removal: nothing to tell
    assert shown[1:] == [("Hearth", "The documents of Household are indexed.")]
