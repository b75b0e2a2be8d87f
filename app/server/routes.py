"""The API's endpoints as a Starlette app: bodies read with limits, jobs for the engine.

Every generation goes through the :class:`~app.server.engine_bridge.EngineBridge`, so
clients share the one engine worker in arrival order; its events reach the event loop
through a thread-safe hand-off, so no thread waits per client. A client that hangs up
has its generation cancelled: a stream notices through the SSE response, a waiting
client through its connection's disconnect message. Blocking work (embeddings, speech,
transcription, library scans) runs in Starlette's thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.catalog.library import CHAT, EMBEDDING, STT, TTS, ModelEntry
from app.core.errors import (
    ConfigError,
    ContextOverflowError,
    HearthError,
    ImageError,
    ModelError,
    ModelNotFoundError,
    ServerBusyError,
    VisionUnsupportedError,
    VoiceModelError,
    error_from_kind,
)
from app.core.reasoning import ReasoningSplitter
from app.engine import protocol as p
from app.server import openai_api as api
from app.server import openai_docs as docs
from app.server import openai_lora as lora
from app.server.audio import AudioDecodeError, UnknownLanguageError, check_language, encode_wav
from app.server.engine_bridge import JobEvent, sees_images
from app.server.names import named
from app.server.openai_images import read_images
from app.server.openai_tools import StreamSplitter, ToolRequest, call_deltas
from app.server.resolved_models import ResolvedModels

if TYPE_CHECKING:
    from app.server.httpd import HearthServer

log = logging.getLogger(__name__)
# A streamed reply with nothing to send (a long prompt) writes a comment this often, so
# that proxies and clients with read timeouts keep the connection.
PING_S = 15.0

MAX_EMBED_INPUTS = 256  # texts per /v1/embeddings request
Handler = Callable[[Request], Awaitable[Response]]


class _ClientGone(Exception):
    """The client closed its connection while its request was being served."""


def error_response(error: api.ApiError, *, close: bool = False) -> JSONResponse:
    headers = {"Connection": "close"} if close else None
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def api_error(exc: HearthError) -> api.ApiError:
    """The HTTP status an engine or library error means for a client."""
    if isinstance(exc, ServerBusyError):
        return api.ApiError(429, str(exc), kind="rate_limit_error")
    if isinstance(exc, ModelNotFoundError):
        return api.ApiError(404, str(exc), param="model")
    if isinstance(exc, ContextOverflowError | ImageError | VisionUnsupportedError):
        return api.ApiError(400, str(exc), param="messages")
    if isinstance(exc, ModelError | VoiceModelError):
        return api.ApiError(400, str(exc), param="model")
    if isinstance(exc, ConfigError):  # a request the worker found unusable (a bad schema)
        return api.ApiError(400, str(exc))
    return api.ApiError(500, str(exc), kind="server_error")


class Api:
    """The endpoints of one :class:`~app.server.httpd.HearthServer`."""

    def __init__(self, server: HearthServer) -> None:
        self.server = server
        self.bridge = server.bridge
        self.config = server.config
        self.image_folders = server.image_folders  # real paths; file:// images only in these
        self.resolved = ResolvedModels(self.chat_entry, self.bridge.library.library_file)

    # -- plumbing ------------------------------------------------------------------------
    def app(self) -> Starlette:
        get, post = ["GET"], ["POST"]
        routes = [
            Route("/v1/models", self._wrap(self.models), methods=get),
            Route("/v1/models/{name:path}", self._wrap(self.model), methods=get),
            Route("/v1/hearth/status", self._wrap(self.status), methods=get),
            Route("/v1/chat/completions", self._wrap(self.chat), methods=post),
            Route("/v1/completions", self._wrap(self.completions), methods=post),
            Route("/v1/embeddings", self._wrap(self.embeddings), methods=post),
            Route("/v1/audio/transcriptions", self._wrap(self.transcriptions), methods=post),
            Route("/v1/audio/speech", self._wrap(self.speech), methods=post),
        ]
        handlers = {HTTPException: _http_exception}
        return Starlette(routes=routes, exception_handlers=handlers)

    def _wrap(self, handler: Handler) -> Handler:
        """``handler`` with every failure answered as an OpenAI-style JSON error."""

        async def endpoint(request: Request) -> Response:
            request.state.body_done = False
            try:
                return await handler(request)
            except api.ApiError as exc:
                return error_response(exc, close=not _body_done(request))
            except HearthError as exc:
                return error_response(api_error(exc), close=not _body_done(request))
            except _ClientGone:
                return Response(status_code=499, headers={"Connection": "close"})
            except Exception as exc:
                log.exception("API request %s %s failed", request.method, request.url.path)
                error = api.ApiError(500, f"Internal error: {exc}", kind="server_error")
                return error_response(error, close=True)

        return endpoint

    async def body(self, request: Request) -> bytes:
        """The whole body, within the size cap and with a deadline on every piece."""
        limit = self.config.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise api.ApiError(400, "Bad Content-Length header.")
            if int(length) > limit:  # refused from the header: the body is never read
                raise api.ApiError(413, f"The request body is larger than {limit} bytes.")
        elif "chunked" not in request.headers.get("transfer-encoding", "").lower():
            request.state.body_done = True
            return b""
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(request.receive(), self.config.body_timeout_s)
            except TimeoutError:
                raise api.ApiError(
                    408,
                    f"The request body stopped arriving for {self.config.body_timeout_s:g} s; "
                    "send it whole, as its Content-Length says.",
                ) from None
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise api.ApiError(413, f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                request.state.body_done = True
                return b"".join(chunks)

    async def json_body(self, request: Request) -> dict[str, Any]:
        return api.decode_json(await self.body(request))

    # -- models --------------------------------------------------------------------------
    def _cards(self) -> list[dict[str, Any]]:
        started = self.server.started_at
        cards = [
            api.model_card(e.name, CHAT, started, vision=sees_images(e))
            for e in self.bridge.chat_models()
        ]
        for kind in (STT, TTS):
            cards += [
                api.model_card(e.name, kind, started) for e in self.server.voice.entries(kind)
            ]
        cards += [api.model_card(e.name, EMBEDDING, started) for e in self._embedding_entries()]
        try:  # the documents' embedding model, for /v1/embeddings
            embedding = self.server.docs.embedding_model()
        except HearthError as exc:
            log.info("no embedding model to list: %s", exc)
        else:
            if all(card["id"] != embedding for card in cards):
                cards.append(api.model_card(embedding, docs.EMBEDDING, started))
        return cards

    async def models(self, request: Request) -> Response:
        cards = await run_in_threadpool(self._cards)
        return JSONResponse({"object": "list", "data": cards})

    async def model(self, request: Request) -> Response:
        name = request.path_params["name"]
        for card in await run_in_threadpool(self._cards):
            if card["id"] == name:
                return JSONResponse(card)
        raise api.ApiError(404, f"No model named {name!r}.", param="model")

    async def status(self, request: Request) -> Response:
        return JSONResponse({"url": self.server.url, **self.bridge.status()})

    # -- generation ----------------------------------------------------------------------
    async def chat_model(self, name: str | None) -> ModelEntry:
        """The chat model a request names (None: the default one)."""
        kept = self.resolved.cached(name)
        if kept is not None:
            return kept
        return await run_in_threadpool(self.resolved.resolve, name)

    def chat_entry(self, name: str | None) -> ModelEntry:
        if name is None:
            return self.bridge.resolve_model(None)
        entry = named(self.bridge.chat_models(), name, "chat model")
        if entry.error:
            raise ModelNotFoundError(entry.error)
        return entry

    def text_only(self, entry: ModelEntry) -> api.ApiError:
        """The 400 for images sent to a model without a vision projector, naming the
        library's chat models that can see."""
        models = self.bridge.chat_models()
        seeing = sorted(e.name for e in models if sees_images(e))
        # Its own projector missing or unfit: said without the paths (the user's files).
        broken = entry.mmproj_problem is not None or sees_images(entry)
        why = (
            " for now: its vision projector is missing or does not fit (Hearth's model "
            "manager says which)"
            if broken
            else ""
        )
        if seeing and seeing != [entry.name]:
            others = ", ".join(n for n in seeing if n != entry.name)
            message = (
                f"Model {entry.name} reads text only{why}; models here that can see images: "
                f"{others}."
            )
        else:
            message = (
                f"Model {entry.name} reads text only{why}, and no other model here can see "
                "images; add a vision model with its projector (mmproj-*.gguf) to Hearth's "
                "library."
            )
        return api.ApiError(400, message, param="model")

    def explain(self, exc: HearthError, entry: ModelEntry) -> api.ApiError:
        """:func:`api_error`, with the vision models named when ``entry`` cannot see."""
        if isinstance(exc, VisionUnsupportedError):
            return self.text_only(entry)
        return api_error(exc)

    async def chat(self, request: Request) -> Response:
        body = await self.json_body(request)
        wanted = docs.take_docs_request(body)  # Hearth's extension: retrieval, opted into
        asked = lora.KEY in body  # even an empty list: no adapters, not the server's
        adapters = lora.take_lora_request(body)  # Hearth's extension: LoRA adapters
        parsed = api.parse_chat(body, self.config.limits)
        entry = await self.chat_model(parsed.model)
        if adapters:
            library = self.bridge.library
            found = await run_in_threadpool(lora.adapter_paths, library, entry, adapters)
            parsed = dataclasses.replace(
                parsed, params=dataclasses.replace(parsed.params, loras=found)
            )
        elif not asked:
            parsed = self.default_loras(parsed, entry)
        if parsed.images:
            if not sees_images(entry):  # refused before any image is decoded
                raise self.text_only(entry)
            limits = self.config.limits
            parsed = await run_in_threadpool(read_images, parsed, self.image_folders, limits)
        if wanted is None:
            return await self._generate(request, parsed, chat=True, entry=entry)
        ground = self.server.docs.ground
        messages, sources = await run_in_threadpool(ground, parsed.messages, wanted)
        parsed = dataclasses.replace(parsed, messages=messages)
        return await self._generate(request, parsed, chat=True, sources=sources, entry=entry)

    async def completions(self, request: Request) -> Response:
        parsed = api.parse_completion(await self.json_body(request), self.config.limits)
        entry = await self.chat_model(parsed.model)
        parsed = self.default_loras(parsed, entry)
        return await self._generate(request, parsed, chat=False, entry=entry)

    def default_loras(
        self, parsed: api.CompletionRequest, entry: ModelEntry
    ) -> api.CompletionRequest:
        """``parsed`` with the server's own adapters (``hearth serve --lora``) when it
        asks for the model they were checked against."""
        loras = self.config.default_loras
        if not loras or entry.name != self.config.default_loras_model:
            return parsed
        return dataclasses.replace(parsed, params=dataclasses.replace(parsed.params, loras=loras))

    async def _generate(
        self,
        request: Request,
        parsed: api.CompletionRequest,
        *,
        chat: bool,
        sources: list[dict[str, Any]] | None = None,
        entry: ModelEntry | None = None,
    ) -> Response:
        if entry is None:
            entry = await self.chat_model(parsed.model)
        served, name = entry, entry.name
        events = _EventQueue(asyncio.get_running_loop())
        client = request.client.host if request.client else "?"
        job = self.bridge.submit(
            parsed.messages, parsed.params, model=entry, source=f"api {client}", sink=events.put
        )

        def rebuild(event: p.ErrorEvent) -> api.ApiError:
            return self.explain(error_from_kind(event.kind, event.message), served)

        tools = parsed.tools if chat else None
        if parsed.stream:
            if parsed.images:
                # Images can fail where text does not (over the context, a projector
                # that would not load): wait for the prompt so that such a request is
                # answered with its status, not with an error inside a 200 stream.
                try:
                    first = await _first_event(events, request.receive)
                except BaseException:
                    self.bridge.cancel(job)
                    raise
                if isinstance(first, p.ErrorEvent):
                    raise rebuild(first)
                events.push_back(first)
            stream = _stream(
                events,
                name,
                parsed.include_usage,
                chat=chat,
                tools=tools,
                sources=sources,
                rebuild=rebuild,
            )
            return _JobStream(stream, lambda: self.bridge.cancel(job))
        try:
            return await _complete(
                events,
                request.receive,
                name,
                chat=chat,
                tools=tools,
                sources=sources,
                rebuild=rebuild,
            )
        finally:
            self.bridge.cancel(job)  # a no-op once it finished; else the client left

    async def embeddings(self, request: Request) -> Response:
        body = await self.json_body(request)
        name = api.check_name(body.get("model"), "model")
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

        if name is None or name == await run_in_threadpool(self._embedding_model):
            # The documents' embedding model: the one /v1/embeddings is for.
            vectors, tokens = await run_in_threadpool(self.server.docs.embed, texts)
            model = self.server.docs.embedding_model()
            return _embeddings_response(vectors.tolist(), tokens, model, encoding)
        # Another embedding GGUF of the library, or a chat model: llama.cpp's embeddings
        # in the engine worker.
        embedding = [e for e in await run_in_threadpool(self._embedding_entries) if e.name == name]
        entry = embedding[0] if embedding else await self.chat_model(name)

        def embed() -> p.EmbeddingsReady:
            # The worker takes requests in order, so this waits behind a running
            # generation; the chat model stays loaded (embeddings use their own context).
            event = self.bridge.engine.embed(entry.path, texts).wait(timeout=300)
            assert isinstance(event, p.EmbeddingsReady)
            return event

        event = await run_in_threadpool(embed)
        return _embeddings_response(event.vectors, event.prompt_tokens, entry.name, encoding)

    def _embedding_entries(self) -> list[ModelEntry]:
        """The library's embedding GGUFs that can be used."""
        return [e for e in self.server.library.entries(EMBEDDING) if e.error is None]

    def _embedding_model(self) -> str | None:
        """The documents' embedding model's name; None when none is installed."""
        try:
            return self.server.docs.embedding_model()
        except HearthError:
            return None

    # -- audio ---------------------------------------------------------------------------
    async def _form(self, request: Request) -> tuple[bytes | None, dict[str, str]]:
        """The uploaded file (None when the form has none) and the text fields."""
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise api.ApiError(400, "Send the audio as multipart/form-data.")
        raw = await self.body(request)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_files=1, max_fields=20)
        except Exception as exc:  # python-multipart's errors for a broken form
            raise api.ApiError(400, f"The form cannot be read ({exc}).") from exc
        audio: bytes | None = None
        fields: dict[str, str] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key == "file":
                    audio = await value.read()
            else:
                fields[key] = value
        await form.close()
        return audio, fields

    async def transcriptions(self, request: Request) -> Response:
        audio, fields = await self._form(request)
        if audio is None:
            raise api.ApiError(400, "The form needs a 'file' with the audio.", param="file")
        if not audio:
            raise api.ApiError(400, "The uploaded file is empty; send the audio.", param="file")
        response_format = fields.get("response_format") or "json"
        if response_format not in ("json", "text", "verbose_json"):
            raise api.ApiError(
                400, "response_format must be json, text or verbose_json.", param="response_format"
            )
        model = api.check_name(fields.get("model"), "model")
        try:  # faster-whisper's language list: its first import is slow, off the loop
            language = await run_in_threadpool(check_language, fields.get("language"))
        except UnknownLanguageError as exc:
            raise api.ApiError(400, str(exc), param="language") from exc
        try:
            transcript = await run_in_threadpool(
                self.server.voice.transcribe, audio, model, language
            )
        except AudioDecodeError as exc:
            raise api.ApiError(400, f"The audio cannot be read: {exc}.", param="file") from exc
        if response_format == "text":
            return Response(transcript.text, media_type="text/plain; charset=utf-8")
        payload: dict[str, Any] = {"text": transcript.text}
        if response_format == "verbose_json":
            payload |= {
                "task": "transcribe",
                "language": transcript.language,
                "duration": round(transcript.audio_s, 3),
                "segments": [],
            }
        return JSONResponse(payload)

    async def speech(self, request: Request) -> Response:
        body = await self.json_body(request)
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
        voice = api.check_name(body.get("voice"), "voice")
        model = api.check_name(body.get("model"), "model")
        samples, rate = await run_in_threadpool(
            self.server.voice.speak, text, voice, model, float(speed)
        )
        wav = encode_wav(samples, rate)
        if response_format == "pcm":
            return Response(wav[44:], media_type="audio/pcm")  # 16-bit samples, no header
        return Response(wav, media_type="audio/wav")


