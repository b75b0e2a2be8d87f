"""uvicorn's HTTP/1.1 protocol (h11) with the limits it lacks: a deadline on request
heads, a cap on connections, and JSON for the errors it answers itself.

uvicorn times out a kept-alive connection only until its first byte arrives, and a new
connection not at all, so a client that sends a header a byte at a time (slowloris) or
nothing would hold its connection for ever. Here a request head must arrive whole within
``head_timeout_s`` of its first byte, however slowly the bytes come, and a new connection
that sends nothing is closed after ``idle_timeout_s`` (an idle connection costs only a
descriptor, so it may wait longer than a head may take; reopening thousands of them every
few seconds would cost the event loop more than keeping them). At the
connection cap the connection idle longest is closed to make room; only when none is
idle is the newcomer turned away. (uvicorn's own ``limit_concurrency`` answers 503 to
every request once that many connections are open, idle ones included, so 2,000 idle
connections would lock every real client out.)
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.server.openai_api import ApiError


@dataclass(frozen=True)
class ConnectionLimits:
    head_timeout_s: float = 10.0  # from a request head's first byte to its end
    max_connections: int = 4096
    idle_timeout_s: float = 60.0  # a new connection that sends nothing


class GuardedH11Protocol(H11Protocol):
    """One connection; see the module docstring. ``limits`` is set on a subclass."""

    limits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started = False  # the timer runs for a head under way, not for silence
        self.idle_since = time.monotonic()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self.transport.close()
            return
        self._arm_head_timer(self.limits.idle_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._head_started and self._waiting_for_head():
            self._arm_head_timer(self.limits.head_timeout_s)  # the clock starts now
            self._head_started = True
        super().data_received(data)
        self._head_done_check()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self.idle_since = time.monotonic()
            # uvicorn's keep-alive timeout closes it if nothing comes; once bytes come,
            # the head deadline runs (uvicorn's timer stops at the first byte).
            self._head_started = False
            self._disarm_head_timer()
            self._head_done_check()  # a pipelined request may be under way already

    # -- the head deadline ---------------------------------------------------------------
    def _waiting_for_head(self) -> bool:
        return self.conn.their_state is h11.IDLE and (
            self.cycle is None or self.cycle.response_complete
        )

    def _arm_head_timer(self, seconds: float) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(seconds, self._head_late)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_done_check(self) -> None:
        if self._head_timer is not None and not self._waiting_for_head():
            self._disarm_head_timer()

    def _head_late(self) -> None:
        self._head_timer = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.close()

    # -- the connection cap --------------------------------------------------------------
    def _make_room(self) -> bool:
        """Close the connection idle longest (not this one); False if none is idle."""
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and c._waiting_for_head()
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.idle_since)
        oldest.transport.close()
        oldest.connections.discard(oldest)  # counted out now, not when the loop gets to it
        return True

    # -- errors uvicorn answers itself ---------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        error = ApiError(400, f"{msg.rstrip('.')}: this is not a valid HTTP/1.1 request.")
        body = json.dumps(error.body())
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers)))
            self.transport.write(self.conn.send(h11.Data(data=body.encode())))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:
            pass  # a response had started already: just hang up
        self.transport.close()


def protocol_class(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """The protocol with ``limits`` (uvicorn builds protocols from a class)."""
    return type("HearthH11Protocol", (GuardedH11Protocol,), {"limits": limits})
