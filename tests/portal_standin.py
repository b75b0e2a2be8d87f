"""A stand-in for the desktop's global-shortcuts portal: a real D-Bus service, owned as
org.freedesktop.portal.Desktop on a private session bus, that implements
org.freedesktop.portal.GlobalShortcuts as xdg-desktop-portal documents it (CreateSession
and BindShortcuts answer through a Request object's Response signal), records what is
bound, and sends Activated/Deactivated when a test presses a key.

``answer`` decides what BindShortcuts answers: 0 (bound), 1 (the user cancelled the
desktop's dialog), 2 (refused), None (no answer yet: the dialog is still open);
``triggers`` makes the desktop bind a shortcut to another trigger than the one asked for
(as a user can in the desktop's dialog); ``drop`` leaves shortcuts out of what is bound.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

BUS_NAME = "org.freedesktop.portal.Desktop"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
INTERFACE = "org.freedesktop.portal.GlobalShortcuts"
START_TIMEOUT_S = 20.0


@dataclass
class Bound:
    """One BindShortcuts call: the session and each shortcut's (id, description,
    preferred trigger)."""

    session: str
    shortcuts: list[tuple[str, str, str]]


@dataclass
class PortalStandIn:
    address: str
    answer: int | None = 0
    triggers: dict[str, str] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    version: int = 1
    registry: bool = True  # xdg-desktop-portal 1.19+: host applications say who they are
    registered: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    binds: list[Bound] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="portal-stand-in", daemon=True)
        self._counter = itertools.count(1)
        self._error: BaseException | None = None

    # -- the test's side -------------------------------------------------------------------
    def start(self) -> PortalStandIn:
        self._thread.start()
        assert self._ready.wait(START_TIMEOUT_S), f"the stand-in did not start ({self._error})"
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(START_TIMEOUT_S)

    def press(self, shortcut_id: str, session: str | None = None) -> None:
        self._shortcut_signal("Activated", shortcut_id, session)

    def release(self, shortcut_id: str, session: str | None = None) -> None:
        self._shortcut_signal("Deactivated", shortcut_id, session)

    def change(self, triggers: dict[str, str]) -> None:
        """The user gives shortcuts other triggers in the desktop's settings."""
        self.triggers.update(triggers)
        session = self.sessions[-1]
        shortcuts = [
            (
                sid,
                {"description": ("s", d), "trigger_description": ("s", self.triggers.get(sid, t))},
            )
            for sid, d, t in self.binds[-1].shortcuts
        ]
        address = DBusAddress(OBJECT_PATH, interface=INTERFACE)
        signal = new_signal(address, "ShortcutsChanged", "oa(sa{sv})", (session, shortcuts))
        self._outbox.put(signal)

    def _shortcut_signal(self, member: str, shortcut_id: str, session: str | None) -> None:
        session = session or self.sessions[-1]
        stamp = int(time.monotonic() * 1000)
        address = DBusAddress(OBJECT_PATH, interface=INTERFACE)
        self._outbox.put(new_signal(address, member, "osta{sv}", (session, shortcut_id, stamp, {})))

    # -- the service -----------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            with open_dbus_connection(self.address) as connection:
                reply = connection.send_and_get_reply(message_bus.RequestName(BUS_NAME, 4))
                assert reply.body[0] == 1, f"the stand-in could not own {BUS_NAME}"
                self._ready.set()
                while not self._stop.is_set():
                    while not self._outbox.empty():
                        connection.send(self._outbox.get())
                    try:
                        message = connection.receive(timeout=0.05)
                    except TimeoutError:
                        continue
                    if message.header.message_type == MessageType.method_call:
                        for answer in self._handle(message):
                            connection.send(answer)
        except BaseException as exc:  # seen by start() or the test's assertions
            self._error = exc
            self._ready.set()
            raise

    def _handle(self, message: Any) -> list[Any]:
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        interface = fields.get(HeaderFields.interface)
        sender = str(fields.get(HeaderFields.sender, ""))
        if interface == "org.freedesktop.host.portal.Registry" and member == "Register":
            if self.registry:
                self.registered.append(str(message.body[0]))
                return [new_method_return(message)]
        elif interface == "org.freedesktop.DBus.Properties" and member == "Get":
            if tuple(message.body) == (INTERFACE, "version"):
                return [new_method_return(message, "v", (("u", self.version),))]
        elif interface == INTERFACE and member == "CreateSession":
            (options,) = message.body
            token = options["session_handle_token"][1]
            session = f"{OBJECT_PATH}/session/{_escaped(sender)}/{token}"
            self.sessions.append(session)
            return self._answer(message, options, 0, {"session_handle": ("s", session)})
        elif interface == INTERFACE and member == "BindShortcuts":
            session, shortcuts, _parent, options = message.body
            asked = [
                (sid, info["description"][1], info.get("preferred_trigger", ("s", ""))[1])
                for sid, info in shortcuts
            ]
            self.binds.append(Bound(session, asked))
            taken = [
                (
                    sid,
                    {
                        "description": ("s", description),
                        "trigger_description": ("s", self.triggers.get(sid, trigger)),
                    },
                )
                for sid, description, trigger in asked
                if sid not in self.drop
            ]
            results = {"shortcuts": ("a(sa{sv})", taken)} if self.answer == 0 else {}
            answers = self._answer(message, options, self.answer or 0, results)
            return answers if self.answer is not None else answers[:1]
        elif interface == "org.freedesktop.portal.Session" and member == "Close":
            self.closed.append(str(fields.get(HeaderFields.path)))
            return [new_method_return(message)]
        return [new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", ("no",))]

    def _answer(
        self, call: Any, options: dict[str, Any], code: int, results: dict[str, Any]
    ) -> list[Any]:
        """The method's reply (the Request's path), then that Request's Response."""
        sender = str(call.header.fields.get(HeaderFields.sender, ""))
        token = options.get("handle_token", ("s", f"t{next(self._counter)}"))[1]
        path = f"{OBJECT_PATH}/request/{_escaped(sender)}/{token}"
        response = new_signal(
            DBusAddress(path, interface="org.freedesktop.portal.Request"),
            "Response",
            "ua{sv}",
            (code, results),
        )
        return [new_method_return(call, "o", (path,)), response]


def _escaped(sender: str) -> str:
    return sender.lstrip(":").replace(".", "_")