def _embeddings_response(
    vectors: Sequence[Sequence[float]], tokens: int, model: str, encoding: str
) -> JSONResponse:
    """OpenAI's list of embeddings: float lists, or little-endian float32 in base64."""
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
                if encoding == "base64"
                else [float(x) for x in vector]
            ),
        }
        for index, vector in enumerate(vectors)
    ]
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JSONResponse({"object": "list", "data": data, "model": model, "usage": usage})


def _body_done(request: Request) -> bool:
    return bool(getattr(request.state, "body_done", False))


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 (no such path, wrong method) as JSON."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}."
    elif exc.status_code == 404:
        message = f"No such endpoint: {request.method} {path}."
    else:
        message = str(exc.detail)
    response = error_response(api.ApiError(exc.status_code, message), close=True)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


class _EventQueue:
    """A job's events, put by the engine's reader (a thread, or this loop itself: see
    ``EngineClient.deliver_on``) and the bridge's thread, taken on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._back: list[JobEvent] = []
        self._loop_thread = threading.get_ident()  # made on the loop

    def put(self, event: JobEvent) -> None:
        if threading.get_ident() == self._loop_thread:
            self.queue.put_nowait(event)  # no wake-up through the loop's self-pipe
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is going
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def push_back(self, event: JobEvent) -> None:
        """Make ``event`` (taken already) the next one :meth:`get` returns."""
        self._back.append(event)

    async def get(self) -> JobEvent:
        if self._back:
            return self._back.pop()
        return await self.queue.get()


Rebuild = Callable[[p.ErrorEvent], api.ApiError]


def _rebuild(event: p.ErrorEvent) -> api.ApiError:
    return api_error(error_from_kind(event.kind, event.message))


async def _first_event(events: _EventQueue, receive: Receive) -> JobEvent:
    """The job's first event, or :class:`_ClientGone` if the client hangs up first."""
    gone = asyncio.ensure_future(_disconnected(receive))
    taking = asyncio.ensure_future(events.get())
    try:
        done, _ = await asyncio.wait({taking, gone}, return_when=asyncio.FIRST_COMPLETED)
        if taking not in done:
            raise _ClientGone
        return taking.result()
    finally:
        gone.cancel()
        taking.cancel()


