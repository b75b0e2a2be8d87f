"""``hearth serve``: an OpenAI-compatible HTTP API over Hearth's engine, library and voice.

Standard library only (``ThreadingHTTPServer``): one thread per connection, and every
generation goes through the :class:`~app.server.engine_bridge.EngineBridge`, so clients
share the one engine worker in arrival order. A client that hangs up has its generation
cancelled: streaming handlers notice on the next write, every handler also watches its
socket while it waits for the engine.

Safe defaults: loopback only unless an API key is set, no CORS unless asked for, a cap
on body size and on ``max_tokens``.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import ipaddress
import json
import logging
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.catalog.library import CHAT, STT, TTS, Library
from app.core.errors import (
    ConfigError,
    ContextOverflowError,
    HearthError,
    ModelError,
    ModelNotFoundError,
    ServerBusyError,
    ServerError,
    VoiceModelError,
)
from app.engine import protocol as p
from app.server import openai_api as api
from app.server.audio import AudioDecodeError, VoiceModels, encode_wav
from app.server.engine_bridge import EngineBridge, Job

log = logging.getLogger(__name__)

MAX_EMBED_INPUTS = 256  # texts per /v1/embeddings request
WATCH_INTERVAL_S = 0.2  # how often a waiting handler looks whether its client left
NOTICE_HEADER = "X-Hearth-Notice"  # a non-streamed reply's notice, if any


@dataclass(frozen=True)
class ServerConfig:
    """How ``hearth serve`` listens and what it allows."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 picks a free port
    api_key: str | None = None
    cors_origin: str | None = None  # None: no CORS headers at all
    max_body_bytes: int = 25 * 1024 * 1024  # OpenAI's own limit for audio uploads
    limits: api.Limits = field(default_factory=api.Limits)
    max_queue: int = 32
    voice_threads: int = 0


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_config(config: ServerConfig) -> None:
    """Refuse settings that would expose the models to the network without a key."""
    if not is_loopback(config.host) and not config.api_key:
        raise ConfigError(
            f"Refusing to listen on {config.host} without an API key: anyone on the network "
            "could use your models. Add --api-key KEY, or use --host 127.0.0.1."
        )
    if config.api_key is not None and len(config.api_key) < 8:
        raise ConfigError("The API key is too short; use at least 8 characters.")


