"""The global keys as the window uses them: binds the configured keys through the
backend this desktop offers (:mod:`app.services.global_keys`), off the GUI thread, and
turns the backend's presses and releases into Qt signals on the GUI thread.

Nothing is imported from a backend (jeepney, python-xlib) until a key is set. Every
problem (a key another application holds, the desktop refusing, no way to get global keys
here) becomes one translated sentence in ``problem``; ``status()`` says what works now.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QKeySequence

from app.core.errors import HearthError
from app.core.settings import Settings
from app.services.background import run_in_background
from app.services.global_keys import (
    ACTIONS,
    PUSH_TO_TALK,
    QUICK_ASK,
    HotkeyError,
    KeyBackend,
    parse_bindings,
)
from app.services.global_keys_choice import choose_backend, open_backend

log = logging.getLogger(__name__)

SETTINGS_GROUP = "hotkeys"


def hotkey_settings(settings: Settings) -> dict[str, str]:
    """The ``hotkeys`` group: action -> Qt's portable key text ("" or missing: off)."""
    group = settings.extra.get(SETTINGS_GROUP)
    group = group if isinstance(group, dict) else {}
    return {action: str(group.get(action) or "") for action in ACTIONS}


def native_keys(text: str) -> str:
    """Portable key text as this desktop writes it (Ctrl+Shift+Space; ⌃⇧Space on a Mac)."""
    return QKeySequence(text).toString(QKeySequence.SequenceFormat.NativeText) or text


def _same_keys(shown: str, chosen: str) -> bool:
    """Whether the desktop's description of a trigger names the key chosen ("Ctrl+Shift+
    Space", "CTRL+SHIFT+space" and "Shift+Ctrl+Space" do)."""

    def parts(text: str) -> set[str]:
        aliases = {"control": "ctrl", "logo": "meta", "super": "meta"}
        words = {w.strip().lower() for w in text.replace(" ", "").split("+") if w.strip()}
        return {aliases.get(w, w) for w in words}

    return parts(shown) == parts(chosen) or parts(shown) == parts(native_keys(chosen))


