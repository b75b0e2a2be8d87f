"""Global keys on X11: a passive grab of each key on the root window (XGrabKey through
python-xlib), so the X server sends it to Hearth whichever window has the focus.

Everything X runs on one thread of its own (python-xlib's display is not shared between
threads): it opens the display, grabs, reports the result to :meth:`X11Keys.bind`, then
waits for key events without ever blocking the Qt loop. Another client that already grabs
the same chord makes the server answer BadAccess: that is a :class:`HotkeyError`
(``taken``) naming the action.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Mapping
from typing import Any

from app.core.i18n import translate
from app.services.global_keys import Chord, EventFn, HotkeyError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
REPEAT_PAIR_S = 0.05  # how long a release waits for the press key repeat sends with it


def _masks(chord: Chord) -> int:
    from Xlib import X

    bits = {"CTRL": X.ControlMask, "ALT": X.Mod1Mask, "SHIFT": X.ShiftMask, "LOGO": X.Mod4Mask}
    mask = 0
    for modifier in chord.modifiers:
        mask |= bits[modifier]
    return int(mask)


def _lock_variants() -> tuple[int, ...]:
    """Caps Lock and Num Lock (Mod2) change the state X compares: grab with each of them,
    so the key works whichever lock is on."""
    from Xlib import X

    return (0, int(X.LockMask), int(X.Mod2Mask), int(X.LockMask | X.Mod2Mask))


class X11Keys:
    """The X11 backend of :class:`app.services.global_keys.KeyBackend`."""

    name = "x11"

    def __init__(self, display: str | None = None) -> None:
        self.display_name = display  # None: $DISPLAY
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._result: dict[str, str] | HotkeyError | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()

    def bind(
        self, chords: Mapping[str, Chord], descriptions: Mapping[str, str], on_event: EventFn
    ) -> dict[str, str]:
        self._thread = threading.Thread(
            target=self._run, args=(dict(chords), on_event), name="global-keys-x11", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.close()
            raise HotkeyError(
                translate(
                    "KeyBackends", "The X server did not answer in time; global keys are off."
                ),
                kind="failed",
            )
        result = self._result
        if isinstance(result, HotkeyError):
            self._thread.join(START_TIMEOUT_S)
            raise result
        assert result is not None
        return result

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(START_TIMEOUT_S)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1

    # -- the X thread ----------------------------------------------------------------
    def _run(self, chords: dict[str, Chord], on_event: EventFn) -> None:
        from Xlib import display, error

        try:
            xd = display.Display(self.display_name)
        except (error.DisplayError, OSError) as exc:
            message = translate(
                "KeyBackends", "Cannot reach the X display ({error}); global keys are off."
            ).format(error=exc)
            self._finish_start(HotkeyError(message, kind="failed"))
            return
        try:
            keys = self._grab(xd, chords)
        except HotkeyError as exc:
            xd.close()
            self._finish_start(exc)
            return
        self._finish_start({a: chords[a].trigger() for a in chords})
        try:
            self._loop(xd, keys, on_event)
        except Exception:  # a broken connection must not take Hearth down
            log.exception("the X11 global keys stopped")
        finally:
            try:
                for keycode, mask in keys:
                    for lock in _lock_variants():
                        xd.screen().root.ungrab_key(keycode, mask | lock)
                xd.sync()
            except Exception:
                log.debug("ungrab failed (the display is gone)", exc_info=True)
            xd.close()

    def _finish_start(self, result: dict[str, str] | HotkeyError) -> None:
        self._result = result
        self._ready.set()

    def _grab(self, xd: Any, chords: dict[str, Chord]) -> dict[tuple[int, int], str]:
        """Grab every chord (all or none); (keycode, modifiers) -> action."""
        from Xlib import XK, X, error

        root = xd.screen().root
        grabbed: dict[tuple[int, int], str] = {}
        for action, chord in chords.items():
            keysym = XK.string_to_keysym(chord.keysym)
            keycode = xd.keysym_to_keycode(keysym) if keysym else 0
            if not keycode:
                self._ungrab(xd, grabbed)
                raise HotkeyError(
                    translate(
                        "KeyBackends",
                        "This keyboard has no {keysym} key; choose another key.",
                    ).format(keysym=chord.keysym),
                    kind="bad_key",
                    action=action,
                )
            mask = _masks(chord)
            catch = error.CatchError(error.BadAccess)
            for lock in _lock_variants():
                root.grab_key(
                    keycode, mask | lock, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catch
                )
            xd.sync()  # the server's answer (BadAccess) arrives by now
            if catch.get_error() is not None:
                for lock in _lock_variants():  # the variants that did succeed
                    root.ungrab_key(keycode, mask | lock)
                self._ungrab(xd, grabbed)
                raise HotkeyError(
                    translate(
                        "KeyBackends",
                        "Another application already uses {chord}; choose another key.",
                    ).format(chord=chord.trigger()),
                    kind="taken",
                    action=action,
                )
            grabbed[(keycode, mask)] = action
        return grabbed

    def _ungrab(self, xd: Any, grabbed: dict[tuple[int, int], str]) -> None:
        root = xd.screen().root
        for keycode, mask in grabbed:
            for lock in _lock_variants():
                root.ungrab_key(keycode, mask | lock)
        xd.sync()

    def _loop(self, xd: Any, keys: dict[tuple[int, int], str], on_event: EventFn) -> None:
        from Xlib import X

        relevant = int(X.ControlMask | X.Mod1Mask | X.ShiftMask | X.Mod4Mask)
        held: set[str] = set()
        waiting: list[Any] = []  # an event read while looking behind a release
        while not self._stop.is_set():
            if not waiting and not xd.pending_events():
                readable, _, _ = select.select([xd.fileno(), self._wake_r], [], [], 1.0)
                if self._wake_r in readable:
                    return
                if xd.fileno() not in readable:
                    continue
            event = waiting.pop(0) if waiting else xd.next_event()
            if event.type not in (X.KeyPress, X.KeyRelease):
                continue
            if event.type == X.KeyPress:
                action = keys.get((event.detail, event.state & relevant))
                if action is not None and action not in held:  # repeat: presses while held
                    held.add(action)
                    on_event(action, True)
                continue
            # A release by its key alone: the modifiers may have gone up first.
            ours = [a for (code, _m), a in keys.items() if code == event.detail and a in held]
            if not ours:
                continue
            action = ours[0]
            # Key repeat also sends a release right before each repeated press, with the
            # same time: that pair is not the key going up.
            if not xd.pending_events():
                # The repeated press may still be on its way: wait for it a moment.
                select.select([xd.fileno()], [], [], REPEAT_PAIR_S)
            if xd.pending_events():
                after = xd.next_event()
                if (
                    after.type == X.KeyPress
                    and after.detail == event.detail
                    and after.time == event.time
                ):
                    continue
                waiting.append(after)
            held.discard(action)
            on_event(action, False)
