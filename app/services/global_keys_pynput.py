"""Global keys on macOS and Windows through pynput (a maintained, pure-Python library):
a Quartz event tap on macOS, a low-level keyboard hook on Windows, XRecord on X11.

pynput's ``GlobalHotKeys`` only reports a chord going down; push-to-talk also needs it
going up, so this backend runs a plain ``keyboard.Listener`` and follows the chords
itself: the chord fires when its key goes down while exactly its modifiers are held, and
ends when that key goes up (the modifiers may have gone up first). A key held down
repeats presses without releases (Windows, macOS): only the first counts.

A listener watches keys without taking them, so another application using the same
chord is not detected (it gets the key too), unlike the portal and the X11 grab. On
macOS the event tap needs the Accessibility permission: without it pynput's listener
ends at once (``IS_TRUSTED`` false); that is a :class:`HotkeyError` (``permission``).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from typing import Any

from app.core.i18n import translate
from app.services.global_keys import Chord, EventFn, HotkeyError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
SETTLE_S = 0.2  # how long a started listener must stay up to count as listening
# X keysym names (Chord.keysym) -> pynput's HotKey.parse names.
_SPECIAL = {
    "space": "<space>",
    "Tab": "<tab>",
    "Return": "<enter>",
    "Escape": "<esc>",
    "BackSpace": "<backspace>",
    "Insert": "<insert>",
    "Delete": "<delete>",
    "Home": "<home>",
    "End": "<end>",
    "Prior": "<page_up>",
    "Next": "<page_down>",
    "Left": "<left>",
    "Up": "<up>",
    "Right": "<right>",
    "Down": "<down>",
    "Pause": "<pause>",
    "Print": "<print_screen>",
    "Scroll_Lock": "<scroll_lock>",
    "Menu": "<menu>",
    "comma": ",",
    "period": ".",
    "slash": "/",
    "semicolon": ";",
    "apostrophe": "'",
    "bracketleft": "[",
    "bracketright": "]",
    "backslash": "\\",
    "minus": "-",
    "equal": "=",
    "grave": "`",
    "plus": "+",
}
_MODIFIER_NAMES = {"CTRL": "ctrl", "ALT": "alt", "SHIFT": "shift", "LOGO": "cmd"}


def key_spec(keysym: str) -> str:
    """A chord's key as pynput's ``HotKey.parse`` writes it ("F9" -> "<f9>")."""
    if keysym in _SPECIAL:
        return _SPECIAL[keysym]
    if keysym[:1] == "F" and keysym[1:].isdigit():
        return f"<f{keysym[1:]}>"
    return keysym.lower()


def permission_missing() -> HotkeyError:
    return HotkeyError(
        translate(
            "KeyBackends",
            "macOS has not allowed Hearth to watch the keyboard; allow it in System "
            "Settings, Privacy & Security, Accessibility, then set the keys again.",
        ),
        kind="permission",
    )


class PynputKeys:
    """The pynput backend of :class:`app.services.global_keys.KeyBackend`."""

    name = "pynput"

    def __init__(self) -> None:
        self._listener: Any = None
        self._lock = threading.Lock()
        self._mods: set[Any] = set()  # the modifiers held now (pynput's canonical keys)
        self._active: set[str] = set()  # actions whose chord is down

    def bind(
        self, chords: Mapping[str, Chord], descriptions: Mapping[str, str], on_event: EventFn
    ) -> dict[str, str]:
        try:
            from pynput import keyboard
        except ImportError as exc:  # not installed, or no X display for its Linux backend
            raise HotkeyError(
                translate(
                    "KeyBackends", "the keyboard library pynput cannot start: {error}"
                ).format(error=(str(exc).splitlines() or [""])[0]),
                kind="failed",
            ) from None
        modifier_keys = {name: getattr(keyboard.Key, key) for name, key in _MODIFIER_NAMES.items()}
        wanted: dict[str, tuple[frozenset[Any], Any]] = {}
        for action, chord in chords.items():
            try:
                (key,) = keyboard.HotKey.parse(key_spec(chord.keysym))
            except (ValueError, KeyError):  # a key this platform's pynput does not know
                raise HotkeyError(
                    translate(
                        "KeyBackends",
                        "This keyboard has no {keysym} key; choose another key.",
                    ).format(keysym=chord.keysym),
                    kind="bad_key",
                    action=action,
                ) from None
            mods = frozenset(modifier_keys[m] for m in chord.modifiers)
            wanted[action] = (mods, key)
        all_mods = set(modifier_keys.values())

        def canonical(key: Any) -> Any:
            return listener.canonical(key)

        def pressed(key: Any, _injected: bool = False) -> None:
            if key is None:
                return
            key = canonical(key)
            with self._lock:
                if key in all_mods:
                    self._mods.add(key)
                    return
                fire = [
                    action
                    for action, (mods, target) in wanted.items()
                    if target == key and mods == self._mods and action not in self._active
                ]
                self._active.update(fire)
            for action in fire:
                on_event(action, True)

        def released(key: Any, _injected: bool = False) -> None:
            if key is None:
                return
            key = canonical(key)
            with self._lock:
                if key in all_mods:
                    self._mods.discard(key)
                    return
                ended = [a for a in self._active if wanted[a][1] == key]
                self._active.difference_update(ended)
            for action in ended:
                on_event(action, False)

        listener = keyboard.Listener(on_press=pressed, on_release=released)
        self._listener = listener
        listener.start()
        self._wait_started(listener)
        return {action: chord.trigger() for action, chord in chords.items()}

    def _wait_started(self, listener: Any) -> None:
        """Until the listener listens; a listener that cannot (no permission, no hook, no
        X server) ends its thread, before or right after it says it is ready."""
        ready = threading.Event()

        def wait() -> None:
            listener.wait()
            ready.set()

        # pynput's wait() has no timeout and never returns if the thread died first.
        threading.Thread(target=wait, name="pynput-wait", daemon=True).start()
        waited = 0.0
        while not ready.wait(0.05):
            waited += 0.05
            if not listener.is_alive() or waited >= START_TIMEOUT_S:
                self.close()
                raise HotkeyError(
                    translate("KeyBackends", "the keyboard listener did not start"),
                    kind="failed",
                )
        if sys.platform == "darwin" and not getattr(listener, "IS_TRUSTED", True):
            self.close()
            raise permission_missing()
        try:
            listener.join(SETTLE_S)  # returns at once if the thread ended
        except Exception:  # pynput re-raises the thread's own error here
            log.debug("the pynput listener failed", exc_info=True)
        if not listener.is_alive():
            self.close()
            if sys.platform == "darwin":
                raise permission_missing()
            raise HotkeyError(
                translate("KeyBackends", "the keyboard listener stopped at once"), kind="failed"
            )

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        try:
            listener.stop()
            _end_record(listener)
            if listener is not threading.current_thread():
                listener.join(START_TIMEOUT_S)
        except Exception:  # its thread's own error, already logged by pynput
            log.debug("the pynput listener ended with an error", exc_info=True)
        with self._lock:
            self._mods.clear()
            self._active.clear()


def _end_record(listener: Any) -> None:
    """pynput's X11 listener (XRecord) ignores stop() until the next key arrives: its
    disable request waits unsent on the blocked connection (pynput pull request #583,
    open). Disable the context over its other connection, as XRecord asks. Only X11 has
    these attributes; Quartz and win32 listeners stop by themselves."""
    display, context = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
    if display is None or context is None:
        return
    try:
        display.record_disable_context(context)
        display.flush()
    except Exception:  # the server is gone: the listener ends by itself then
        log.debug("could not end the XRecord context", exc_info=True)