class HotkeyService(QObject):
    """Push-to-talk and quick-ask keys that work while Hearth is not focused."""

    quick_ask = Signal()
    talk_pressed = Signal()
    talk_released = Signal()
    problem = Signal(str)  # a sentence for the window: a key does not work
    notice = Signal(str)  # a sentence for the window: a key works, differently than asked
    bound_changed = Signal()  # status() changed
    _event = Signal(str, bool)  # from the backend's thread
    _changed = Signal(int, object)  # (generation, bound): the desktop changed the keys

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        backend: str | None = None,
        opener: Callable[[str], KeyBackend] = open_backend,
    ) -> None:
        """``backend``: ``portal``, ``x11`` or ``none``; None chooses by the desktop."""
        super().__init__(parent)
        self._kind = backend
        self._open = opener
        self._backend: KeyBackend | None = None
        self._keys: dict[str, str] = {}
        self._generation = 0  # a newer apply() makes older binding results stale
        self.bound: dict[str, str] = {}  # action -> trigger as the desktop shows it
        self.backend_name: str | None = None
        self.error: str | None = None
        self.busy = False
        self._pending: list[KeyBackend] = []  # being bound on a pool thread
        self._event.connect(self._deliver)
        self._changed.connect(self._rebound)

    # -- binding -------------------------------------------------------------------------
    def apply(self, keys: Mapping[str, str]) -> None:
        """Bind ``keys`` (action -> portable key text, empty: off), replacing what was
        bound; the same keys again change nothing."""
        wanted = {a: str(keys.get(a) or "").strip() for a in ACTIONS}
        if wanted == self._keys and (self._backend is not None or self.busy or self.error):
            return
        self._keys = wanted
        self.close()
        self._generation += 1
        self.error = None
        if not any(wanted.values()):
            self.bound_changed.emit()
            return
        try:
            chords = parse_bindings(wanted)
        except HotkeyError as exc:
            self._fail(exc)
            return
        descriptions = {PUSH_TO_TALK: "Hearth: push to talk", QUICK_ASK: "Hearth: quick ask"}
        generation, kind, opener = self._generation, self._kind, self._open
        emit, pending = self._event.emit, self._pending

        def changed(bound: dict[str, str]) -> None:
            self._changed.emit(generation, bound)

        def bind() -> tuple[KeyBackend | None, dict[str, str]]:
            chosen = kind or choose_backend()
            if chosen == "none":
                return None, {}
            backend = opener(chosen)
            if hasattr(backend, "on_changed"):  # the portal: keys changed on the desktop
                backend.on_changed = changed
            pending.append(backend)  # shutdown() can stop it while the desktop asks
            try:
                return backend, backend.bind(chords, descriptions, emit)
            finally:
                pending.remove(backend)

        self.busy = True
        run_in_background(
            bind,
            lambda result: self._bound(generation, result),
            lambda exc: self._failed(generation, exc),
        )

    def _bound(self, generation: int, result: tuple[KeyBackend | None, dict[str, str]]) -> None:
        backend, bound = result
        if generation != self._generation:  # keys changed meanwhile: these are not wanted
            if backend is not None:
                backend.close()
            return
        self.busy = False
        if backend is None:
            self._fail(None)
            return
        if backend.name != "portal":  # the keys as chosen, written the desktop's way
            bound = {action: native_keys(self._keys[action]) for action in bound}
        self._backend, self.bound, self.backend_name = backend, bound, backend.name
        wanted = [a for a in ACTIONS if self._keys.get(a)]
        refused = [a for a in wanted if a not in bound]
        if refused:
            self.error = self.tr(
                "The desktop did not accept the global key for %1; choose another key in "
                "Settings, or allow it in the desktop's keyboard settings."
            ).replace("%1", self._action_name(refused[0]))
            self.problem.emit(self.error)
        for action in wanted:
            if action in bound and not _same_keys(bound[action], self._keys[action]):
                # The desktop (or the user, in its dialog) chose another key: say which.
                self.notice.emit(
                    self.tr("The desktop set %1 to %2 instead of %3.")
                    .replace("%1", self._action_name(action))
                    .replace("%2", bound[action])
                    .replace("%3", native_keys(self._keys[action]))
                )
        self.bound_changed.emit()

    def _failed(self, generation: int, exc: HearthError) -> None:
        if generation != self._generation:
            return
        self.busy = False
        self._fail(exc)

    def _fail(self, exc: HearthError | None) -> None:
        self.error = self.sentence(exc)
        log.info("global keys: %s", exc or "unavailable")
        self.problem.emit(self.error)
        self.bound_changed.emit()

    def close(self) -> None:
        """Give the keys back (closing the window, or before binding others)."""
        backend, self._backend = self._backend, None
        self.bound, self.backend_name = {}, None
        if backend is not None:
            backend.close()

    def shutdown(self) -> None:
        self._generation += 1  # a binding still under way is closed when it ends
        for backend in list(self._pending):  # ... or stopped now, if it waits for the desktop
            backend.close()
        self.busy = False
        self.close()

    @Slot(int, object)
    def _rebound(self, generation: int, bound: dict[str, str]) -> None:
        """The desktop changed the keys later (the user, in its settings): say so."""
        if generation != self._generation or self._backend is None:
            return
        before, self.bound = self.bound, dict(bound)
        for action in ACTIONS:
            if action in bound and before.get(action) != bound[action]:
                self.notice.emit(
                    self.tr("The desktop now starts %1 with %2.")
                    .replace("%1", self._action_name(action))
                    .replace("%2", bound[action])
                )
        self.bound_changed.emit()

    # -- what the window reads -------------------------------------------------------------
    def _action_name(self, action: str | None) -> str:
        return self.tr("quick ask") if action == QUICK_ASK else self.tr("push-to-talk")

    def unavailable(self) -> str:
        return self.tr(
            "Global keys are not available on this desktop (no shortcuts portal and no X11 "
            "display); Hearth's own shortcuts work while its window is active, such as "
            "Ctrl+Shift+Space for quick ask."
        )

    def sentence(self, exc: HearthError | None) -> str:
        """One translated sentence for a problem (None: no backend here)."""
        if exc is None:
            return self.unavailable()
        kind = getattr(exc, "kind", "failed")
        action = getattr(exc, "action", None)
        keys = native_keys(self._keys.get(action or "", ""))
        name = self._action_name(action)
        if kind == "taken":
            return (
                self.tr(
                    "Another application already uses %1 (set for %2); choose another key in "
                    "Settings or free it there."
                )
                .replace("%1", keys)
                .replace("%2", name)
            )
        if kind == "same_key":
            return self.tr(
                "%1 is set for both push-to-talk and quick ask; give each its own key."
            ).replace("%1", keys)
        if kind == "bad_key":
            return (
                self.tr("%1 cannot be a global key (set for %2); choose another key.")
                .replace("%1", keys)
                .replace("%2", name)
            )
        if kind == "permission":
            return self.tr(
                "macOS has not allowed Hearth to watch the keyboard, so the global keys do "
                "nothing; allow Hearth in System Settings > Privacy & Security > Accessibility, "
                "then set the keys again."
            )
        if kind == "refused":
            return self.tr(
                "The desktop did not accept Hearth's global keys; set them again in Settings "
                "and allow them when the desktop asks."
            )
        return self.tr(
            "Global keys could not be set up (%1); Hearth's own shortcuts still work."
        ).replace("%1", str(exc))

    def status(self) -> str:
        """What works now, for Preferences."""
        if self.error:
            return self.error
        if self.busy:
            return self.tr("Setting up the global keys…")
        if not any(self._keys.values()):
            return self.tr("No global keys are set.")
        parts = [
            self.tr("%1: %2").replace("%1", self._action_name(a)).replace("%2", self.bound[a])
            for a in ACTIONS
            if a in self.bound
        ]
        via = self.tr("the desktop's shortcuts portal") if self.backend_name == "portal" else "X11"
        if self.backend_name == "pynput":
            via = self.tr("a keyboard listener")
        working = (
            self.tr("Working in every application (through %1): %2")
            .replace("%1", via)
            .replace("%2", self.tr("; ").join(parts))
        )
        if self.backend_name == "pynput" and sys.platform == "darwin":
            # A tap without the Input Monitoring permission starts but sees no keys.
            working += " " + self.tr(
                "If the keys do nothing, allow Hearth in System Settings > Privacy & Security "
                "> Accessibility and Input Monitoring."
            )
        return working

    # -- events ----------------------------------------------------------------------------
    @Slot(str, bool)
    def _deliver(self, action: str, pressed: bool) -> None:
        """On the GUI thread (the backend's thread emitted ``_event``)."""
        if action == QUICK_ASK and pressed:
            self.quick_ask.emit()
        elif action == PUSH_TO_TALK:
            (self.talk_pressed if pressed else self.talk_released).emit()

    def keys(self) -> dict[str, str]:
        return dict(self._keys)

    def describe(self) -> dict[str, Any]:
        """For logs and tests: backend, bound triggers, error."""
        return {"backend": self.backend_name, "bound": dict(self.bound), "error": self.error}
