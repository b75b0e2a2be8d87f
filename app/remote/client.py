"""A remote OpenAI-compatible endpoint behind the engine's own interface.

:class:`RemoteEngineClient` has the methods :class:`~app.engine.client.EngineClient`
offers its callers (``load``, ``generate``, ``cancel``, ``shutdown``, an ``on_event``
callback and :class:`~app.engine.client.RequestHandle` results carrying the same
protocol events), so the chat service, the CLI and the tests drive a conversation on
another machine exactly as on the local worker. ``load`` only checks that the server
lists the model; ``generate`` streams ``/v1/chat/completions`` over Server-Sent Events
on its own thread; ``cancel`` closes that connection, which a server such as
``hearth serve`` takes as "stop generating".

Plain standard library (``http.client``): no extra dependency, and the socket is ours
to shut down from another thread. Failures become :class:`~app.core.errors.RemoteError`
subclasses whose message tells the user what to do.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import (
    ConfigError,
    HearthError,
    ModelNotFoundError,
    RemoteAuthError,
    RemoteError,
    RemoteRateLimitError,
    RemoteTimeoutError,
    RemoteUnreachableError,
)
from app.core.generation import GenerationParams, GenerationStats, Message
from app.engine import protocol as p
from app.engine.client import EventCallback, RequestHandle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """Where a remote server is: ``https://host:port/v1`` split into its parts."""

    scheme: str
    host: str
    port: int
    base_path: str  # "/v1", without a trailing slash

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url.strip() if "://" in url else f"http://{url.strip()}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{url!r} is not an endpoint address; use http(s)://HOST:PORT/v1.")
        path = parts.path.rstrip("/")
        if not path.endswith("/v1"):
            path += "/v1"  # people paste the server root as often as the /v1 URL
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError(f"{url!r} has an invalid port number.") from None
        return cls(parts.scheme, parts.hostname, port, path)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.base_path}"


