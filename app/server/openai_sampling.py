"""The OpenAI parameters that steer a reply beyond the sampling numbers, and what a reply
says back about them.

- ``response_format``: ``json_object`` or ``json_schema`` (chat), held by a llama.cpp
  grammar in the engine, so the reply is JSON that matches;
- ``logprobs`` / ``top_logprobs`` (chat) and ``logprobs`` (completions): each token's
  log-probability under the model (before temperature, penalties and biases, as
  llama.cpp's server reports them) with the likeliest alternatives, in OpenAI's shapes;
- ``logit_bias``: token id (as a string) to a bias from -100 to 100, added to the logits;
- the ``hearth`` object of every reply: how many old messages were left out to fit the
  context window, and the notice the window shows for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.core.errors import ConfigError
from app.core.generation import JSON_OBJECT_SCHEMA, GenerationStats, TokenLogprob
from app.core.json_schema import check_enforceable

MAX_TOP_LOGPROBS = 20  # chat, as OpenAI allows
MAX_COMPLETION_LOGPROBS = 5  # legacy completions, as OpenAI allows
MAX_LOGIT_BIAS = 300  # tokens in one logit_bias
CHAT_KEYS = frozenset({"response_format", "logprobs", "top_logprobs", "logit_bias"})
COMPLETION_KEYS = frozenset({"logprobs", "logit_bias"})


class OptionError(ValueError):
    """A value the server refuses; :mod:`app.server.openai_api` answers it with a 400."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _error(message: str, param: str) -> OptionError:
    return OptionError(message, param)


def _whole(value: Any, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise _error(f"'{name}' must be a whole number from 0 to {high}.", name)
    return value


def response_format(body: dict[str, Any]) -> str | None:
    """The JSON schema (as JSON text) the reply must match, or None for free text."""
    value = body.get("response_format")
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return JSON_OBJECT_SCHEMA
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise _error(
                "'response_format.json_schema.schema' must be a JSON schema (an object).",
                "response_format",
            )
        try:
            check_enforceable(schema)
        except ConfigError as exc:
            raise _error(str(exc), "response_format") from None
        return json.dumps(schema)
    raise _error(
        '\'response_format\' must be {"type": "text"}, {"type": "json_object"} or '
        '{"type": "json_schema", "json_schema": {"schema": ...}}.',
        "response_format",
    )


def logit_bias(body: dict[str, Any]) -> tuple[tuple[int, float], ...]:
    """``{"token id": bias}`` as (id, bias) pairs; the engine checks the ids exist."""
    value = body.get("logit_bias")
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise _error("'logit_bias' must map token ids (as strings) to numbers.", "logit_bias")
    if len(value) > MAX_LOGIT_BIAS:
        raise _error(f"'logit_bias' may name at most {MAX_LOGIT_BIAS} tokens.", "logit_bias")
    pairs: list[tuple[int, float]] = []
    for key, bias in value.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit()):
            raise _error(f"'logit_bias' key {key!r} is not a token id.", "logit_bias")
        if isinstance(bias, bool) or not isinstance(bias, int | float) or not -100 <= bias <= 100:
            raise _error(
                f"'logit_bias' for token {key} must be a number from -100 to 100.", "logit_bias"
            )
        pairs.append((int(key), float(bias)))
    return tuple(pairs)


def chat_options(body: dict[str, Any]) -> dict[str, Any]:
    """``GenerationParams`` fields from a chat body's response_format, logprobs,
    top_logprobs and logit_bias."""
    wanted = body.get("logprobs")
    if wanted is not None and not isinstance(wanted, bool):
        raise _error("'logprobs' must be true or false.", "logprobs")
    top = body.get("top_logprobs")
    if top is not None:
        top = _whole(top, "top_logprobs", MAX_TOP_LOGPROBS)
        if not wanted and top:
            raise _error("'top_logprobs' needs 'logprobs': true.", "top_logprobs")
    return {
        "json_schema": response_format(body),
        "logprobs": (top or 0) if wanted else None,
        "logit_bias": logit_bias(body),
    }


def completion_options(body: dict[str, Any]) -> dict[str, Any]:
    """``GenerationParams`` fields from a completions body's logprobs and logit_bias."""
    count = body.get("logprobs")
    return {
        "logprobs": None if count is None else _whole(count, "logprobs", MAX_COMPLETION_LOGPROBS),
        "logit_bias": logit_bias(body),
    }


# -- replies ----------------------------------------------------------------------------
def _chat_token(entry: TokenLogprob) -> dict[str, Any]:
    return {"token": entry.token, "logprob": entry.logprob, "bytes": list(entry.data)}


def chat_logprobs(entries: Sequence[TokenLogprob]) -> dict[str, Any]:
    """A chat choice's ``logprobs``: ``{"content": [{token, logprob, bytes, top_logprobs}]}``."""
    content = [
        {**_chat_token(entry), "top_logprobs": [_chat_token(alt) for alt in entry.top]}
        for entry in entries
    ]
    return {"content": content, "refusal": None}


def text_logprobs(entries: Sequence[TokenLogprob]) -> dict[str, Any]:
    """A completion choice's ``logprobs``: parallel lists, offsets in characters."""
    return {
        "tokens": [entry.token for entry in entries],
        "token_logprobs": [entry.logprob for entry in entries],
        "top_logprobs": [{alt.token: alt.logprob for alt in entry.top} for entry in entries],
        "text_offset": [entry.offset for entry in entries],
    }


def hearth_object(stats: GenerationStats, notice: str | None = None) -> dict[str, Any]:
    """Hearth's own part of a reply (clients that do not know it ignore it)."""
    return {"dropped_messages": stats.dropped_messages, "notice": notice}
