"""The OpenAI wire format: request bodies in, response bodies and stream chunks out.

Pure functions on bytes and dicts, no sockets: the HTTP layer (:mod:`app.server.routes`)
calls them. Only what Hearth's engine can honour is accepted; anything else is a 400 with a
message that names the field, not a silent ignore that would surprise a client.

Every key a body may hold is listed below; to support a new one, move it from
``UNSUPPORTED`` to ``CHAT_KEYS`` (and ``COMPLETION_KEYS``) and parse it in ``_params``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.core.generation import (
    IMAGE_MARK,
    GenerationParams,
    GenerationStats,
    Message,
    TokenLogprob,
    sampling_defaults,
)
from app.core.i18n import english
from app.core.ranges import SAMPLING, Range
from app.core.reasoning import split_reasoning
from app.server import openai_sampling as sampling
from app.server import openai_tools as tooling
from app.tools.calls import ToolCall

ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
NOTICE_HEADER = "X-Hearth-Notice"  # a non-streamed reply's notice, if any

_SAMPLING_KEYS = frozenset(
    {
        "model",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "stop",
        "n",
        "stream",
        "stream_options",
    }
)
# Keys the engine honours, per endpoint.
CHAT_KEYS = _SAMPLING_KEYS | {"messages"} | sampling.CHAT_KEYS | tooling.KEYS
COMPLETION_KEYS = _SAMPLING_KEYS | {"prompt"} | sampling.COMPLETION_KEYS
# Identifiers and hints with no effect on the reply: accepted and left alone.
IGNORED_KEYS = frozenset(
    {"user", "store", "metadata", "service_tier", "prompt_cache_key", "safety_identifier"}
)
# Known OpenAI (or llama.cpp) parameters this server cannot honour: asked for, a 400.
UNSUPPORTED: dict[str, str] = {
    "functions": "the legacy functions are not supported; send them as 'tools'",
    "function_call": "the legacy function_call is not supported; use 'tool_choice'",
    "audio": "audio output from chat is not supported; use /v1/audio/speech",
    "modalities": "only text output is supported",
    "prediction": "predicted outputs are not supported",
    "reasoning_effort": "reasoning effort is not supported",
    "web_search_options": "web search is not supported",
    "echo": "echoing the prompt is not supported",
    "suffix": "a suffix (fill-in-the-middle) is not supported",
    "best_of": "best_of is not supported",
}


class ApiError(Exception):
    """A request the server answers with an OpenAI-style error body."""

    def __init__(
        self, status: int, message: str, *, kind: str = "invalid_request_error", param: str = ""
    ) -> None:
        # The API speaks English, even from the window with a translation loaded.
        message = english(message)
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param

    def body(self) -> dict[str, Any]:
        code = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}.get(
            self.status
        )
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param or None,
                "code": code,
            }
        }


def decode_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object; invalid JSON and lone surrogates are 400s."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:  # also invalid UTF-8 (UnicodeDecodeError)
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    try:
        # JSON may escape half a UTF-16 pair ("\\ud800"); Python keeps it as a lone
        # surrogate that no tokenizer or encoder accepts, so refuse it here.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400,
            "The request holds a lone UTF-16 surrogate (half a character); send valid Unicode.",
        ) from None
    return body


def asked(body: dict[str, Any], key: str) -> bool:
    """Whether ``key`` asks for something: present and not null, false or empty."""
    return body.get(key) not in (None, False, {}, [], "")


def check_keys(body: dict[str, Any], known: frozenset[str]) -> None:
    """A 400 naming the first key the server cannot honour."""
    for key in body:
        if key in known or key in IGNORED_KEYS:
            continue
        if key in UNSUPPORTED:
            if asked(body, key):
                raise ApiError(400, f"'{key}' is not supported: {UNSUPPORTED[key]}.", param=key)
            continue
        raise ApiError(400, f"Unknown parameter '{key}'; this server does not take it.", param=key)


def check_name(value: Any, param: str) -> str | None:
    """A model or voice *name* from /v1/models; anything path-like is refused alike.

    Names only, never paths: a network client must not make Hearth open files, and the
    answer must not tell whether a file exists (the same 400 for every path).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{param}' must be a string.", param=param)
    separators = {"/", "\\", os.sep, os.altsep or "/"}
    if (
        any(sep in value for sep in separators)
        or value.startswith(("~", "."))
        or len(value) > 200
        or not value.isprintable()
    ):
        raise ApiError(
            400,
            f"'{param}' must be a name from /v1/models, not a path.",
            param=param,
        )
    return value


@dataclass(frozen=True)
class Limits:
    """What one request may ask for."""

    max_tokens: int = 4096  # a larger max_tokens is refused, a missing one means this
    max_messages: int = 1000
    # Images in one request: each costs an encoding by the projector (seconds on a CPU),
    # and their bytes as received (before scaling) are held in memory at once.
    max_images: int = 16
    max_image_bytes: int = 32_000_000


