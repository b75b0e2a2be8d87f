"""Global keys through the desktop's portal: Hearth on a private D-Bus session bus with a
GlobalShortcuts stand-in (tests/portal_standin.py, a real D-Bus service). Hearth must bind
the keys chosen in its settings, and the portal's Activated/Deactivated must open quick ask
and talk while the key is held, with the window shown or hidden in the background."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.services.global_keys import PUSH_TO_TALK, QUICK_ASK, HotkeyError, parse_bindings
from app.services.global_keys_choice import choose_backend
from app.services.global_keys_portal import PortalKeys, portal_offered
from app.services.hotkey_service import HotkeyService
from app.ui.global_keys import GlobalKeys
from tests.desktop_session import private_session_bus
from tests.gui.conftest import MakeWindow
from tests.portal_standin import Bound, PortalStandIn

WAIT_MS = 20_000
KEYS = {PUSH_TO_TALK: "Ctrl+Alt+T", QUICK_ASK: "Ctrl+Shift+Space"}


@pytest.fixture
def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private session bus, and this process pointed at it (never the user's own)."""
    with private_session_bus(tmp_path / "bus") as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def portal(bus: str) -> Iterator[PortalStandIn]:
    stand_in = PortalStandIn(bus).start()
    yield stand_in
    stand_in.stop()


def get(events: queue.Queue[tuple[str, bool]]) -> tuple[str, bool]:
    try:
        return events.get(timeout=WAIT_MS / 1000)
    except queue.Empty:
        raise AssertionError("the portal's signal never reached the callback") from None