class RemoteEngineClient:
    """Talks to ``/v1`` of an OpenAI-compatible server as if it were the local engine."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        on_event: EventCallback | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        first_request_id: int = 1,
    ) -> None:
        self.endpoint = Endpoint.parse(url)
        self.api_key = api_key or None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout  # longest silence while a reply is expected
        self._on_event = on_event
        # Beside a local engine (ids from 1) the window starts these far above, so a
        # request id always says which backend it belongs to.
        self._ids = itertools.count(first_request_id)
        self._lock = threading.Lock()
        self._model: str | None = None
        self._pending: dict[int, _Stream] = {}

    # -- the EngineClient surface --------------------------------------------------------
    @property
    def model(self) -> str | None:
        return self._model

    def start(self) -> None:
        """Nothing to start: each request opens its own connection."""

    def load(self, path: str, **_options: Any) -> RequestHandle:
        """Choose model ``path`` (its name on the server); fails if the server lacks it.

        Engine options (context length, GPU layers, ...) belong to the server and are
        ignored here.
        """
        handle = RequestHandle(next(self._ids), "load")
        threading.Thread(
            target=self._load, args=(handle, path), name="remote-load", daemon=True
        ).start()
        return handle

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle:
        handle = RequestHandle(next(self._ids), "generate")
        stream = _Stream(handle)
        with self._lock:
            self._pending[handle.request_id] = stream
        threading.Thread(
            target=self._generate,
            args=(stream, list(messages), params or GenerationParams()),
            name="remote-generate",
            daemon=True,
        ).start()
        return handle

    def cancel(self, target: RequestHandle | int) -> None:
        """Stop a generation: its connection is closed and it ends with ``cancelled``."""
        target_id = target.request_id if isinstance(target, RequestHandle) else target
        with self._lock:
            stream = self._pending.get(target_id)
        if stream is not None:
            stream.cancel()

    def hold(self, target: RequestHandle | int, seconds: float) -> None:
        """Nothing to do: a remote generation does not share this computer's cores."""

    def release(self, target: RequestHandle | int) -> None:
        """Nothing to do (see :meth:`hold`)."""

    def unload(self) -> RequestHandle:
        handle = RequestHandle(next(self._ids), "unload")
        self._model = None
        self._emit(handle, p.ModelUnloaded(handle.request_id))
        return handle

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every generation in flight and wait up to ``timeout`` for them to end."""
        with self._lock:
            streams = list(self._pending.values())
        for stream in streams:
            stream.cancel()
        deadline = time.monotonic() + timeout
        for stream in streams:
            stream.handle._done.wait(max(0.0, deadline - time.monotonic()))

    # -- plain calls ---------------------------------------------------------------------
    def models(self) -> list[str]:
        """Chat model names the server lists (Hearth's own speech models left out)."""
        payload = self._request_json("GET", "/models")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise RemoteError(
                f"{self.endpoint.url}/models did not answer with a model list; "
                "is this an OpenAI-compatible server?"
            )
        return [
            str(m["id"])
            for m in data
            if isinstance(m, dict) and "id" in m and m.get("hearth_kind", "chat") == "chat"
        ]

    # -- workers -------------------------------------------------------------------------
    def _load(self, handle: RequestHandle, name: str) -> None:
        started = time.perf_counter()
        try:
            names = self.models()
            if name not in names:
                listed = ", ".join(names[:10]) or "none"
                raise ModelNotFoundError(
                    f"The server at {self.endpoint.url} has no model {name!r} (it lists: {listed})."
                )
        except HearthError as exc:
            self._emit(handle, p.ErrorEvent(handle.request_id, type(exc).__name__, str(exc)))
            return
        self._model = name
        loaded = p.ModelLoaded(
            request_id=handle.request_id,
            path=name,
            n_ctx=0,
            n_gpu_layers=0,
            backend="remote",
            chat_format="server",
            chat_format_source="remote",
            load_s=time.perf_counter() - started,
            plan=f"Runs on {self.endpoint.url}.",
        )
        self._emit(handle, loaded)

    def _generate(self, stream: _Stream, messages: list[Message], params: GenerationParams) -> None:
        rid = stream.handle.request_id
        try:
            if self._model is None:
                raise ModelNotFoundError("Choose a model on the server first.")
            body = _chat_body(self._model, messages, params)
            final = self._run_stream(stream, body)
        except HearthError as exc:
            final = p.ErrorEvent(rid, type(exc).__name__, str(exc))
        except Exception as exc:  # never leave a handle without its final event
            log.exception("remote generation failed")
            final = p.ErrorEvent(rid, "RemoteError", f"The remote request failed: {exc}")
        with self._lock:
            self._pending.pop(rid, None)
        self._emit(stream.handle, final)

    def _run_stream(self, stream: _Stream, body: dict[str, Any]) -> p.Event:
        rid = stream.handle.request_id
        started = time.perf_counter()
        conn = self._connect()
        if not stream.attach(conn):
            conn.close()
            return _done(rid, "", reason="cancelled", started=started, first_at=None, usage=None)
        pieces: list[str] = []
        first_at: float | None = None
        reason = "stop"
        usage: dict[str, Any] | None = None
        try:
            response = self._send(conn, "POST", "/chat/completions", body)
            self._emit(stream.handle, p.PromptPrepared(rid, 0, 0, None))
            for payload in _sse_events(response):
                if stream.cancelled:
                    break
                if "error" in payload:
                    raise _error_from_body(payload, 500, self.endpoint.url)
                if payload.get("usage"):
                    usage = payload["usage"]
                for choice in payload.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        if first_at is None:
                            first_at = time.perf_counter()
                        pieces.append(text)
                        self._emit(stream.handle, p.Delta(rid, text))
                    if choice.get("finish_reason"):
                        reason = "length" if choice["finish_reason"] == "length" else "stop"
        except (OSError, http.client.HTTPException, RemoteError) as exc:
            # A cancel shuts the socket down under the reader: that error is the cancel.
            if not stream.cancelled:
                if isinstance(exc, RemoteError):
                    raise
                raise self._network_error(exc) from exc
        finally:
            conn.close()
        if stream.cancelled:
            reason = "cancelled"
        return _done(
            rid, "".join(pieces), reason=reason, started=started, first_at=first_at, usage=usage
        )

    # -- HTTP ----------------------------------------------------------------------------
    def _connect(self) -> http.client.HTTPConnection:
        ep = self.endpoint
        if ep.scheme == "https":
            return http.client.HTTPSConnection(
                ep.host, ep.port, timeout=self.connect_timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(ep.host, ep.port, timeout=self.connect_timeout)

    def _send(
        self, conn: http.client.HTTPConnection, method: str, path: str, body: Any = None
    ) -> http.client.HTTPResponse:
        """Send one request; return the response if it is a 2xx, raise a RemoteError if not."""
        headers = {"Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(self.read_timeout)  # connected: now wait for the model
            conn.request(method, self.endpoint.base_path + path, body=data, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc) from exc
        if response.status >= 300:
            raw = response.read(64 * 1024)
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"error": {"message": raw.decode("utf-8", "replace")[:300]}}
            raise _error_from_body(
                payload, response.status, self.endpoint.url, response.getheader("Retry-After")
            )
        return response

    def _request_json(self, method: str, path: str, body: Any = None) -> Any:
        conn = self._connect()
        try:
            response = self._send(conn, method, path, body)
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc) from exc
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteError(
                f"{self.endpoint.url}{path} did not answer with JSON; "
                "is this an OpenAI-compatible server?"
            ) from None

    def _network_error(self, exc: BaseException) -> RemoteError:
        url = self.endpoint.url
        if isinstance(exc, TimeoutError | socket.timeout):
            return RemoteTimeoutError(
                f"The server at {url} stopped answering (no data for "
                f"{self.read_timeout:g} s). It may be overloaded; try again or check the server."
            )
        if isinstance(exc, ssl.SSLError):
            return RemoteUnreachableError(
                f"A secure connection to {url} failed ({exc}). Check the address and "
                "the server's certificate."
            )
        if isinstance(exc, socket.gaierror):
            return RemoteUnreachableError(
                f"Cannot find the host {self.endpoint.host}; check the endpoint address."
            )
        if isinstance(exc, ConnectionRefusedError):
            return RemoteUnreachableError(
                f"Nothing answers at {url} (connection refused). Check the address and port, "
                "and that the server is running."
            )
        if isinstance(exc, OSError):
            return RemoteUnreachableError(
                f"Cannot reach {url} ({exc.strerror or exc}). Check the address and your network."
            )
        return RemoteError(f"The server at {url} broke off the answer ({exc}); try again.")

    def _emit(self, handle: RequestHandle, event: p.Event) -> None:
        handle._push(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("remote event callback failed")


class _Stream:
    """One generation's connection, so another thread can cut it."""

    def __init__(self, handle: RequestHandle) -> None:
        self.handle = handle
        self.cancelled = False
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def attach(self, conn: http.client.HTTPConnection) -> bool:
        """Remember ``conn``; False if the generation was cancelled already."""
        with self._lock:
            self._conn = conn
            return not self.cancelled

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            # shutdown (not close) wakes the reading thread at once; it closes the socket.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _chat_body(model: str, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": params.temperature,
        "top_p": params.top_p,
    }
    if params.max_tokens:
        body["max_tokens"] = params.max_tokens
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    return body


def _sse_events(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a Server-Sent Events stream, up to ``[DONE]``."""
    data: list[str] = []
    while True:
        line = response.readline()
        if not line:
            return
        text = line.decode("utf-8").rstrip("\r\n")
        if text.startswith("data:"):
            data.append(text[5:].lstrip())
        elif not text and data:
            joined = "\n".join(data)
            data.clear()
            if joined == "[DONE]":
                return
            try:
                payload = json.loads(joined)
            except ValueError:
                continue  # a keep-alive or a vendor's comment: not ours to judge
            if isinstance(payload, dict):
                yield payload


def _error_from_body(
    payload: Any, status: int, url: str, retry_after: str | None = None
) -> RemoteError | ModelNotFoundError:
    error = payload.get("error") if isinstance(payload, dict) else None
    message = str(error.get("message") if isinstance(error, dict) else error or "").strip()
    said = f" The server said: {message}" if message else ""
    if status in (401, 403):
        return RemoteAuthError(
            f"The server at {url} refused the API key (HTTP {status}). Check the key "
            f"(--api-key, or the endpoint settings).{said}"
        )
    if status == 429:
        wait = f" in {retry_after} s" if retry_after else " in a moment"
        return RemoteRateLimitError(
            f"The server at {url} is busy or limits this key (HTTP 429); try again{wait}.{said}"
        )
    if status == 404 and ("model" in message.lower()):
        return ModelNotFoundError(f"The server at {url} does not have that model.{said}")
    if status in (408, 504):
        return RemoteTimeoutError(f"The server at {url} timed out (HTTP {status}).{said}")
    return RemoteError(f"The server at {url} answered HTTP {status}.{said}")


def _done(
    rid: int,
    text: str,
    *,
    reason: str,
    started: float,
    first_at: float | None,
    usage: dict[str, Any] | None,
) -> p.GenerationDone:
    ended = time.perf_counter()
    completion = int((usage or {}).get("completion_tokens") or 0)
    decode_s = ended - first_at if first_at is not None else 0.0
    stats = GenerationStats(
        prompt_tokens=int((usage or {}).get("prompt_tokens") or 0),
        completion_tokens=completion,
        ttft_s=(first_at or ended) - started,
        tokens_per_s=(completion - 1) / decode_s if completion > 1 and decode_s > 0 else 0.0,
        total_s=ended - started,
        n_gpu_layers=0,
        n_ctx=0,
        backend="remote",
    )
    return p.GenerationDone(rid, text, reason, stats)