@dataclass(frozen=True)
class ImagePart:
    """An ``image_url`` part of a request: where it is and the URL, not yet read."""

    message: int  # index in the request's messages
    part: int  # index in that message's content list
    url: str

    @property
    def param(self) -> str:
        return f"messages[{self.message}].content[{self.part}]"


@dataclass(frozen=True)
class CompletionRequest:
    """A parsed chat or text completion request."""

    model: str | None
    messages: tuple[Message, ...]
    params: GenerationParams
    stream: bool
    include_usage: bool
    tools: tooling.ToolRequest = field(default_factory=tooling.ToolRequest)
    # The images of user messages, in order; each message's content holds IMAGE_MARK
    # where each of its images goes (app.server.openai_images reads them).
    images: tuple[ImagePart, ...] = ()


def _number(body: dict[str, Any], key: str, default: float, allowed: Range) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"'{key}' must be a number.", param=key)
    if not allowed.allows(value):
        raise ApiError(400, f"'{key}' must be {allowed.describe()}.", param=key)
    return float(value)


def _max_tokens(body: dict[str, Any], limits: Limits) -> int:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return limits.max_tokens
    allowed = SAMPLING["max_tokens"]
    if isinstance(value, bool) or not isinstance(value, int) or not allowed.allows(value):
        raise ApiError(400, f"'max_tokens' must be {allowed.describe()}.", param="max_tokens")
    if value > limits.max_tokens:
        raise ApiError(
            400,
            f"'max_tokens' is {value}; this server allows at most {limits.max_tokens} "
            "(hearth serve --max-tokens).",
            param="max_tokens",
        )
    return value


def _stop(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop) and len(stop) <= 4:
        return tuple(s for s in stop if s)
    raise ApiError(400, "'stop' must be a string or a list of up to 4 strings.", param="stop")


def _params(body: dict[str, Any], limits: Limits) -> GenerationParams:
    if body.get("n") not in (None, 1):
        raise ApiError(400, "Only n=1 is supported.", param="n")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ApiError(400, "'seed' must be an integer.", param="seed")
    defaults = sampling_defaults("server")
    # OpenAI's frequency/presence penalties have no exact llama.cpp twin; the repeat
    # penalty is the nearest, so a positive penalty of either kind raises it a little.
    presence = _number(body, "presence_penalty", 0.0, Range(-2.0, 2.0))
    frequency = _number(body, "frequency_penalty", 0.0, Range(-2.0, 2.0))
    repeat_penalty = defaults.repeat_penalty + max(0.0, presence, frequency) * 0.1
    # llama.cpp's valid ranges (shared with the command line), within OpenAI's own caps.
    return GenerationParams(
        max_tokens=_max_tokens(body, limits),
        temperature=_number(
            body, "temperature", defaults.temperature, SAMPLING["temperature"].up_to(2.0)
        ),
        top_p=_number(body, "top_p", defaults.top_p, SAMPLING["top_p"]),
        top_k=int(_number(body, "top_k", defaults.top_k, SAMPLING["top_k"].up_to(1000))),
        min_p=_number(body, "min_p", defaults.min_p, SAMPLING["min_p"]),
        repeat_penalty=_number(
            body, "repeat_penalty", repeat_penalty, SAMPLING["repeat_penalty"].up_to(4.0)
        ),
        seed=seed,
        stop=_stop(body),
    )


IMAGE_DETAILS = frozenset({"auto", "low", "high"})  # accepted; the projector sets the size


def _text(value: str) -> str:
    # IMAGE_MARK places images; a client's text must not move or add any.
    return value.replace(IMAGE_MARK, "")


def _image_url(part: dict[str, Any], param: str) -> str:
    """The URL of an ``image_url`` part, in its object or its plain string form."""
    value = part.get("image_url")
    if isinstance(value, dict):
        detail = value.get("detail")
        if detail is not None and detail not in IMAGE_DETAILS:
            raise ApiError(400, f"{param}.image_url.detail must be auto, low or high.", param=param)
        value = value.get("url")
    if not isinstance(value, str) or not value:
        raise ApiError(
            400,
            f"{param} needs an image_url with a url; send the image as a data: URL.",
            param=param,
        )
    return value


