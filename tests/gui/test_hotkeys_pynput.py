"""Global keys through pynput (the macOS and Windows backend), run here on pynput's X11
backend against a private Xvfb server: the keys are sent with XTEST by another client
while its own window has the focus, as a user pressing them in another application would.

Only the Linux side of pynput runs here; its Quartz (macOS) and win32 hook (Windows)
backends are not exercised by these tests."""

from __future__ import annotations

import importlib.util
import queue
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.services.global_keys import PUSH_TO_TALK, QUICK_ASK, parse_bindings
from app.services.global_keys_pynput import PynputKeys, permission_missing
from app.services.hotkey_service import HotkeyService
from tests.desktop_session import xvfb_display

if importlib.util.find_spec("pynput") is None:  # its import needs $DISPLAY: not here
    pytest.skip("pynput is not installed (the test extra has it)", allow_module_level=True)
Xlib = pytest.importorskip("Xlib")

from tests.xkeys import (  # noqa: E402
    DEADLINE_S,
    focused_client,
    let_go,
    next_event,
    press,
    tap,
)


@pytest.fixture
def xserver(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private Xvfb; pynput's X11 listener opens $DISPLAY, so it points there."""
    with xvfb_display() as name:
        monkeypatch.setenv("DISPLAY", name)
        yield name


@pytest.fixture
def other_app(xserver: str) -> Iterator[Any]:
    with focused_client(xserver) as xd:
        yield xd


def test_press_and_release_of_the_chords_reach_the_callback(other_app: Any) -> None:
    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    keys = PynputKeys()
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
        # Other keys are not ours: the key alone, the key with other modifiers, others.
        tap(other_app, [], "h")
        tap(other_app, ["Control_L"], "h")
        tap(other_app, ["Control_L", "Alt_L", "Shift_L"], "h")
        tap(other_app, ["Control_L", "Alt_L"], "j")
        # A marker chord sent after them: whatever they caused would have come before it.
        tap(other_app, ["Control_L", "Shift_L"], "space")
        assert next_event(events) == (QUICK_ASK, True)
        assert next_event(events) == (QUICK_ASK, False)
    finally:
        keys.close()


def test_close_stops_the_listener(other_app: Any) -> None:
    import threading

    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    before = set(threading.enumerate())
    keys = PynputKeys()
    keys.bind(parse_bindings({QUICK_ASK: "Alt+F8"}), {}, lambda a, p: events.put((a, p)))
    tap(other_app, ["Alt_L"], "F8")
    assert next_event(events) == (QUICK_ASK, True)
    assert next_event(events) == (QUICK_ASK, False)
    started = [t for t in threading.enumerate() if t not in before and t.name != "pynput-wait"]
    assert started, "the listener thread was not found"
    keys.close()
    assert not any(t.is_alive() for t in started)
    tap(other_app, ["Alt_L"], "F8")
    # Nothing reaches the callback once closed; a fresh listener proves the keys went out.
    probe: queue.Queue[tuple[str, bool]] = queue.Queue()
    again = PynputKeys()
    again.bind(parse_bindings({QUICK_ASK: "Alt+F9"}), {}, lambda a, p: probe.put((a, p)))
    try:
        tap(other_app, ["Alt_L"], "F9")
        assert next_event(probe) == (QUICK_ASK, True)
        assert events.empty()
    finally:
        again.close()


def test_the_service_turns_pynput_presses_into_signals(qtbot: QtBot, other_app: Any) -> None:
    service = HotkeyService(backend="pynput")
    seen: list[str] = []
    service.quick_ask.connect(lambda: seen.append("quick"))
    service.talk_pressed.connect(lambda: seen.append("talk down"))
    service.talk_released.connect(lambda: seen.append("talk up"))
    service.apply({PUSH_TO_TALK: "Alt+F7", QUICK_ASK: "Ctrl+Alt+Q"})
    qtbot.waitUntil(lambda: bool(service.bound), timeout=int(DEADLINE_S * 1000))
    assert service.describe() == {
        "backend": "pynput",
        "bound": {PUSH_TO_TALK: "Alt+F7", QUICK_ASK: "Ctrl+Alt+Q"},
        "error": None,
    }
    assert "a keyboard listener" in service.status()
    press(other_app, ["Alt_L"], "F7")
    qtbot.waitUntil(lambda: seen == ["talk down"], timeout=int(DEADLINE_S * 1000))
    let_go(other_app, ["Alt_L"], "F7")
    qtbot.waitUntil(lambda: seen == ["talk down", "talk up"], timeout=int(DEADLINE_S * 1000))
    tap(other_app, ["Control_L", "Alt_L"], "q")
    qtbot.waitUntil(
        lambda: seen == ["talk down", "talk up", "quick"], timeout=int(DEADLINE_S * 1000)
    )
    service.shutdown()


class _Untrusted:
    """What PynputKeys.bind raises on a Mac without the Accessibility permission (the
    real check, pynput's IS_TRUSTED, needs macOS: a stand-in here)."""

    name = "pynput"

    def bind(self, chords: Any, descriptions: Any, on_event: Any) -> dict[str, str]:
        raise permission_missing()

    def close(self) -> None:
        pass


def test_a_missing_macos_permission_is_one_sentence_naming_accessibility(qtbot: QtBot) -> None:
    service = HotkeyService(backend="pynput", opener=lambda _kind: _Untrusted())
    problems: list[str] = []
    service.problem.connect(problems.append)
    service.apply({QUICK_ASK: "Ctrl+Alt+Q"})
    qtbot.waitUntil(lambda: bool(problems), timeout=int(DEADLINE_S * 1000))
    assert problems == [
        "macOS has not allowed Hearth to watch the keyboard, so the global keys do nothing; "
        "allow Hearth in System Settings > Privacy & Security > Accessibility, then set the "
        "keys again."
    ]
    assert service.status() == problems[0]
    service.shutdown()


def test_on_a_mac_the_working_status_says_where_to_allow_the_keys(
    qtbot: QtBot, other_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    service = HotkeyService(backend="pynput")
    service.apply({QUICK_ASK: "Ctrl+Alt+Q"})
    qtbot.waitUntil(lambda: bool(service.bound), timeout=int(DEADLINE_S * 1000))
    monkeypatch.setattr(sys, "platform", "darwin")  # only the sentence reads it now
    assert service.status().endswith(
        "If the keys do nothing, allow Hearth in System Settings > Privacy & Security > "
        "Accessibility and Input Monitoring."
    )
    service.shutdown()