async def _disconnected(receive: Receive) -> None:
    """Return once the client hangs up (its body was read: nothing else arrives)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _complete(
    events: _EventQueue,
    receive: Receive,
    model: str,
    *,
    chat: bool,
    tools: ToolRequest | None = None,
    sources: list[dict[str, Any]] | None = None,
    rebuild: Rebuild = _rebuild,
) -> Response:
    """Wait for the whole reply, watching the client's connection meanwhile; with
    ``sources`` (documents were searched), the reply carries them."""
    headers: dict[str, str] = {}
    notice: str | None = None
    thinking_open = False  # the prompt opened a thinking block (DeepSeek-R1's template)
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        while True:
            taking = asyncio.ensure_future(events.get())
            done, _ = await asyncio.wait({taking, gone}, return_when=asyncio.FIRST_COMPLETED)
            if taking not in done:
                taking.cancel()
                raise _ClientGone
            event = taking.result()
            if isinstance(event, p.PromptPrepared):
                thinking_open = event.thinking_open
            if isinstance(event, p.PromptPrepared) and event.notice:
                # What the window shows in its banner (a replaced chat template, a
                # shortened history), for clients that look; header values are ASCII.
                notice = event.notice
                headers[api.NOTICE_HEADER] = notice.encode("ascii", "backslashreplace").decode()
            if isinstance(event, p.ErrorEvent):
                raise rebuild(event)
            if isinstance(event, p.GenerationDone):
                rid = api.new_id("chatcmpl" if chat else "cmpl")
                args = (rid, model, event.text, event.finish_reason, event.stats)
                if chat:
                    body = api.chat_response(
                        *args,
                        logprobs=event.logprobs,
                        notice=notice,
                        tools=tools,
                        thinking_open=thinking_open,
                    )
                else:
                    body = api.text_response(*args, logprobs=event.logprobs, notice=notice)
                if sources is not None:
                    body["sources"] = sources
                return JSONResponse(body, headers=headers)
    finally:
        gone.cancel()


async def _stream(
    events: _EventQueue,
    model: str,
    include_usage: bool,
    *,
    chat: bool,
    tools: ToolRequest | None = None,
    sources: list[dict[str, Any]] | None = None,
    rebuild: Rebuild = _rebuild,
) -> AsyncIterator[str]:
    """The reply as SSE ``data`` payloads, ending with ``[DONE]``; with tools, text that
    may be a call is held back and sent as ``tool_calls`` deltas at the end; ``sources``
    (documents were searched) go in the first chunk."""
    rid = api.new_id("chatcmpl" if chat else "cmpl")
    dumps = json.dumps
    splitter = StreamSplitter(tools or ToolRequest())
    # A reasoning model's thinking goes out as reasoning_content, apart from the content.
    reasoning = ReasoningSplitter()
    if chat:
        first = api.chat_chunk(rid, model, {"role": "assistant", "content": ""})
        if sources is not None:
            first["sources"] = sources
        yield dumps(first)
    notice: str | None = None
    while True:
        event = await events.get()
        if isinstance(event, p.Delta):
            if chat:
                thought, answer = reasoning.feed(event.text)
                if thought:
                    yield dumps(api.chat_chunk(rid, model, {"reasoning_content": thought}))
                text = splitter.feed(answer)
                if not text and not event.logprobs:
                    continue
                chunk = api.chat_chunk(rid, model, {"content": text}, logprobs=event.logprobs)
            else:
                chunk = api.text_chunk(rid, model, event.text, logprobs=event.logprobs)
            yield dumps(chunk)
        elif isinstance(event, p.PromptPrepared):
            notice = event.notice or notice
            if event.thinking_open:  # the reply starts inside the thinking block
                reasoning = ReasoningSplitter(thinking_open=True)
        elif isinstance(event, p.GenerationDone):
            reason, stats = event.finish_reason, event.stats
            if chat:
                thought, answer = reasoning.flush()
                if thought:
                    yield dumps(api.chat_chunk(rid, model, {"reasoning_content": thought}))
                held = splitter.feed(answer)
                rest, calls, reason = splitter.finish(reason)
                rest = held + rest
                if rest:
                    yield dumps(api.chat_chunk(rid, model, {"content": rest}))
                for delta in call_deltas(calls):
                    yield dumps(api.chat_chunk(rid, model, delta))
            end = (
                api.chat_chunk(rid, model, {}, reason, stats=stats, notice=notice)
                if chat
                else api.text_chunk(rid, model, "", reason, stats=stats, notice=notice)
            )
            yield dumps(end)
            if include_usage:
                obj = "chat.completion.chunk" if chat else "text_completion"
                yield dumps(api.usage_chunk(rid, model, obj, event.stats))
            break
        elif isinstance(event, p.ErrorEvent):
            # Headers are gone already; OpenAI clients raise on an ``error`` event.
            yield dumps(rebuild(event).body())
            break
    yield "[DONE]"


class _JobStream(StreamingResponse):
    """A job's reply as server-sent events: each payload as one ``data:`` event, a
    comment as a keep-alive while nothing came for ``PING_S`` (a long prompt), and the
    job cancelled however the reply ends (a no-op once the job is done).

    Plain ASGI on Starlette's response rather than sse-starlette's, which wrapped every
    write in a cancel scope and a send timeout: a per-chunk cost that competed with
    llama.cpp for the cores while a reply streams.
    """

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str], cancel: Callable[[], None]) -> None:
        super().__init__(
            content,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._cancel = cancel
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        streaming = asyncio.current_task()
        assert streaming is not None
        hung_up = False
        wrote = [loop.time()]

        async def watch() -> None:  # the client hung up: stop writing, end the job
            nonlocal hung_up
            await _disconnected(receive)
            hung_up = True
            streaming.cancel()

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(PING_S - (loop.time() - wrote[0]))
                if loop.time() - wrote[0] >= PING_S:
                    await send(
                        {"type": "http.response.body", "body": b": ping\n\n", "more_body": True}
                    )
                    wrote[0] = loop.time()

        helpers = [asyncio.ensure_future(watch()), asyncio.ensure_future(keep_alive())]
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for payload in self._content:
                body = b"data: " + payload.encode("utf-8") + b"\n\n"
                await send({"type": "http.response.body", "body": body, "more_body": True})
                wrote[0] = loop.time()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not hung_up:
                raise  # the server is stopping
            streaming.uncancel()  # handled: the rest of this request runs normally
        except OSError:
            pass  # the client left mid-write: nobody to answer
        finally:
            for helper in helpers:
                helper.cancel()
            self._cancel()