def _content(value: Any, index: int, role: str) -> tuple[str, list[ImagePart]]:
    """A message's text, with IMAGE_MARK where each image part was, and those parts."""
    if value is None:
        return "", []
    if isinstance(value, str):
        return _text(value), []
    if not isinstance(value, list):
        raise ApiError(400, f"messages[{index}].content must be text.", param="messages")
    texts: list[str] = []
    images: list[ImagePart] = []
    for number, part in enumerate(value):
        param = f"messages[{index}].content[{number}]"
        kind = part.get("type") if isinstance(part, dict) else type(part).__name__
        if kind == "text" and isinstance(part, dict):
            texts.append(_text(str(part.get("text", ""))))
        elif kind == "image_url" and isinstance(part, dict):
            if role != "user":
                raise ApiError(
                    400,
                    f"messages[{index}] is a {role} message with an image; only user "
                    "messages may carry images.",
                    param=param,
                )
            images.append(ImagePart(index, number, _image_url(part, param)))
            texts.append(IMAGE_MARK)
        else:
            raise ApiError(
                400,
                f"{param} is a '{kind}' part; this server takes text and image_url parts.",
                param=param,
            )
    return "".join(texts), images


def _model(body: dict[str, Any]) -> str | None:
    return check_name(body.get("model"), "model")


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"'{name}' must be true or false.", param=name)
    return value


