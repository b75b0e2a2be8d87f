"""Global keys through the desktop's portal: org.freedesktop.portal.GlobalShortcuts on the
session bus (GNOME, KDE and other desktops, on Wayland and X11), with jeepney.

Why jeepney: it is pure Python, maintained, already installed (keyring's Secret Service
backend uses it) and needs no Qt, so this backend runs on its own threads and stays plain
Python like the X11 one; QtDBus is not part of PySide6-Essentials.

The portal's calls answer through a Request object's ``Response`` signal: we subscribe to
the request path we will get (it is made of our bus name and a token we choose) before
calling, then wait for the response. ``Activated``/``Deactivated`` carry the shortcut id,
which is the action's name.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.core.autostart import DESKTOP_NAME
from app.core.i18n import translate
from app.services.global_keys import Chord, EventFn, HotkeyError

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.portal.Desktop"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
INTERFACE = "org.freedesktop.portal.GlobalShortcuts"
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
SESSION_INTERFACE = "org.freedesktop.portal.Session"
REGISTRY_INTERFACE = "org.freedesktop.host.portal.Registry"
APP_ID = DESKTOP_NAME.removesuffix(".desktop")  # "hearth", as start at login installs it
PROBE_TIMEOUT_S = 5.0
# BindShortcuts may show the desktop's dialog and wait for the user.
ANSWER_TIMEOUT_S = 120.0
REPLY_TIMEOUT_S = 30.0  # the method's own reply (the Request's path) comes at once
_tokens = itertools.count(1)


def _address() -> str:
    return os.environ.get("DBUS_SESSION_BUS_ADDRESS") or "SESSION"


def _portal() -> Any:
    from jeepney import DBusAddress

    return DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)


def portal_offered(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the session bus has a portal with GlobalShortcuts (its ``version``
    property answers)."""
    from jeepney import Properties
    from jeepney.io.blocking import open_dbus_connection

    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    try:
        with open_dbus_connection(_address()) as connection:
            reply = connection.send_and_get_reply(
                Properties(_portal()).get("version"), timeout=timeout
            )
    except Exception as exc:  # no bus, no portal, no such interface, too slow
        log.debug("no global-shortcuts portal: %s", exc)
        return False
    from jeepney import MessageType

    return bool(reply.header.message_type == MessageType.method_return)


