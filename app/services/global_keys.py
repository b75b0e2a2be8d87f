"""System-wide keys (push-to-talk, quick ask): the key chords and one interface for the
backends. Plain Python: no Qt here.

Backends (each in its own module, imported only when a key is set):

- ``portal``: the desktop's global-shortcuts portal (org.freedesktop.portal.GlobalShortcuts
  on the session bus), on Wayland and the X11 desktops that offer it;
  :mod:`app.services.global_keys_portal`;
- ``x11``: a passive key grab on the root window (XGrabKey through python-xlib);
  :mod:`app.services.global_keys_x11`;
- ``pynput``: a keyboard listener through pynput (macOS, Windows);
  :mod:`app.services.global_keys_pynput`;
- ``none``: global keys are unavailable; the window's own shortcuts still work.

:mod:`app.services.global_keys_choice` picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from app.core.errors import HearthError
from app.core.i18n import translate

PUSH_TO_TALK = "push_to_talk"
QUICK_ASK = "quick_ask"
ACTIONS = (PUSH_TO_TALK, QUICK_ASK)

# The XDG shortcuts specification's modifier names, in the order a trigger is written.
MODIFIERS = ("CTRL", "ALT", "SHIFT", "LOGO")
_QT_MODIFIERS = {"ctrl": "CTRL", "control": "CTRL", "alt": "ALT", "shift": "SHIFT"}
_QT_MODIFIERS |= {"meta": "LOGO", "super": "LOGO", "logo": "LOGO"}
# Qt's portable key names -> X keysym names (letters, digits and F-keys map by rule).
_KEYSYMS = {
    "space": "space",
    "tab": "Tab",
    "return": "Return",
    "enter": "Return",
    "esc": "Escape",
    "escape": "Escape",
    "backspace": "BackSpace",
    "ins": "Insert",
    "insert": "Insert",
    "del": "Delete",
    "delete": "Delete",
    "home": "Home",
    "end": "End",
    "pgup": "Prior",
    "pgdown": "Next",
    "left": "Left",
    "up": "Up",
    "right": "Right",
    "down": "Down",
    "pause": "Pause",
    "print": "Print",
    "scrolllock": "Scroll_Lock",
    "menu": "Menu",
    ",": "comma",
    ".": "period",
    "/": "slash",
    ";": "semicolon",
    "'": "apostrophe",
    "[": "bracketleft",
    "]": "bracketright",
    "\\": "backslash",
    "-": "minus",
    "=": "equal",
    "`": "grave",
    "+": "plus",
}

EventFn = Callable[[str, bool], None]  # (action, pressed): True on press, False on release


class HotkeyError(HearthError):
    """A global key cannot be set up. ``kind``: ``taken`` (another application holds the
    key), ``refused`` (the desktop declined it), ``bad_key`` (no such key here),
    ``same_key`` (one key for two actions), ``permission`` (macOS has not allowed Hearth to
    watch the keyboard), ``failed`` (the backend broke)."""

    def __init__(self, message: str, *, kind: str, action: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.action = action


@dataclass(frozen=True)
class Chord:
    """A key with its modifiers: ``modifiers`` from :data:`MODIFIERS`, ``keysym`` an X
    keysym name ("space", "a", "F9")."""

    modifiers: frozenset[str]
    keysym: str

    def trigger(self) -> str:
        """As the shortcuts specification writes it (the portal's ``preferred_trigger``)."""
        return "+".join([m for m in MODIFIERS if m in self.modifiers] + [self.keysym])


def parse_keys(text: str) -> Chord:
    """``Ctrl+Shift+Space`` (Qt's portable text of one key chord) -> a :class:`Chord`.
    Raises :class:`HotkeyError` (``bad_key``) for text that names no single key."""
    text = text.strip()
    if not text or ", " in text:  # Qt writes a sequence of chords as "Ctrl+K, Ctrl+B"
        raise HotkeyError(
            translate(
                "KeyBackends",
                "{text!r} is not one key chord; choose a single key.",
            ).format(text=text),
            kind="bad_key",
        )
    parts = text.split("+")
    if text.endswith("++") or text == "+":  # the key itself is "+"
        parts = [*text[:-2].split("+"), "+"] if text != "+" else ["+"]
    *mods, key = [p.strip() for p in parts]
    modifiers: set[str] = set()
    for mod in mods:
        name = _QT_MODIFIERS.get(mod.lower())
        if name is None:
            raise HotkeyError(
                translate(
                    "KeyBackends",
                    "{mod!r} is not a modifier key; use Ctrl, Alt, Shift or Meta.",
                ).format(mod=mod),
                kind="bad_key",
            )
        modifiers.add(name)
    return Chord(frozenset(modifiers), _keysym(key))


def _keysym(key: str) -> str:
    if not key:
        raise HotkeyError(
            translate("KeyBackends", "The key chord has no key; choose a key to go with it."),
            kind="bad_key",
        )
    lowered = key.lower()
    if lowered in _KEYSYMS:
        return _KEYSYMS[lowered]
    if len(key) == 1 and key.isalnum():
        return lowered
    if lowered[0] == "f" and lowered[1:].isdigit():
        return "F" + lowered[1:]
    raise HotkeyError(
        translate(
            "KeyBackends",
            "{key!r} cannot be a global key; choose another key.",
        ).format(key=key),
        kind="bad_key",
    )


def parse_bindings(keys: Mapping[str, str]) -> dict[str, Chord]:
    """The configured keys (action -> Qt key text; empty: off) as chords. One key for two
    actions is refused (:class:`HotkeyError`, ``same_key``)."""
    chords: dict[str, Chord] = {}
    for action in ACTIONS:
        text = str(keys.get(action) or "").strip()
        if not text:
            continue
        try:
            chord = parse_keys(text)
        except HotkeyError as exc:
            raise HotkeyError(str(exc), kind=exc.kind, action=action) from None
        if chord in chords.values():
            raise HotkeyError(
                translate(
                    "KeyBackends",
                    "{text} is set for both push-to-talk and quick ask; give each its own key.",
                ).format(text=text),
                kind="same_key",
                action=action,
            )
        chords[action] = chord
    return chords


class KeyBackend(Protocol):
    """One way of getting keys from the whole desktop."""

    name: str

    def bind(
        self, chords: Mapping[str, Chord], descriptions: Mapping[str, str], on_event: EventFn
    ) -> dict[str, str]:
        """Take the keys (may block: the desktop can ask the user). ``on_event`` is then
        called from the backend's own thread on each press and release. Returns action ->
        the trigger as the desktop shows it; an action left out was refused. Raises
        :class:`HotkeyError` when none can be taken."""
        ...

    def close(self) -> None:
        """Give the keys back and stop the backend's thread."""
        ...
