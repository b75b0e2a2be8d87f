"""Keys typed into a private X server the way another application's user would: a client
of its own with a focused window, and XTEST presses (for the global-key tests of both the
X11 grab and pynput's X11 listener). Needs python-xlib: import it after
``pytest.importorskip("Xlib")``."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from Xlib import XK, X, display
from Xlib.ext import xtest

DEADLINE_S = 20.0


@contextmanager
def focused_client(display_name: str) -> Iterator[Any]:
    """Another application: its own connection, with a mapped window that has the focus."""
    xd = display.Display(display_name)
    # No key repeat unless a test asks for it: a slow machine holding a key for the repeat
    # delay (660 ms) must not change what the other tests see.
    xd.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOff)
    root = xd.screen().root
    window = root.create_window(10, 10, 200, 100, 0, xd.screen().root_depth)
    window.map()
    xd.sync()
    window.set_input_focus(X.RevertToParent, X.CurrentTime)
    xd.sync()
    assert xd.get_input_focus().focus == window
    try:
        yield xd
    finally:
        xd.close()


def keycode(xd: Any, name: str) -> int:
    code = int(xd.keysym_to_keycode(XK.string_to_keysym(name)))
    assert code, f"Xvfb's keyboard has no {name}"
    return code


def press(xd: Any, modifiers: list[str], key: str) -> None:
    """Press the modifiers, then the key, through XTEST (and hold them)."""
    for name in modifiers:
        xtest.fake_input(xd, X.KeyPress, keycode(xd, name))
    xtest.fake_input(xd, X.KeyPress, keycode(xd, key))
    xd.sync()


def let_go(xd: Any, modifiers: list[str], key: str) -> None:
    xtest.fake_input(xd, X.KeyRelease, keycode(xd, key))
    for name in reversed(modifiers):
        xtest.fake_input(xd, X.KeyRelease, keycode(xd, name))
    xd.sync()


def tap(xd: Any, modifiers: list[str], key: str) -> None:
    press(xd, modifiers, key)
    let_go(xd, modifiers, key)


def next_event(events: queue.Queue[tuple[str, bool]]) -> tuple[str, bool]:
    """The next (action, pressed) a backend reported, within :data:`DEADLINE_S`."""
    try:
        return events.get(timeout=DEADLINE_S)
    except queue.Empty:
        raise AssertionError("the key's event never came") from None
