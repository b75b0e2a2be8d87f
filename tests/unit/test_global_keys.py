"""Key chords as the portal and X11 name them, and the choice of backend."""

from __future__ import annotations

import sys

import pytest

from app.services.global_keys import (
    PUSH_TO_TALK,
    QUICK_ASK,
    HotkeyError,
    parse_bindings,
    parse_keys,
)
from app.services.global_keys_choice import choose_backend
from app.services.global_keys_pynput import key_spec


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("Ctrl+Shift+Space", "CTRL+SHIFT+space"),
        ("Shift+Ctrl+Space", "CTRL+SHIFT+space"),
        ("Meta+F9", "LOGO+F9"),
        ("Alt+T", "ALT+t"),
        ("Ctrl+,", "CTRL+comma"),
        ("Ctrl++", "CTRL+plus"),
        ("Pause", "Pause"),
        ("Ctrl+PgUp", "CTRL+Prior"),
    ],
)
def test_qt_key_text_becomes_the_shortcuts_spec_trigger(text: str, trigger: str) -> None:
    assert parse_keys(text).trigger() == trigger


@pytest.mark.parametrize("text", ["", "Ctrl+K, Ctrl+B", "Hyper+A", "Ctrl+", "Ctrl+Launch Mail"])
def test_what_is_not_one_key_is_refused(text: str) -> None:
    with pytest.raises(HotkeyError) as caught:
        parse_keys(text)
    assert caught.value.kind == "bad_key"


def test_one_key_for_both_actions_is_refused_and_empty_is_off() -> None:
    assert parse_bindings({PUSH_TO_TALK: "", QUICK_ASK: "Ctrl+Shift+Space"}).keys() == {QUICK_ASK}
    with pytest.raises(HotkeyError) as caught:
        parse_bindings({PUSH_TO_TALK: "Ctrl+Shift+Space", QUICK_ASK: "Shift+Ctrl+Space"})
    assert (caught.value.kind, caught.value.action) == ("same_key", QUICK_ASK)


def test_the_backend_follows_the_desktop() -> None:
    def yes() -> bool:
        return True

    def no() -> bool:
        return False

    assert choose_backend({"WAYLAND_DISPLAY": "wayland-0"}, portal=yes) == "portal"
    assert choose_backend({"DISPLAY": ":0"}, portal=yes) == "portal"
    assert choose_backend({"DISPLAY": ":0"}, portal=no) == "x11"
    # XWayland's X server sees only X clients' keys: no grab under Wayland.
    assert choose_backend({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, portal=no) == "none"
    assert choose_backend({}, portal=no) == "none"


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_use_pynput(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)

    def yes() -> bool:
        return True

    # Neither a portal nor an X display is looked for there.
    assert choose_backend({"DISPLAY": ":0"}, portal=yes) == "pynput"
    assert choose_backend({}, portal=yes) == "pynput"


def test_linux_never_uses_pynput(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    assert choose_backend({"DISPLAY": ":0"}, portal=lambda: False) == "x11"
    assert choose_backend({}, portal=lambda: False) == "none"


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("Ctrl+Shift+Space", "<space>"),
        ("Alt+F9", "<f9>"),
        ("Ctrl+PgUp", "<page_up>"),
        ("Ctrl+,", ","),
        ("Alt+T", "t"),
        ("Pause", "<pause>"),
    ],
)
def test_chord_keys_are_named_the_way_pynput_parses_them(text: str, spec: str) -> None:
    assert key_spec(parse_keys(text).keysym) == spec
