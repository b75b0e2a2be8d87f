"""Global keys on X11: a real XGrabKey on a private Xvfb server. The keys are sent with the
XTEST extension by another client while another client's window has the focus, as a user
pressing the key in another application would; a key another client grabbed first is
reported in one clear sentence."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.services.global_keys import PUSH_TO_TALK, QUICK_ASK, HotkeyError, parse_bindings
from app.services.global_keys_x11 import X11Keys
from app.services.hotkey_service import HotkeyService
from tests.desktop_session import xvfb_display
from tests.gui.conftest import MakeWindow

Xlib = pytest.importorskip("Xlib")
from Xlib import X  # noqa: E402

from tests.xkeys import (  # noqa: E402
    DEADLINE_S,
    focused_client,
    keycode,
    let_go,
    next_event,
    press,
    tap,
)


@pytest.fixture
def xserver() -> Iterator[str]:
    with xvfb_display() as name:
        yield name


@pytest.fixture
def other_app(xserver: str) -> Iterator[Any]:
    with focused_client(xserver) as xd:
        yield xd


def test_grabbed_keys_fire_on_press_and_release_while_another_app_has_focus(
    xserver: str, other_app: Any
) -> None:
    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    keys = X11Keys(xserver)
    # Not Ctrl+Alt+F<n>: X servers keep those for switching consoles.
    chords = parse_bindings({PUSH_TO_TALK: "Ctrl+Alt+H", QUICK_ASK: "Ctrl+Shift+Space"})
    bound = keys.bind(chords, {}, lambda action, pressed: events.put((action, pressed)))
    try:
        assert bound == {PUSH_TO_TALK: "CTRL+ALT+h", QUICK_ASK: "CTRL+SHIFT+space"}
        press(other_app, ["Control_L", "Alt_L"], "h")
        assert next_event(events) == (PUSH_TO_TALK, True)
        assert events.empty()  # held: nothing more until it is let go
        let_go(other_app, ["Control_L", "Alt_L"], "h")
        assert next_event(events) == (PUSH_TO_TALK, False)
        tap(other_app, ["Control_L", "Shift_L"], "space")
        assert next_event(events) == (QUICK_ASK, True)
        assert next_event(events) == (QUICK_ASK, False)
        # The focus never moved: the other application kept it throughout.
        assert other_app.get_input_focus().focus.id != other_app.screen().root.id
        # Without the modifiers the key is not ours: it goes to the focused window.
        tap(other_app, [], "h")
        with pytest.raises(queue.Empty):
            events.get(timeout=0.5)
    finally:
        keys.close()


def test_a_key_is_free_again_after_close(xserver: str, other_app: Any) -> None:
    keys = X11Keys(xserver)
    keys.bind(parse_bindings({QUICK_ASK: "Ctrl+Alt+F10"}), {}, lambda *_: None)
    keys.close()
    again = X11Keys(xserver)  # a grab still held would be BadAccess here
    try:
        assert again.bind(parse_bindings({QUICK_ASK: "Ctrl+Alt+F10"}), {}, lambda *_: None)
    finally:
        again.close()


def test_a_key_another_app_holds_is_reported(xserver: str, other_app: Any) -> None:
    root = other_app.screen().root
    code = keycode(other_app, "k")
    root.grab_key(code, X.ControlMask | X.Mod1Mask, False, X.GrabModeAsync, X.GrabModeAsync)
    other_app.sync()
    keys = X11Keys(xserver)
    with pytest.raises(HotkeyError) as caught:
        keys.bind(parse_bindings({PUSH_TO_TALK: "Ctrl+Alt+K"}), {}, lambda *_: None)
    keys.close()
    assert caught.value.kind == "taken" and caught.value.action == PUSH_TO_TALK
    assert str(caught.value) == "Another application already uses CTRL+ALT+k; choose another key."


def wait_until(qtbot: QtBot, done: Callable[[], bool]) -> None:
    qtbot.waitUntil(done, timeout=int(DEADLINE_S * 1000))


def test_service_reports_the_conflict_in_one_sentence(
    qtbot: QtBot, xserver: str, other_app: Any
) -> None:
    root = other_app.screen().root
    root.grab_key(keycode(other_app, "F12"), X.ControlMask, False, X.GrabModeAsync, X.GrabModeAsync)
    other_app.sync()
    service = HotkeyService(backend="x11", opener=lambda _kind: X11Keys(xserver))
    problems: list[str] = []
    service.problem.connect(problems.append)
    service.apply({PUSH_TO_TALK: "Ctrl+F12"})
    wait_until(qtbot, lambda: bool(problems))
    assert problems == [
        "Another application already uses Ctrl+F12 (set for push-to-talk); choose another "
        "key in Settings or free it there."
    ]
    assert service.status() == problems[0]
    service.shutdown()


def test_service_turns_presses_into_signals_on_the_gui_thread(
    qtbot: QtBot, xserver: str, other_app: Any
) -> None:
    service = HotkeyService(backend="x11", opener=lambda _kind: X11Keys(xserver))
    seen: list[str] = []
    service.quick_ask.connect(lambda: seen.append("quick"))
    service.talk_pressed.connect(lambda: seen.append("talk down"))
    service.talk_released.connect(lambda: seen.append("talk up"))
    service.apply({PUSH_TO_TALK: "Alt+F8", QUICK_ASK: "Ctrl+Alt+Q"})
    wait_until(qtbot, lambda: bool(service.bound))
    assert service.describe()["backend"] == "x11"
    assert "Working in every application" in service.status()
    press(other_app, ["Alt_L"], "F8")
    wait_until(qtbot, lambda: seen == ["talk down"])
    let_go(other_app, ["Alt_L"], "F8")
    wait_until(qtbot, lambda: seen == ["talk down", "talk up"])
    tap(other_app, ["Control_L", "Alt_L"], "q")
    wait_until(qtbot, lambda: seen == ["talk down", "talk up", "quick"])
    service.shutdown()
    # Given back: another client can take the key now.
    root = other_app.screen().root
    deadline = time.monotonic() + DEADLINE_S
    from Xlib import error

    while True:
        catch = error.CatchError(error.BadAccess)
        root.grab_key(
            keycode(other_app, "F8"),
            X.Mod1Mask,
            False,
            X.GrabModeAsync,
            X.GrabModeAsync,
            onerror=catch,
        )
        other_app.sync()
        if catch.get_error() is None:
            break
        assert time.monotonic() < deadline, "the key was never given back"
        qtbot.wait(50)


def test_key_repeat_while_held_is_one_press_and_one_release(xserver: str, other_app: Any) -> None:
    other_app.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOn)
    other_app.sync()
    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    keys = X11Keys(xserver)
    keys.bind(parse_bindings({PUSH_TO_TALK: "Alt+J"}), {}, lambda a, p: events.put((a, p)))
    try:
        press(other_app, ["Alt_L"], "j")
        assert next_event(events) == (PUSH_TO_TALK, True)
        # Held past the server's repeat delay (660 ms) and several repeats (25 a second):
        # the repeated release/press pairs are not the key going up.
        with pytest.raises(queue.Empty):
            events.get(timeout=1.5)
        let_go(other_app, ["Alt_L"], "j")
        assert next_event(events) == (PUSH_TO_TALK, False)
        with pytest.raises(queue.Empty):
            events.get(timeout=0.3)
    finally:
        keys.close()


def test_the_window_picks_x11_and_the_quick_key_opens_the_panel(
    qtbot: QtBot,
    make_window: MakeWindow,
    xserver: str,
    other_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Automatic choice on an X11 desktop without the portal (no session bus here)."""
    monkeypatch.setenv("DISPLAY", xserver)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    paths = app_paths()
    settings = load_settings(paths)
    settings.extra["hotkeys"] = {PUSH_TO_TALK: "", QUICK_ASK: "Ctrl+Alt+Space"}
    save_settings(paths, settings)
    win = make_window()
    background = win.background
    assert background is not None
    service = background.global_keys.service
    wait_until(qtbot, lambda: bool(service.bound))
    assert service.describe() == {
        "backend": "x11",
        "bound": {QUICK_ASK: "Ctrl+Alt+Space"},
        "error": None,
    }
    # The other application has the focus on the X server; the key is pressed there.
    tap(other_app, ["Control_L", "Alt_L"], "space")
    wait_until(qtbot, lambda: background.panel is not None and background.panel.isVisible())
    assert background.panel is not None
    background.panel.close()
