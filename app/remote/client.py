"""A remote OpenAI-compatible endpoint behind the engine's own interface.

:class:`RemoteEngineClient` has the methods :class:`~app.engine.client.EngineClient`
offers its callers (``load``, ``generate``, ``cancel``, ``shutdown``, an ``on_event``
callback and :class:`~app.engine.client.RequestHandle` results carrying the same
protocol events), so the chat service, the CLI and the tests drive a conversation on
another machine exactly as on the local worker. ``load`` only checks that the server
lists the model; ``generate`` streams ``/v1/chat/completions`` over Server-Sent Events
on its own thread; ``cancel`` cuts that connection, which a server such as
``hearth serve`` takes as "stop generating".

HTTP is httpx2's (the successor of httpx that huggingface_hub and openai already pull
in): one client per endpoint, kept for the client's life so connections are reused,
proxies and certificates from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``,
``NO_PROXY``, ``SSL_CERT_FILE``), and its Server-Sent Events decoder. Failures become
:class:`~app.core.errors.RemoteError` subclasses whose message tells the user what to do.

What the client adds to the server's answer:

- A reply counts as finished only when the server said so (a ``finish_reason``). A
  stream that ends or breaks before that (server killed, connection reset) is a
  :class:`~app.core.errors.RemoteCutOffError`, never a finished reply.
- Token counts are the server's ``usage`` when it sends one; otherwise the completion
  count is the number of streamed text pieces (llama.cpp-based servers send one token
  per piece) and the prompt count stays 0, unknown.
- ``top_k``, ``min_p`` and ``repeat_penalty`` are not OpenAI fields: they are sent as
  extra body fields (llama.cpp-based servers take them) whenever they differ from
  llama.cpp's defaults, so a changed value is honoured or refused by the server (its
  400 is shown), never dropped; at the defaults they are left out, so a plain request
  stays one any OpenAI-compatible server accepts.
"""

from __future__ import annotations

import contextlib
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

import httpx2

from app.core.errors import (
    ConfigError,
    HearthError,
    ModelNotFoundError,
    RemoteAuthError,
    RemoteCutOffError,
    RemoteError,
    RemoteRateLimitError,
    RemoteTimeoutError,
    RemoteUnreachableError,
)
from app.core.generation import (
    IMAGE_MARK,
    JSON_OBJECT_SCHEMA,
    GenerationParams,
    GenerationStats,
    Message,
)
from app.core.i18n import translate
from app.engine import protocol as p
from app.engine.client import EventCallback, RequestHandle

log = logging.getLogger(__name__)