class HearthServer:
    """The API server: bind, serve on a background thread, close."""

    def __init__(
        self, library: Library, config: ServerConfig, *, bridge: EngineBridge | None = None
    ) -> None:
        check_config(config)
        self.library = library
        self.config = config
        self.bridge = bridge or EngineBridge(library, max_queue=config.max_queue)
        self.load_notice: str | None = None  # what loading the preloaded model had to say
        self.voice = VoiceModels(library, threads=config.voice_threads)
        self.started_at = int(time.time())
        try:
            self._httpd = _Httpd((config.host, config.port), _Handler, self)
        except OSError as exc:
            self.bridge.close()
            raise ServerError(
                f"Cannot listen on {config.host}:{config.port} ({exc.strerror or exc}); "
                "choose another --port or stop the program using it."
            ) from exc
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    def preload(self, name: str | None, timeout: float = 300.0) -> str:
        """Load ``name`` (None: the default chat model) now, so the first request is quick."""
        entry = self.bridge.resolve_model(name)
        loaded = self.bridge.load(entry, timeout)
        if loaded is not None:
            self.load_notice = loaded.notice
        return entry.name

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="hearth-api"
        )
        self._thread.daemon = True
        self._thread.start()
        log.info("API server listening on %s", self.url)

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`close` (from another thread) or Ctrl+C."""
        self._httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        """Stop accepting, cancel what runs, and shut the engine down."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5.0)
        self._httpd.server_close()
        self._httpd.close_connections()
        self.bridge.close()


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, owner: HearthServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_connections(self) -> None:
        """Hang up on every client: kept-alive connections would otherwise outlive us."""
        with self.connections_lock:
            connections = list(self.connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanishes between requests is ordinary, not a traceback on stderr.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _ClientGone(Exception):
    """The client closed its connection while its request was being served."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the openai client reuses connections
    # A stream is many small writes; with Nagle each waits for the client's delayed ACK,
    # which held streaming to a few chunks a second.
    disable_nagle_algorithm = True
    server: _Httpd
    _next_watch = 0.0  # when _wait looks at the client's socket next

    # -- plumbing ------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    @property
    def owner(self) -> HearthServer:
        return self.server.owner

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _cors(self) -> None:
        origin = self.owner.config.cors_origin
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._cors()
        self.end_headers()
        self.wfile.write(body)

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, error: api.ApiError) -> None:
        self._json(error.status, error.body())

    def _check_key(self) -> None:
        key = self.owner.config.api_key
        if key is None:
            return
        given = self.headers.get("Authorization", "")
        token = given[7:].strip() if given[:7].lower() == "bearer " else ""
        if not hmac.compare_digest(token.encode(), key.encode()):
            raise api.ApiError(
                401,
                "Missing or wrong API key; send it as 'Authorization: Bearer KEY'.",
                kind="authentication_error",
            )

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise api.ApiError(411, "The request needs a Content-Length header.")
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise api.ApiError(400, "Bad Content-Length header.") from None
        if size > self.owner.config.max_body_bytes:
            self.close_connection = True  # the body stays unread, so the connection must go
            raise api.ApiError(
                413, f"The request body is larger than {self.owner.config.max_body_bytes} bytes."
            )
        return self.rfile.read(size)

    def _json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self._body() or b"{}")
        except ValueError:
            raise api.ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise api.ApiError(400, "The request body must be a JSON object.")
        return body

    def _client_gone(self) -> bool:
        """True once the client has closed its side (readable with nothing to read)."""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return bool(sock.recv(1, socket.MSG_PEEK) == b"")
        except BlockingIOError:
            return False
        except OSError:
            return True

    # -- dispatch ------------------------------------------------------------------------
    def do_OPTIONS(self) -> None:
        # CORS preflight: browsers send it without credentials, so no key check here.
        if not self.owner.config.cors_origin:
            self._error(api.ApiError(405, "CORS is off on this server (hearth serve --cors)."))
            return
        self.send_response(204)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._route({"/v1/models": self._models, "/v1/hearth/status": self._status}, body=False)

    def do_POST(self) -> None:
        self._route(
            {
                "/v1/chat/completions": self._chat,
                "/v1/completions": self._completions,
                "/v1/embeddings": self._embeddings,
                "/v1/audio/transcriptions": self._transcriptions,
                "/v1/audio/speech": self._speech,
            },
            body=True,
        )

    def _route(self, routes: dict[str, Any], *, body: bool) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            self._check_key()
            if path.startswith("/v1/models/") and not body:
                self._model(path.removeprefix("/v1/models/"))
                return
            handler = routes.get(path)
            if handler is None:
                if body:
                    self._body()  # keep the connection usable
                raise api.ApiError(404, f"No such endpoint: {self.command} {path}.")
            handler()
        except api.ApiError as exc:
            self._error(exc)
        except _ClientGone:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client left; nobody to answer
        except HearthError as exc:
            self._error(_api_error(exc))
        except Exception as exc:
            log.exception("API request %s %s failed", self.command, path)
            self._error(api.ApiError(500, f"Internal error: {exc}", kind="server_error"))

    # -- models --------------------------------------------------------------------------
    def _model_cards(self) -> list[dict[str, Any]]:
        owner = self.owner
        cards = [api.model_card(e.name, CHAT, owner.started_at) for e in owner.bridge.chat_models()]
        for kind in (STT, TTS):
            cards += [
                api.model_card(e.name, kind, owner.started_at) for e in owner.voice.entries(kind)
            ]
        return cards

    def _models(self) -> None:
        self._json(200, {"object": "list", "data": self._model_cards()})

    def _model(self, name: str) -> None:
        for card in self._model_cards():
            if card["id"] == name:
                self._json(200, card)
                return
        raise api.ApiError(404, f"No model named {name!r}.", param="model")

    def _status(self) -> None:
        self._json(200, {"url": self.owner.url, **self.owner.bridge.status()})

    # -- generation ----------------------------------------------------------------------
    def _chat(self) -> None:
        request = api.parse_chat(self._json_body(), self.owner.config.limits)
        self._generate(request, chat=True)

    def _completions(self) -> None:
        request = api.parse_completion(self._json_body(), self.owner.config.limits)
        self._generate(request, chat=False)

    def _generate(self, request: api.CompletionRequest, *, chat: bool) -> None:
        bridge = self.owner.bridge
        entry = bridge.resolve_model(request.model)
        job = bridge.submit(
            request.messages, request.params, model=entry, source=f"api {self.client_address[0]}"
        )
        try:
            if request.stream:
                self._stream(job, entry.name, request.include_usage, chat=chat)
            else:
                self._complete(job, entry.name, chat=chat)
        except BaseException:
            bridge.cancel(job)  # the client left, or writing failed: stop the engine
            raise

    def _wait(self, job: Job) -> p.PromptPrepared | p.Delta | p.GenerationDone | p.ErrorEvent:
        """The job's next event; raises :class:`_ClientGone` if the client hangs up first.

        The socket is looked at every ``WATCH_INTERVAL_S`` even while events flow: a
        non-streaming client writes nothing, so only its socket tells that it left.
        """
        while True:
            now = time.monotonic()
            if now >= self._next_watch:
                self._next_watch = now + WATCH_INTERVAL_S
                if self._client_gone():
                    raise _ClientGone
            event = job.next_event(max(0.0, self._next_watch - now))
            if event is not None:
                return event

    def _complete(self, job: Job, model: str, *, chat: bool) -> None:
        headers: dict[str, str] = {}
        while True:
            event = self._wait(job)
            if isinstance(event, p.PromptPrepared) and event.notice:
                # What the window would show in its banner (a replaced chat template, a
                # shortened history), for clients that look; header values are ASCII.
                headers[NOTICE_HEADER] = event.notice.encode("ascii", "backslashreplace").decode()
            if isinstance(event, p.ErrorEvent):
                raise _api_error(_rebuild(event))
            if isinstance(event, p.GenerationDone):
                rid = api.new_id("chatcmpl" if chat else "cmpl")
                shape = api.chat_response if chat else api.text_response
                body = shape(rid, model, event.text, event.finish_reason, event.stats)
                self._json(200, body, headers)
                return

    def _stream(self, job: Job, model: str, include_usage: bool, *, chat: bool) -> None:
        rid = api.new_id("chatcmpl" if chat else "cmpl")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._cors()
        self.end_headers()
        if chat:
            self._sse(api.chat_chunk(rid, model, {"role": "assistant", "content": ""}))
        while True:
            event = self._wait(job)
            if isinstance(event, p.Delta):
                chunk = (
                    api.chat_chunk(rid, model, {"content": event.text})
                    if chat
                    else api.text_chunk(rid, model, event.text)
                )
                self._sse(chunk)
            elif isinstance(event, p.GenerationDone):
                end = (
                    api.chat_chunk(rid, model, {}, event.finish_reason)
                    if chat
                    else api.text_chunk(rid, model, "", event.finish_reason)
                )
                self._sse(end)
                if include_usage:
                    obj = "chat.completion.chunk" if chat else "text_completion"
                    self._sse(api.usage_chunk(rid, model, obj, event.stats))
                break
            elif isinstance(event, p.ErrorEvent):
                # Headers are gone already; OpenAI clients raise on an ``error`` event.
                self._sse(_api_error(_rebuild(event)).body())
                break
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _sse(self, payload: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _embeddings(self) -> None:
        body = self._json_body()
        entry = self.owner.bridge.resolve_model(body.get("model"))
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if (
            not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t for t in texts)
        ):
            raise api.ApiError(
                400,
                "'input' must be non-empty text or a list of texts (token arrays are not "
                "supported).",
                param="input",
            )
        if len(texts) > MAX_EMBED_INPUTS:
            raise api.ApiError(
                400, f"Send at most {MAX_EMBED_INPUTS} texts per request.", param="input"
            )
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise api.ApiError(
                400, "encoding_format must be float or base64.", param="encoding_format"
            )
        # The worker takes requests in order, so this waits behind a running generation;
        # the chat model stays loaded (embeddings use a context of their own).
        event = self.owner.bridge.engine.embed(entry.path, texts).wait(timeout=300)
        assert isinstance(event, p.EmbeddingsReady)
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": (
                    base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
                    if encoding == "base64"
                    else list(vector)
                ),
            }
            for index, vector in enumerate(event.vectors)
        ]
        usage = {"prompt_tokens": event.prompt_tokens, "total_tokens": event.prompt_tokens}
        self._json(200, {"object": "list", "data": data, "model": entry.name, "usage": usage})

    # -- audio ---------------------------------------------------------------------------
    def _form(self) -> dict[str, bytes]:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            self._body()
            raise api.ApiError(400, "Send the audio as multipart/form-data.")
        raw = self._body()
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload
        return fields

    def _transcriptions(self) -> None:
        fields = self._form()
        audio = fields.get("file")
        if not audio:
            raise api.ApiError(400, "The form needs a 'file' with the audio.", param="file")
        text_field = {k: v.decode("utf-8", "replace") for k, v in fields.items() if k != "file"}
        response_format = text_field.get("response_format", "json")
        if response_format not in ("json", "text", "verbose_json"):
            raise api.ApiError(
                400, "response_format must be json, text or verbose_json.", param="response_format"
            )
        try:
            transcript = self.owner.voice.transcribe(
                audio, text_field.get("model"), text_field.get("language")
            )
        except AudioDecodeError as exc:
            raise api.ApiError(400, f"The audio cannot be read: {exc}.", param="file") from exc
        if response_format == "text":
            self._send(200, transcript.text.encode(), "text/plain; charset=utf-8")
            return
        payload: dict[str, Any] = {"text": transcript.text}
        if response_format == "verbose_json":
            payload |= {
                "task": "transcribe",
                "language": transcript.language,
                "duration": round(transcript.audio_s, 3),
                "segments": [],
            }
        self._json(200, payload)

    def _speech(self) -> None:
        body = self._json_body()
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise api.ApiError(400, "'input' must be non-empty text.", param="input")
        if len(text) > 4096:
            raise api.ApiError(400, "'input' may be at most 4096 characters.", param="input")
        response_format = body.get("response_format") or "wav"
        if response_format not in ("wav", "pcm"):
            raise api.ApiError(
                400,
                f"response_format {response_format!r} is not supported; use wav or pcm.",
                param="response_format",
            )
        speed = body.get("speed", 1.0)
        if (
            isinstance(speed, bool)
            or not isinstance(speed, int | float)
            or not 0.25 <= speed <= 4.0
        ):
            raise api.ApiError(400, "'speed' must be a number from 0.25 to 4.0.", param="speed")
        samples, rate = self.owner.voice.speak(
            text, body.get("voice"), body.get("model"), float(speed)
        )
        wav = encode_wav(samples, rate)
        if response_format == "pcm":
            self._send(200, wav[44:], "audio/pcm")  # the same 16-bit samples, no header
        else:
            self._send(200, wav, "audio/wav")


def _rebuild(event: p.ErrorEvent) -> HearthError:
    from app.core.errors import error_from_kind

    return error_from_kind(event.kind, event.message)


def _api_error(exc: HearthError) -> api.ApiError:
    """The HTTP status an engine or library error means for a client."""
    if isinstance(exc, ServerBusyError):
        return api.ApiError(429, str(exc), kind="rate_limit_error")
    if isinstance(exc, ModelNotFoundError):
        return api.ApiError(404, str(exc), param="model")
    if isinstance(exc, ContextOverflowError):
        return api.ApiError(400, str(exc), param="messages")
    if isinstance(exc, ModelError | VoiceModelError):
        return api.ApiError(400, str(exc), param="model")
    return api.ApiError(500, str(exc), kind="server_error")