def test_the_portal_is_found_only_where_the_bus_offers_it(bus: str) -> None:
    assert not portal_offered()  # a bus without the portal
    assert choose_backend({"DISPLAY": ":99"}, portal=portal_offered) == "x11"
    stand_in = PortalStandIn(bus).start()
    try:
        assert portal_offered()
        assert choose_backend({"WAYLAND_DISPLAY": "wayland-0"}) == "portal"
    finally:
        stand_in.stop()
    assert choose_backend({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == "none"


def test_keys_are_bound_and_activated_through_the_portal(portal: PortalStandIn) -> None:
    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    keys = PortalKeys()
    descriptions = {PUSH_TO_TALK: "Hearth: push to talk", QUICK_ASK: "Hearth: quick ask"}
    bound = keys.bind(parse_bindings(KEYS), descriptions, lambda a, p: events.put((a, p)))
    try:
        assert bound == {PUSH_TO_TALK: "CTRL+ALT+t", QUICK_ASK: "CTRL+SHIFT+space"}
        assert portal.binds == [
            Bound(
                portal.sessions[0],
                [
                    (PUSH_TO_TALK, "Hearth: push to talk", "CTRL+ALT+t"),
                    (QUICK_ASK, "Hearth: quick ask", "CTRL+SHIFT+space"),
                ],
            )
        ]
        assert keys.session == portal.sessions[0]
        assert portal.registered == ["hearth"]  # the id of hearth.desktop
        portal.press(PUSH_TO_TALK)
        assert get(events) == (PUSH_TO_TALK, True)
        portal.release(PUSH_TO_TALK)
        assert get(events) == (PUSH_TO_TALK, False)
        portal.press(QUICK_ASK, session=f"{portal.sessions[0]}x")  # another app's session
        portal.press(QUICK_ASK)
        assert get(events) == (QUICK_ASK, True)
    finally:
        keys.close()
    assert portal.closed == portal.sessions  # the desktop forgets the keys


def test_an_older_portal_without_the_registry_binds_too(portal: PortalStandIn) -> None:
    portal.registry = False  # xdg-desktop-portal before 1.19: Register is an unknown method
    keys = PortalKeys()
    try:
        assert keys.bind(parse_bindings(KEYS), {}, lambda *_: None).keys() == set(KEYS)
    finally:
        keys.close()
    assert portal.registered == [] and len(portal.binds) == 1


def test_a_cancelled_portal_dialog_is_one_sentence(qtbot: QtBot, portal: PortalStandIn) -> None:
    portal.answer = 1
    with pytest.raises(HotkeyError) as caught:
        PortalKeys().bind(parse_bindings(KEYS), {}, lambda *_: None)
    assert caught.value.kind == "refused"
    service = HotkeyService(backend="portal")
    problems: list[str] = []
    service.problem.connect(problems.append)
    service.apply(KEYS)
    qtbot.waitUntil(lambda: bool(problems), timeout=WAIT_MS)
    assert problems == [
        "The desktop did not accept Hearth's global keys; set them again in Settings and "
        "allow them when the desktop asks."
    ]
    service.shutdown()


def test_a_shortcut_the_desktop_leaves_out_is_said_and_the_other_works(
    qtbot: QtBot, portal: PortalStandIn
) -> None:
    portal.drop = {PUSH_TO_TALK}
    service = HotkeyService(backend="portal")
    problems: list[str] = []
    service.problem.connect(problems.append)
    opened: list[bool] = []
    service.quick_ask.connect(lambda: opened.append(True))
    service.apply(KEYS)
    qtbot.waitUntil(lambda: bool(problems), timeout=WAIT_MS)
    assert problems == [
        "The desktop did not accept the global key for push-to-talk; choose another key in "
        "Settings, or allow it in the desktop's keyboard settings."
    ]
    assert list(service.bound) == [QUICK_ASK]
    portal.press(QUICK_ASK)
    qtbot.waitUntil(lambda: opened == [True], timeout=WAIT_MS)
    service.shutdown()


def test_quitting_while_the_desktop_asks_does_not_wait_for_it(
    qtbot: QtBot, portal: PortalStandIn
) -> None:
    portal.answer = None  # the desktop's dialog stays open
    service = HotkeyService(backend="portal")
    service.apply(KEYS)
    qtbot.waitUntil(lambda: len(portal.binds) == 1, timeout=WAIT_MS)
    assert service.busy and "Setting up" in service.status()
    service.shutdown()
    # The binding thread gives up now, not after the two minutes it would wait.
    assert QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.waitUntil(lambda: portal.closed == portal.sessions, timeout=WAIT_MS)
    assert not service.busy and service.bound == {}


def test_a_key_the_desktop_binds_elsewhere_is_said(qtbot: QtBot, portal: PortalStandIn) -> None:
    portal.triggers = {QUICK_ASK: "Super+Q"}
    service = HotkeyService(backend="portal")
    notices: list[str] = []
    service.notice.connect(notices.append)
    service.apply(KEYS)
    qtbot.waitUntil(lambda: bool(notices), timeout=WAIT_MS)
    assert notices == ["The desktop set quick ask to Super+Q instead of Ctrl+Shift+Space."]
    assert service.error is None and service.bound[QUICK_ASK] == "Super+Q"
    assert "Super+Q" in service.status()
    service.shutdown()


def test_a_key_changed_later_on_the_desktop_is_said(qtbot: QtBot, portal: PortalStandIn) -> None:
    service = HotkeyService(backend="portal")
    notices: list[str] = []
    service.notice.connect(notices.append)
    service.apply(KEYS)
    qtbot.waitUntil(lambda: bool(service.bound), timeout=WAIT_MS)
    assert notices == []
    portal.change({PUSH_TO_TALK: "Super+T"})
    qtbot.waitUntil(lambda: bool(notices), timeout=WAIT_MS)
    assert notices == ["The desktop now starts push-to-talk with Super+T."]
    assert service.bound == {PUSH_TO_TALK: "Super+T", QUICK_ASK: "CTRL+SHIFT+space"}
    service.shutdown()


def test_the_same_key_for_both_is_refused(qtbot: QtBot, portal: PortalStandIn) -> None:
    service = HotkeyService(backend="portal")
    problems: list[str] = []
    service.problem.connect(problems.append)
    service.apply({PUSH_TO_TALK: "Ctrl+Shift+Space", QUICK_ASK: "Ctrl+Shift+Space"})
    assert problems == [
        "Ctrl+Shift+Space is set for both push-to-talk and quick ask; give each its own key."
    ]
    assert portal.binds == []  # nothing was asked of the desktop


@pytest.fixture
def quits_when_closed() -> Iterator[None]:
    yield
    QApplication.setQuitOnLastWindowClosed(True)  # hide_to_tray turned it off


def keys_of(win_keys: GlobalKeys) -> HotkeyService:
    return win_keys.service


def test_the_window_binds_its_keys_and_the_portal_drives_them(
    qtbot: QtBot, make_window: MakeWindow, portal: PortalStandIn, quits_when_closed: None
) -> None:
    paths = app_paths()
    settings = load_settings(paths)
    settings.extra["hotkeys"] = dict(KEYS)
    save_settings(paths, settings)
    win = make_window()
    background = win.background
    assert background is not None
    service = keys_of(background.global_keys)
    qtbot.waitUntil(lambda: bool(service.bound), timeout=WAIT_MS)
    assert [b.shortcuts for b in portal.binds] == [
        [
            (PUSH_TO_TALK, "Hearth: push to talk", "CTRL+ALT+t"),
            (QUICK_ASK, "Hearth: quick ask", "CTRL+SHIFT+space"),
        ]
    ]
    window = win.window
    # In the background (the window hidden in the tray), the keys still work.
    background.hide_to_tray()
    assert not window.isVisible()
    portal.press(QUICK_ASK)
    qtbot.waitUntil(lambda: background.panel is not None and background.panel.isVisible())
    portal.release(QUICK_ASK)
    assert background.panel is not None
    background.panel.close()

    # Push-to-talk: voice mode starts for the press, the recording begins once it listens
    # and ends with the release.
    voice = window.voice
    assert voice is not None
    calls: list[str] = []
    started: list[bool] = []

    def start_voice(on: bool) -> None:
        started.append(on)
        voice._set_state("starting")  # what VoiceService.start says first

    window.set_voice_mode = start_voice  # type: ignore[method-assign]
    voice.press = lambda: calls.append("press")  # type: ignore[method-assign]
    voice.release = lambda: calls.append("release")  # type: ignore[method-assign]
    portal.press(PUSH_TO_TALK)
    qtbot.waitUntil(lambda: started == [True], timeout=WAIT_MS)
    assert calls == []  # not listening yet
    voice._set_state("listening")
    assert calls == ["press"]
    portal.release(PUSH_TO_TALK)
    qtbot.waitUntil(lambda: calls == ["press", "release"], timeout=WAIT_MS)
    # Voice already on: a press records at once.
    portal.press(PUSH_TO_TALK)
    qtbot.waitUntil(lambda: calls[-1:] == ["press"] and len(calls) == 3, timeout=WAIT_MS)
    portal.release(PUSH_TO_TALK)
    qtbot.waitUntil(lambda: len(calls) == 4, timeout=WAIT_MS)
    assert calls == ["press", "release", "press", "release"] and started == [True]
    voice._set_state("off")

    # Keys cleared in Preferences: the session is closed, nothing is bound any more.
    preferences = window.preferences
    assert preferences is not None
    changed = preferences.settings
    changed.extra["hotkeys"] = {PUSH_TO_TALK: "", QUICK_ASK: ""}
    preferences.save(changed)
    qtbot.waitUntil(lambda: portal.closed == portal.sessions, timeout=WAIT_MS)
    assert service.bound == {} and service.status() == "No global keys are set."
