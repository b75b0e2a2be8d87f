"""The OpenAI wire format: request bodies in, response bodies and stream chunks out.

Pure functions on dicts, no sockets: the HTTP layer (:mod:`app.server.http`) calls them.
Only what Hearth's engine can honour is accepted; anything else is a 400 with a message
that names the field, not a silent ignore that would surprise a client.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from app.core.generation import GenerationParams, GenerationStats, Message
from app.core.ranges import SAMPLING, Range

ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})


class ApiError(Exception):
    """A request the server answers with an OpenAI-style error body."""

    def __init__(
        self, status: int, message: str, *, kind: str = "invalid_request_error", param: str = ""
    ) -> None:
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


@dataclass(frozen=True)
class Limits:
    """What one request may ask for."""

    max_tokens: int = 4096  # a larger max_tokens is refused, a missing one means this
    max_messages: int = 1000


@dataclass(frozen=True)
class CompletionRequest:
    """A parsed chat or text completion request."""

    model: str | None
    messages: tuple[Message, ...]
    params: GenerationParams
    stream: bool
    include_usage: bool


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
    if body.get("n", 1) != 1:
        raise ApiError(400, "Only n=1 is supported.", param="n")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ApiError(400, "'seed' must be an integer.", param="seed")
    defaults = GenerationParams()
    # OpenAI's frequency/presence penalties have no exact llama.cpp twin; the repeat
    # penalty is the nearest, so a positive presence penalty raises it a little.
    presence = _number(body, "presence_penalty", 0.0, Range(-2.0, 2.0))
    repeat_penalty = defaults.repeat_penalty + max(0.0, presence) * 0.1
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


def _content(value: Any, index: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for part in value:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ApiError(
                    400,
                    f"messages[{index}] has a '{kind}' part; this model reads text only.",
                    param=f"messages[{index}].content",
                )
        return "".join(parts)
    raise ApiError(400, f"messages[{index}].content must be text.", param="messages")


def _model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "'model' must be a string.", param="model")
    return model or None


def _stream(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = bool(body.get("stream", False))
    options = body.get("stream_options") or {}
    return stream, bool(isinstance(options, dict) and options.get("include_usage"))


def parse_chat(body: dict[str, Any], limits: Limits) -> CompletionRequest:
    """A ``/v1/chat/completions`` body as engine messages and sampling settings."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.", param="messages")
    if len(raw) > limits.max_messages:
        raise ApiError(400, f"At most {limits.max_messages} messages.", param="messages")
    if body.get("tools") or body.get("functions"):
        raise ApiError(400, "Tools and function calling are not supported.", param="tools")
    messages: list[Message] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or item.get("role") not in ROLES:
            raise ApiError(
                400,
                f"messages[{index}] needs a role of system, user or assistant.",
                param="messages",
            )
        role = str(item["role"])
        role = "system" if role == "developer" else "user" if role == "tool" else role
        messages.append({"role": role, "content": _content(item.get("content"), index)})
    stream, usage = _stream(body)
    return CompletionRequest(_model(body), tuple(messages), _params(body, limits), stream, usage)


def parse_completion(body: dict[str, Any], limits: Limits) -> CompletionRequest:
    """A legacy ``/v1/completions`` body. The engine speaks chat, so the prompt becomes
    one user turn and the model's chat template applies (documented in the README)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "'prompt' must be one string.", param="prompt")
    if body.get("echo") or body.get("suffix") or body.get("logprobs"):
        raise ApiError(400, "'echo', 'suffix' and 'logprobs' are not supported.")
    stream, usage = _stream(body)
    messages: tuple[Message, ...] = ({"role": "user", "content": prompt},)
    return CompletionRequest(_model(body), messages, _params(body, limits), stream, usage)


# -- responses --------------------------------------------------------------------------
def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def finish_reason(engine_reason: str) -> str:
    return "length" if engine_reason == "length" else "stop"


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


def _choice(content: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return {
        "index": 0,
        **content,
        "finish_reason": None if reason is None else finish_reason(reason),
        "logprobs": None,
    }


def chat_response(
    rid: str, model: str, text: str, reason: str, stats: GenerationStats
) -> dict[str, Any]:
    message = {"message": {"role": "assistant", "content": text}}
    return _envelope(rid, "chat.completion", model, [_choice(message, reason)], stats)


def chat_chunk(
    rid: str, model: str, delta: dict[str, str], reason: str | None = None
) -> dict[str, Any]:
    return _envelope(rid, "chat.completion.chunk", model, [_choice({"delta": delta}, reason)])


def text_response(
    rid: str, model: str, text: str, reason: str, stats: GenerationStats
) -> dict[str, Any]:
    return _envelope(rid, "text_completion", model, [_choice({"text": text}, reason)], stats)


def text_chunk(rid: str, model: str, text: str, reason: str | None = None) -> dict[str, Any]:
    return _envelope(rid, "text_completion", model, [_choice({"text": text}, reason)])


def usage_chunk(rid: str, model: str, obj: str, stats: GenerationStats) -> dict[str, Any]:
    return _envelope(rid, obj, model, [], stats)


def model_card(name: str, kind: str, created: int) -> dict[str, Any]:
    # ``hearth_kind`` is an extra field; clients ignore it, Hearth's remote mode reads it.
    return {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": "hearth",
        "hearth_kind": kind,
    }