def _stream(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = _flag(body.get("stream"), "stream")
    options = body.get("stream_options")
    if options is None:
        return stream, False
    if not isinstance(options, dict):
        raise ApiError(400, "'stream_options' must be an object.", param="stream_options")
    return stream, _flag(options.get("include_usage"), "stream_options.include_usage")


def parse_chat(body: dict[str, Any], limits: Limits) -> CompletionRequest:
    """A ``/v1/chat/completions`` body as engine messages and sampling settings."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.", param="messages")
    if len(raw) > limits.max_messages:
        raise ApiError(400, f"At most {limits.max_messages} messages.", param="messages")
    check_keys(body, CHAT_KEYS)
    parsed = [_message(item, index) for index, item in enumerate(raw)]
    messages = [message for message, _ in parsed]
    images = tuple(image for _, found in parsed for image in found)
    if len(images) > limits.max_images:
        raise ApiError(
            400,
            f"The request holds {len(images)} images; this server takes at most "
            f"{limits.max_images} per request.",
            param="messages",
        )
    stream, usage = _stream(body)
    params = _with_options(_params(body, limits), sampling.chat_options, body)
    try:
        tools = tooling.parse_tools(body)
    except tooling.ToolsError as exc:
        raise ApiError(400, str(exc), param=exc.param) from None
    if tools.schema is not None:
        if params.json_schema is not None:
            raise ApiError(
                400,
                "'response_format' cannot be used with a forced tool call (tool_choice "
                "required or a named function); drop one of them.",
                param="response_format",
            )
        params = replace(params, json_schema=tools.schema)
    params = replace(params, tools=tools.tools_json)
    return CompletionRequest(_model(body), tuple(messages), params, stream, usage, tools, images)


def _message(item: Any, index: int) -> tuple[Message, list[ImagePart]]:
    """One message of a chat body as an engine message (an assistant's ``tool_calls``
    and a tool result's ``tool_call_id`` and ``name`` kept for the chat template) and
    its image parts, read later."""
    if not isinstance(item, dict) or item.get("role") not in ROLES:
        raise ApiError(
            400,
            f"messages[{index}] needs a role of system, user, assistant or tool.",
            param="messages",
        )
    role = str(item["role"])
    content, images = _content(item.get("content"), index, role)
    message: Message = {"role": "system" if role == "developer" else role, "content": content}
    try:
        if role == "assistant" and item.get("tool_calls"):
            message["tool_calls"] = tooling.message_tool_calls(item["tool_calls"], index)
    except tooling.ToolsError as exc:
        raise ApiError(400, str(exc), param=exc.param) from None
    if role == "tool":
        for key in ("tool_call_id", "name"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"messages[{index}].{key} must be text.", param="messages")
            if value:
                message[key] = value
    thought = item.get("reasoning_content")
    if role == "assistant" and thought is not None:
        # A reasoning model's earlier thinking: the engine gives it back to a chat template
        # that reads it (Qwen3's, in a tool-calling turn) and drops it elsewhere.
        param = f"messages[{index}].reasoning_content"
        if not isinstance(thought, str):
            raise ApiError(400, f"{param} must be text.", param=param)
        if thought:
            message["reasoning_content"] = thought
    return message, images


def parse_completion(body: dict[str, Any], limits: Limits) -> CompletionRequest:
    """A legacy ``/v1/completions`` body. The engine speaks chat, so the prompt becomes
    one user turn and the model's chat template applies (documented in the README)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "'prompt' must be one string.", param="prompt")
    check_keys(body, COMPLETION_KEYS)
    stream, usage = _stream(body)
    messages: tuple[Message, ...] = ({"role": "user", "content": _text(prompt)},)
    params = _with_options(_params(body, limits), sampling.completion_options, body)
    return CompletionRequest(_model(body), messages, params, stream, usage)


def _with_options(params: GenerationParams, options: Any, body: dict[str, Any]) -> GenerationParams:
    """``params`` with the body's response_format, logprobs and logit_bias (see
    :mod:`app.server.openai_sampling`)."""
    try:
        return replace(params, **options(body))
    except sampling.OptionError as exc:
        raise ApiError(400, str(exc), param=exc.param) from None


# -- responses --------------------------------------------------------------------------
def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def finish_reason(engine_reason: str) -> str:
    if engine_reason in ("length", "tool_calls"):
        return engine_reason
    return "stop"


def usage(stats: GenerationStats) -> dict[str, int]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
    }


def _envelope(
    rid: str,
    obj: str,
    model: str,
    choices: list[dict[str, Any]],
    stats: GenerationStats | None = None,
) -> dict[str, Any]:
    """The fields every completion object and chunk shares (usage only when given)."""
    payload: dict[str, Any] = {
        "id": rid,
        "object": obj,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if stats is not None:
        payload["usage"] = usage(stats)
    return payload


def _choice(
    content: dict[str, Any], reason: str | None, logprobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "index": 0,
        **content,
        "finish_reason": None if reason is None else finish_reason(reason),
        "logprobs": logprobs,
    }


def _with_hearth(
    payload: dict[str, Any], stats: GenerationStats | None, notice: str | None
) -> dict[str, Any]:
    """A reply (or a stream's last chunk) with Hearth's own object: history left out."""
    if stats is not None:
        payload["hearth"] = sampling.hearth_object(stats, notice)
    return payload


# ``logprobs``: None when not asked for (the choice says null); a stream chunk gives the
# tokens its delta completes. ``stats`` on a stream chunk marks the last one.
def chat_response(
    rid: str,
    model: str,
    text: str,
    reason: str,
    stats: GenerationStats,
    *,
    logprobs: Sequence[TokenLogprob] | None = None,
    notice: str | None = None,
    tools: tooling.ToolRequest | None = None,
    thinking_open: bool = False,
) -> dict[str, Any]:
    """A whole chat reply; a reasoning model's thinking goes in ``reasoning_content``
    (``thinking_open``: the prompt opened the block), tool calls are read from the rest."""
    reasoning = ""
    split = split_reasoning(text, thinking_open=thinking_open)
    if split.found:  # a reply without markers is left exactly as written
        text, reasoning = split.answer, split.thinking
    calls: tuple[ToolCall, ...] = ()
    content: str | None = text
    if tools is not None:
        done = tooling.outcome(text, reason, tools)
        content, calls, reason = done.content, done.calls, done.reason
    message: dict[str, Any] = {"message": {"role": "assistant", "content": content}}
    if reasoning:
        message["message"]["reasoning_content"] = reasoning
    if calls:
        message["message"]["tool_calls"] = [call.to_openai() for call in calls]
    shaped = None if logprobs is None else sampling.chat_logprobs(logprobs)
    choice = _choice(message, reason, shaped)
    return _with_hearth(_envelope(rid, "chat.completion", model, [choice], stats), stats, notice)


def chat_chunk(
    rid: str,
    model: str,
    delta: dict[str, str],
    reason: str | None = None,
    *,
    logprobs: Sequence[TokenLogprob] = (),
    stats: GenerationStats | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    shaped = sampling.chat_logprobs(logprobs) if logprobs else None
    choice = _choice({"delta": delta}, reason, shaped)
    return _with_hearth(_envelope(rid, "chat.completion.chunk", model, [choice]), stats, notice)


def text_response(
    rid: str,
    model: str,
    text: str,
    reason: str,
    stats: GenerationStats,
    *,
    logprobs: Sequence[TokenLogprob] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    shaped = None if logprobs is None else sampling.text_logprobs(logprobs)
    choice = _choice({"text": text}, reason, shaped)
    return _with_hearth(_envelope(rid, "text_completion", model, [choice], stats), stats, notice)


def text_chunk(
    rid: str,
    model: str,
    text: str,
    reason: str | None = None,
    *,
    logprobs: Sequence[TokenLogprob] = (),
    stats: GenerationStats | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    shaped = sampling.text_logprobs(logprobs) if logprobs else None
    choice = _choice({"text": text}, reason, shaped)
    return _with_hearth(_envelope(rid, "text_completion", model, [choice]), stats, notice)


def usage_chunk(rid: str, model: str, obj: str, stats: GenerationStats) -> dict[str, Any]:
    return _envelope(rid, obj, model, [], stats)


def model_card(name: str, kind: str, created: int, *, vision: bool | None = None) -> dict[str, Any]:
    """One entry of /v1/models. ``hearth_kind`` (and, for chat models, ``hearth_vision``:
    whether it can see images) are extra fields; clients ignore them, Hearth's remote
    mode reads them."""
    card: dict[str, Any] = {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": "hearth",
        "hearth_kind": kind,
    }
    if vision is not None:
        card["hearth_vision"] = vision
    return card