class PortalKeys:
    """The portal backend of :class:`app.services.global_keys.KeyBackend`."""

    name = "portal"

    def __init__(self, address: str | None = None) -> None:
        self.address = address or _address()
        self._router: Any = None
        self._connection: Any = None
        self._signals: queue.Queue[Any] = queue.Queue()
        self._filters: list[Any] = []
        self._closing = threading.Event()
        self._chords: dict[str, Chord] = {}
        # Called from the portal's thread with the new triggers when the desktop changes
        # them later (ShortcutsChanged).
        self.on_changed: Callable[[dict[str, str]], None] | None = None
        self._thread: threading.Thread | None = None
        self.session: str | None = None

    # -- binding -------------------------------------------------------------------------
    def bind(
        self, chords: Mapping[str, Chord], descriptions: Mapping[str, str], on_event: EventFn
    ) -> dict[str, str]:
        from jeepney import MatchRule
        from jeepney.io.threading import DBusRouter, open_dbus_connection

        try:
            self._connection = open_dbus_connection(self.address)
        except Exception as exc:
            raise HotkeyError(
                translate(
                    "KeyBackends",
                    "Cannot reach the session bus ({error}); global keys are off.",
                ).format(error=exc),
                kind="failed",
            ) from exc
        self._router = DBusRouter(self._connection)
        try:
            self._register()
            for member in ("Activated", "Deactivated", "ShortcutsChanged"):
                rule = MatchRule(
                    type="signal", interface=INTERFACE, member=member, path=OBJECT_PATH
                )
                self._listen(rule, self._signals)
            results = self._request(
                "CreateSession",
                "a{sv}",
                lambda token: (
                    {"handle_token": ("s", token), "session_handle_token": ("s", token)},
                ),
            )
            self.session = str(results.get("session_handle", ("s", ""))[1])
            if not self.session:
                raise HotkeyError(
                    translate(
                        "KeyBackends",
                        "The desktop opened no shortcuts session; global keys are off.",
                    ),
                    kind="failed",
                )
            shortcuts = [
                (
                    action,
                    {
                        "description": ("s", descriptions.get(action, action)),
                        "preferred_trigger": ("s", chord.trigger()),
                    },
                )
                for action, chord in chords.items()
            ]
            session = self.session
            results = self._request(
                "BindShortcuts",
                "oa(sa{sv})sa{sv}",
                lambda token: (session, shortcuts, "", {"handle_token": ("s", token)}),
            )
        except HotkeyError:
            self.close()
            raise
        except Exception as exc:  # the bus or the portal failed mid-way
            self.close()
            raise HotkeyError(
                translate(
                    "KeyBackends",
                    "The desktop's shortcuts portal failed ({error}); global keys are off.",
                ).format(error=exc),
                kind="failed",
            ) from exc
        self._chords = dict(chords)
        bound = self._triggers(results.get("shortcuts", ("a(sa{sv})", []))[1])
        self._thread = threading.Thread(
            target=self._dispatch, args=(on_event,), name="global-keys-portal", daemon=True
        )
        self._thread.start()
        return bound

    def _register(self) -> None:
        """Tell the portal which application this is (the id of Hearth's .desktop file):
        xdg-desktop-portal 1.19+ asks host applications to, before any other call, and the
        desktop names the keys after it. Older portals lack the call: nothing is lost."""
        from jeepney import DBusAddress, MessageType, new_method_call

        registry = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=REGISTRY_INTERFACE)
        call = new_method_call(registry, "Register", "sa{sv}", (APP_ID, {}))
        reply = self._router.send_and_get_reply(call, timeout=REPLY_TIMEOUT_S)
        if reply.header.message_type == MessageType.error:
            log.debug("the portal has no registry: %s", reply.body)

    def _listen(self, rule: Any, into: queue.Queue[Any]) -> None:
        """Ask the bus for the messages ``rule`` matches, and queue them here."""
        from jeepney.bus_messages import message_bus

        self._router.send_and_get_reply(message_bus.AddMatch(rule), timeout=PROBE_TIMEOUT_S)
        handle = self._router.filter(rule, queue=into)
        self._filters.append(handle)

    def _request(self, method: str, signature: str, body: Any) -> dict[str, Any]:
        """Call a portal method that answers with a Request; its Response's results."""
        from jeepney import MatchRule, new_method_call

        token = f"hearth{os.getpid()}_{next(_tokens)}"
        sender = str(self._router.unique_name).lstrip(":").replace(".", "_")
        path = f"{OBJECT_PATH}/request/{sender}/{token}"
        answers: queue.Queue[Any] = queue.Queue()
        rule = MatchRule(type="signal", interface=REQUEST_INTERFACE, member="Response", path=path)
        self._listen(rule, answers)
        reply = self._router.send_and_get_reply(
            new_method_call(_portal(), method, signature, body(token)), timeout=REPLY_TIMEOUT_S
        )
        from jeepney import MessageType

        if reply.header.message_type == MessageType.error:
            raise HotkeyError(
                translate(
                    "KeyBackends",
                    "The desktop's shortcuts portal refused {method} ({body}).",
                ).format(method=method, body=reply.body),
                kind="failed",
            )
        message = self._response(answers)
        code, results = message.body
        if code == 1:
            raise HotkeyError(
                translate(
                    "KeyBackends",
                    "The desktop's shortcut dialog was cancelled; the global keys are off.",
                ),
                kind="refused",
            )
        if code != 0:
            raise HotkeyError(
                translate("KeyBackends", "The desktop refused the global keys."), kind="refused"
            )
        return dict(results)

    def _response(self, answers: queue.Queue[Any]) -> Any:
        """The Response, waited for until it comes, the time is up or close() is called
        (Hearth quits while the desktop's dialog is still open)."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while not self._closing.is_set():
            try:
                return answers.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    break
        raise HotkeyError(
            translate(
                "KeyBackends",
                "The desktop did not answer about the global keys; try again in Settings.",
            ),
            kind="failed",
        )

    # -- events ----------------------------------------------------------------------------
    def _triggers(self, shortcuts: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
        """action -> the trigger as the desktop describes it, for our shortcuts."""
        bound: dict[str, str] = {}
        for shortcut_id, info in shortcuts:
            if shortcut_id in self._chords:
                shown = info.get("trigger_description", ("s", ""))[1]
                bound[str(shortcut_id)] = str(shown) or self._chords[shortcut_id].trigger()
        return bound

    def _dispatch(self, on_event: EventFn) -> None:
        from jeepney import HeaderFields

        while True:
            message = self._signals.get()
            if message is None:
                return
            if message.body[0] != self.session:
                continue
            member = message.header.fields.get(HeaderFields.member)
            try:
                if member == "ShortcutsChanged":
                    # The user changed a key in the desktop's settings.
                    if self.on_changed is not None:
                        self.on_changed(self._triggers(message.body[1]))
                else:
                    on_event(str(message.body[1]), member == "Activated")
            except Exception:
                log.exception("a global key's action failed")

    def close(self) -> None:
        """Close the session (the desktop forgets the keys) and the connection; a bind()
        still waiting for the desktop gives up."""
        self._closing.set()
        router, session = self._router, self.session
        if router is not None and session:
            from jeepney import DBusAddress, new_method_call

            address = DBusAddress(session, bus_name=BUS_NAME, interface=SESSION_INTERFACE)
            try:
                router.send_and_get_reply(new_method_call(address, "Close"), timeout=2.0)
            except Exception:
                log.debug("the portal session did not close", exc_info=True)
        for handle in self._filters:
            handle.close()
        self._filters.clear()
        self._signals.put(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._thread = None
        if router is not None:
            router.close()
            self._router = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.session = None