# Sampling fields outside the OpenAI API, sent only when they differ from these
# (llama.cpp's defaults, which llama.cpp-based servers assume anyway).
_LLAMA_DEFAULTS = GenerationParams()
EXTRA_SAMPLING = ("top_k", "min_p", "repeat_penalty")


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
            raise ConfigError(
                translate(
                    "Errors",
                    "{url!r} is not an endpoint address; use http(s)://HOST:PORT/v1.",
                ).format(url=url)
            )
        path = parts.path.rstrip("/")
        if not path.endswith("/v1"):
            path += "/v1"  # people paste the server root as often as the /v1 URL
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError(
                translate(
                    "Errors",
                    "{url!r} has an invalid port number.",
                ).format(url=url)
            ) from None
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
        headers = {"Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # One client for the endpoint's life: its pool keeps connections open between
        # requests; trust_env reads proxies and CA bundles from the environment.
        self.http = httpx2.Client(
            base_url=self.endpoint.url,
            headers=headers,
            timeout=httpx2.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            trust_env=True,
        )
        # Beside a local engine (ids from 1) the window starts these far above, so a
        # request id always says which backend it belongs to.
        self._ids = itertools.count(first_request_id)
        self._lock = threading.Lock()
        self._model: str | None = None
        self._sees: dict[str, bool] = {}  # model name: whether it reads images
        self._pending: dict[int, _Stream] = {}

    # -- the EngineClient surface --------------------------------------------------------
    @property
    def model(self) -> str | None:
        return self._model

    def start(self) -> None:
        """Nothing to start: connections open on the first request."""

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
        """Stop a generation: its connection is cut and it ends with ``cancelled``."""
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
        """Cancel every generation in flight, wait up to ``timeout``, close connections."""
        with self._lock:
            streams = list(self._pending.values())
        for stream in streams:
            stream.cancel()
        deadline = time.monotonic() + timeout
        for stream in streams:
            stream.handle._done.wait(max(0.0, deadline - time.monotonic()))
        self.http.close()

    # -- plain calls ---------------------------------------------------------------------
    def models(self) -> list[str]:
        """Chat model names the server lists (Hearth's own speech models left out)."""
        payload = self.request_json("GET", "/models")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise RemoteError(
                translate(
                    "Errors",
                    "{url}/models did not answer with a model list; is this an "
                    "OpenAI-compatible server?",
                ).format(url=self.endpoint.url)
            )
        cards = [
            m
            for m in data
            if isinstance(m, dict) and "id" in m and m.get("hearth_kind", "chat") == "chat"
        ]
        # Hearth says which of its models see images; other servers do not say, so a
        # request with images goes and the server answers for itself.
        self._sees = {str(m["id"]): m.get("hearth_vision") is not False for m in cards}
        return [str(m["id"]) for m in cards]

    def request_json(self, method: str, path: str, body: Any = None) -> Any:
        """One plain request to ``/v1`` + ``path``; its JSON answer, or a RemoteError."""
        try:
            response = self.http.request(method, path, json=body)
        except httpx2.HTTPError as exc:
            raise self._network_error(exc) from exc
        _raise_for_status(response, self.endpoint.url)
        try:
            return response.json()
        except ValueError:
            raise RemoteError(
                translate(
                    "Errors",
                    "{url}{path} did not answer with JSON; is this an OpenAI-compatible server?",
                ).format(url=self.endpoint.url, path=path)
            ) from None

    # -- workers -------------------------------------------------------------------------
    def _load(self, handle: RequestHandle, name: str) -> None:
        started = time.perf_counter()
        try:
            names = self.models()
            if name not in names:
                listed = ", ".join(names[:10]) or "none"
                raise ModelNotFoundError(
                    translate(
                        "Errors",
                        "The server at {url} has no model {name!r} (it lists: {listed}).",
                    ).format(url=self.endpoint.url, name=name, listed=listed)
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
            vision=self._sees.get(name, True),
        )
        self._emit(handle, loaded)

    def _generate(self, stream: _Stream, messages: list[Message], params: GenerationParams) -> None:
        rid = stream.handle.request_id
        try:
            if self._model is None:
                raise ModelNotFoundError(translate("Errors", "Choose a model on the server first."))
            body = chat_body(self._model, messages, params)
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
        reply = _Reply(started=time.perf_counter())
        try:
            request = self.http.build_request("POST", "/chat/completions", json=body)
            response = self.http.send(request, stream=True)
        except httpx2.HTTPError as exc:
            if stream.cancelled:
                return reply.done(rid, "cancelled")
            raise self._network_error(exc) from exc
        try:
            if not stream.attach(response):
                return reply.done(rid, "cancelled")
            if response.status_code >= 300:
                response.read()
                _raise_for_status(response, self.endpoint.url)
            self._emit(stream.handle, p.PromptPrepared(rid, 0, 0, None))
            try:
                for payload in _chat_chunks(response):
                    if stream.cancelled:
                        break
                    text = reply.take(payload, self.endpoint.url)
                    if text:
                        self._emit(stream.handle, p.Delta(rid, text))
            except (httpx2.HTTPError, OSError, ValueError) as exc:
                # A cancel cuts the socket under the reader: that error is the cancel. A
                # break after the server finished the reply (before its usage or
                # [DONE]) loses nothing of it.
                if not stream.cancelled and reply.finish_reason is None:
                    raise self._cut_off(reply, exc) from exc
        finally:
            with contextlib.suppress(httpx2.HTTPError, OSError):
                response.close()
        if stream.cancelled:
            return reply.done(rid, "cancelled")
        if reply.finish_reason is None:
            raise self._cut_off(reply, None)
        return reply.done(rid, reply.finish_reason)

    # -- errors --------------------------------------------------------------------------
    def _cut_off(self, reply: _Reply, exc: BaseException | None) -> RemoteError:
        if isinstance(exc, httpx2.TimeoutException):
            return self._network_error(exc)
        how = "the connection broke" if exc is not None else "the stream ended"
        return RemoteCutOffError(
            translate(
                "Errors",
                "The reply from {url} was cut off after {pieces} pieces ({how} before "
                "the server finished it); check the server and try again.",
            ).format(url=self.endpoint.url, pieces=reply.pieces, how=how)
        )

    def _network_error(self, exc: BaseException) -> RemoteError:
        url = self.endpoint.url
        root = _root_cause(exc)
        if isinstance(exc, httpx2.TimeoutException) and not isinstance(exc, httpx2.ConnectTimeout):
            return RemoteTimeoutError(
                translate(
                    "Errors",
                    "The server at {url} stopped answering (no data for {seconds:g} s). It may "
                    "be overloaded; try again or check the server.",
                ).format(url=url, seconds=self.read_timeout)
            )
        if isinstance(exc, httpx2.ProxyError):
            return RemoteUnreachableError(
                translate(
                    "Errors",
                    "The proxy refused the connection to {url} ({error}). Check HTTP_PROXY, "
                    "HTTPS_PROXY and NO_PROXY.",
                ).format(url=url, error=exc)
            )
        if isinstance(root, ssl.SSLError):
            return RemoteUnreachableError(
                translate(
                    "Errors",
                    "A secure connection to {url} failed ({error}). Check the address and the "
                    "server's certificate.",
                ).format(url=url, error=root)
            )
        if isinstance(root, socket.gaierror):
            return RemoteUnreachableError(
                translate(
                    "Errors", "Cannot find the host {host}; check the endpoint address."
                ).format(host=self.endpoint.host)
            )
        if isinstance(root, ConnectionRefusedError):
            return RemoteUnreachableError(
                translate(
                    "Errors",
                    "Nothing answers at {url} (connection refused). Check the address and port, "
                    "and that the server is running.",
                ).format(url=url)
            )
        if isinstance(exc, httpx2.ConnectTimeout):
            return RemoteUnreachableError(
                translate(
                    "Errors",
                    "Cannot reach {url} (no answer in {seconds:g} s). Check the address and "
                    "your network.",
                ).format(url=url, seconds=self.connect_timeout)
            )
        if isinstance(exc, httpx2.ConnectError):
            reason = root.strerror if isinstance(root, OSError) and root.strerror else exc
            return RemoteUnreachableError(
                translate(
                    "Errors", "Cannot reach {url} ({error}). Check the address and your network."
                ).format(url=url, error=reason)
            )
        return RemoteError(
            translate(
                "Errors", "The server at {url} broke off the answer ({error}); try again."
            ).format(url=url, error=exc)
        )

    def _emit(self, handle: RequestHandle, event: p.Event) -> None:
        handle._push(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("remote event callback failed")


@dataclass
class _Reply:
    """What a streamed reply has brought so far."""

    started: float
    text: str = ""
    pieces: int = 0  # streamed text pieces: the token count when the server sends none
    first_at: float | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    thinking: bool = False  # inside the server's reasoning_content, passed on in <think>

    def take(self, payload: dict[str, Any], url: str) -> str:
        """Fold one chunk in; return the text it adds."""
        if "error" in payload:
            raise _error_from_body(payload, 500, url)
        if isinstance(payload.get("usage"), dict):
            self.usage = payload["usage"]
        added = ""
        for choice in payload.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            text = self._text(delta) if isinstance(delta, dict) else ""
            if text:
                if self.first_at is None:
                    self.first_at = time.perf_counter()
                self.pieces += 1
                added += text
            if choice.get("finish_reason"):
                self.finish_reason = "length" if choice["finish_reason"] == "length" else "stop"
        self.text += added
        return added

    def _text(self, delta: dict[str, Any]) -> str:
        """A delta's text; a reasoning model's thinking (``reasoning_content``, as Hearth
        and llama-server send it, or ``reasoning``) comes as a ``<think>`` block, so the
        window shows it apart from the answer as it would a local model's."""
        thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
        content = delta.get("content") or ""
        text = ""
        if isinstance(thought, str) and thought:
            text += thought if self.thinking else "<think>" + thought
            self.thinking = True
        if isinstance(content, str) and content:
            text += "</think>" + content if self.thinking else content
            self.thinking = False
        return text

    def done(self, rid: int, reason: str) -> p.GenerationDone:
        ended = time.perf_counter()
        usage = self.usage or {}
        completion = int(usage.get("completion_tokens") or 0) or self.pieces
        decode_s = ended - self.first_at if self.first_at is not None else 0.0
        stats = GenerationStats(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=completion,
            ttft_s=(self.first_at or ended) - self.started,
            tokens_per_s=(completion - 1) / decode_s if completion > 1 and decode_s > 0 else 0.0,
            total_s=ended - self.started,
            n_gpu_layers=0,
            n_ctx=0,
            backend="remote",
        )
        return p.GenerationDone(rid, self.text, reason, stats)


class _Stream:
    """One generation's response, so another thread can cut its connection."""

    def __init__(self, handle: RequestHandle) -> None:
        self.handle = handle
        self.cancelled = False
        self._response: httpx2.Response | None = None
        self._lock = threading.Lock()

    def attach(self, response: httpx2.Response) -> bool:
        """Remember ``response``; False if the generation was cancelled already."""
        with self._lock:
            self._response = response
            return not self.cancelled

    def cancel(self) -> None:
        """Cut the connection under the reader (the server sees the client leave).

        Before the response headers arrive there is no socket to cut: the flag makes
        the reader close the response as soon as they do.
        """
        with self._lock:
            self.cancelled = True
            response = self._response
        if response is None:
            return
        network = response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if isinstance(sock, socket.socket):
            # shutdown (not close) wakes the reading thread at once; the pool then
            # drops the broken connection.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def chat_body(model: str, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
    """The ``/chat/completions`` body for ``params`` (see the module notes on extras)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [openai_message(m) for m in messages],
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
    if params.json_schema:
        body["response_format"] = (
            {"type": "json_object"}
            if params.json_schema == JSON_OBJECT_SCHEMA
            else {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": json.loads(params.json_schema)},
            }
        )
    if params.logit_bias:
        body["logit_bias"] = {str(token): bias for token, bias in params.logit_bias}
    for name in EXTRA_SAMPLING:
        value = getattr(params, name)
        if value != getattr(_LLAMA_DEFAULTS, name):
            body[name] = value
    return body


def openai_message(message: Message) -> Message:
    """``message`` as OpenAI's API takes it: a user turn's images (Hearth's ``"images"``,
    encoded bytes) become ``image_url`` parts with ``data:`` URLs, each where its
    IMAGE_MARK was in the text (or before the text), as ``hearth serve`` reads them back."""
    images = message.get("images")
    if not images:
        return message
    import base64

    text = str(message.get("content") or "")
    pieces = text.split(IMAGE_MARK)
    if len(pieces) != len(images) + 1:  # no marks: the images go first, as the engine
        # puts them (the text on a line of its own), so a Hearth server reads the same.
        rest = text.replace(IMAGE_MARK, "")
        pieces = ["" for _ in images] + ["\n" + rest if rest else ""]
    parts: list[dict[str, Any]] = []
    for piece, data in zip(pieces, [*images, None], strict=True):
        if piece:
            parts.append({"type": "text", "text": piece})
        if data is not None:
            mime = "image/png" if bytes(data[:8]) == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
            url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
    converted = {k: v for k, v in message.items() if k != "images"}
    converted["content"] = parts
    return converted


def _chat_chunks(response: httpx2.Response) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a chat stream, up to ``[DONE]``."""
    events = iter(httpx2.EventSource(response))
    for event in events:
        if event.data == "[DONE]":
            # Read to the body's end so the connection goes back to the pool; the reply
            # is whole, so a connection that breaks now changes nothing.
            with contextlib.suppress(httpx2.HTTPError, OSError):
                for _ in events:
                    pass
            return
        try:
            payload = json.loads(event.data)
        except ValueError:
            continue  # a keep-alive or a vendor's comment: not ours to judge
        if isinstance(payload, dict):
            yield payload


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost cause (httpx2 wraps httpcore's error, which wraps the OSError)."""
    seen = exc
    for _ in range(10):  # a bound, should a chain ever loop
        inner = seen.__cause__ or seen.__context__
        if inner is None:
            break
        seen = inner
    return seen


def _raise_for_status(response: httpx2.Response, url: str) -> None:
    if response.status_code < 300:
        return
    try:
        payload = response.json()
    except ValueError:
        payload = {"error": {"message": response.text[:300]}}
    raise _error_from_body(payload, response.status_code, url, response.headers.get("Retry-After"))


def _error_from_body(
    payload: Any, status: int, url: str, retry_after: str | None = None
) -> RemoteError | ModelNotFoundError:
    error = payload.get("error") if isinstance(payload, dict) else None
    if error is None and isinstance(payload, dict) and "detail" in payload:
        error = payload["detail"]  # FastAPI-based servers (llama_cpp.server) say it here
    message = str(error.get("message") if isinstance(error, dict) else error or "").strip()
    said = (
        translate("Errors", " The server said: {message}").format(message=message)
        if message
        else ""
    )
    if status in (401, 403):
        return RemoteAuthError(
            translate(
                "Errors",
                "The server at {url} refused the API key (HTTP {status}). Check the key "
                "(--api-key, or the endpoint settings).{said}",
            ).format(url=url, status=status, said=said)
        )
    if status == 429:
        if retry_after:
            busy = translate(
                "Errors",
                "The server at {url} is busy or limits this key (HTTP 429); try again in "
                "{seconds} s.{said}",
            ).format(url=url, seconds=retry_after, said=said)
        else:
            busy = translate(
                "Errors",
                "The server at {url} is busy or limits this key (HTTP 429); try again in a "
                "moment.{said}",
            ).format(url=url, said=said)
        return RemoteRateLimitError(busy)
    if status == 404 and ("model" in message.lower()):
        return ModelNotFoundError(
            translate("Errors", "The server at {url} does not have that model.{said}").format(
                url=url, said=said
            )
        )
    if status in (408, 504):
        return RemoteTimeoutError(
            translate("Errors", "The server at {url} timed out (HTTP {status}).{said}").format(
                url=url, status=status, said=said
            )
        )
    return RemoteError(
        translate("Errors", "The server at {url} answered HTTP {status}.{said}").format(
            url=url, status=status, said=said
        )
    )
