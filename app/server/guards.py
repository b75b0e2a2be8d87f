"""What a request must pass before any endpoint sees it: Host, Origin, CORS and the key.

A pure ASGI middleware (no body is read here). Without these checks any web page the
user visits could POST to the server (``Content-Type: text/plain`` needs no preflight),
and DNS rebinding would let a page's own host name reach it. The defaults accept
localhost names only, as Ollama's ``OLLAMA_ORIGINS`` does; more are configured by flag
or setting. Every refusal is a JSON error that closes the connection, so an unread body
can never be taken for the next request.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.server.openai_api import ApiError

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
CORS_HEADERS = [
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
]


def split_list(text: object) -> tuple[str, ...]:
    """``"a, b,c"`` as ``("a", "b", "c")``: how flags, variables and settings list names."""
    if not isinstance(text, str):
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())


def saved_lists(extra: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The origins and hosts kept in the server settings (``settings.extra["server"]``)."""
    server = extra.get("server")
    server = server if isinstance(server, dict) else {}
    return split_list(server.get("origins")), split_list(server.get("hosts"))


def host_name(value: str) -> str:
    """The name in a ``Host`` header or an origin's authority, lower case, port removed."""
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8080
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _is_loopback_ip(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_local(name: str) -> bool:
    return name in LOCAL_NAMES or name.endswith(".localhost") or _is_loopback_ip(name)


@dataclass(frozen=True)
class Guard:
    """The checks' settings: extra hosts and origins ("*" allows any), key, CORS origin.

    ``any_host`` is for a server bound off loopback: it already needs a key, which a
    rebinding page does not have, and users reach it by names this server cannot know.
    """

    hosts: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    api_key: str | None = None
    cors_origin: str | None = None
    any_host: bool = False

    def host_allowed(self, host: str | None) -> bool:
        if host is None:
            return True  # HTTP/1.0 without Host: no browser sends that
        if self.any_host or "*" in self.hosts:
            return True
        name = host_name(host)
        return _is_local(name) or name in {host_name(h) for h in self.hosts}

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None:
            return True  # not a browser page: SDKs, curl
        allowed = set(self.origins) | ({self.cors_origin} if self.cors_origin else set())
        if "*" in allowed or origin in allowed:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and _is_local(host_name(parts.netloc))

    def key_ok(self, authorization: str | None) -> bool:
        if self.api_key is None:
            return True
        given = authorization or ""
        token = given[7:].strip() if given[:7].lower() == "bearer " else ""
        return hmac.compare_digest(token.encode(), self.api_key.encode())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_error(
    send: Send, error: ApiError, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Answer ``error`` as JSON and close the connection (its body stays unread)."""
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Refuses foreign hosts and origins and requests without the key; adds CORS headers."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    def _cors(self) -> list[tuple[bytes, bytes]]:
        origin = self.guard.cors_origin
        if not origin:
            return []
        return [(b"access-control-allow-origin", origin.encode("latin-1")), *CORS_HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await send_error(send, refusal, self._cors())
            return
        if scope["method"] == "OPTIONS" and self.guard.cors_origin:
            # A CORS preflight: browsers send it without credentials, so no key check.
            headers = [(b"content-length", b"0"), *self._cors()]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not self.guard.key_ok(_header(scope, b"authorization")):
            error = ApiError(
                401,
                "Missing or wrong API key; send it as 'Authorization: Bearer KEY'.",
                kind="authentication_error",
            )
            await send_error(send, error, self._cors())
            return
        cors = self._cors()
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _refusal(self, scope: Scope) -> ApiError | None:
        host = _header(scope, b"host")
        if not self.guard.host_allowed(host):
            return ApiError(
                403,
                f"This server does not answer to the host name {host!r}; add it with "
                "hearth serve --allow-host (or the server settings) if it is yours.",
                kind="permission_error",
            )
        origin = _header(scope, b"origin")
        if not self.guard.origin_allowed(origin):
            return ApiError(
                403,
                f"Requests from the web page at {origin!r} are not allowed; add the origin "
                "with hearth serve --allow-origin (or the server settings) if you trust it.",
                kind="permission_error",
            )
        if scope["method"] == "OPTIONS" and not self.guard.cors_origin:
            return ApiError(405, "CORS is off on this server (hearth serve --cors).")
        return None
