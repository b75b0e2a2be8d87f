"""Tools in the OpenAI chat API: ``tools``, ``tool_choice`` and ``parallel_tool_calls``
in, ``tool_calls`` out (whole or as stream deltas), tool turns in the history.

- ``tool_choice`` "none" (or no tools): the model sees no tools, replies with text;
- "auto" (the default with tools): the chat template shows the tools, and calls the
  model writes in its own format (:mod:`app.tools.formats`) come back as ``tool_calls``;
- "required" or a named function: the reply is held by a grammar to a call of an offered
  tool (:mod:`app.tools.forced`), so its arguments match the tool's schema.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from app.core.errors import ConfigError
from app.tools.calls import ToolCall
from app.tools.forced import calls_from_forced, forced_call_schema, function_of
from app.tools.formats import held_from, parse_reply

KEYS = frozenset({"tools", "tool_choice", "parallel_tool_calls"})
MAX_TOOLS = 128
# OpenAI's rule for function names.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Mode = Literal["none", "auto", "forced"]


class ToolsError(ValueError):
    """A tools field the server refuses (a 400 naming ``param``)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ToolRequest:
    """What a chat request asks of tools."""

    tools: tuple[dict[str, Any], ...] = ()
    mode: Mode = "none"
    parallel: bool = True
    schema: str | None = None  # the forced call's JSON schema

    @property
    def tools_json(self) -> str | None:
        """``GenerationParams.tools``: the tools the template shows (none for "none")."""
        if self.mode == "none" or not self.tools:
            return None
        return json.dumps(list(self.tools), ensure_ascii=False)


def parse_tools(body: dict[str, Any]) -> ToolRequest:
    """The body's tools, tool_choice and parallel_tool_calls; ToolsError for bad ones."""
    raw = body.get("tools")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ToolsError("'tools' must be a list of tool objects.", "tools")
    if len(raw) > MAX_TOOLS:
        raise ToolsError(f"'tools' may hold at most {MAX_TOOLS} tools.", "tools")
    names: set[str] = set()
    for index, tool in enumerate(raw):
        _check_tool(tool, index, names)
    parallel = body.get("parallel_tool_calls")
    if parallel is None:
        parallel = True
    if not isinstance(parallel, bool):
        raise ToolsError("'parallel_tool_calls' must be true or false.", "parallel_tool_calls")
    choice = body.get("tool_choice")
    if choice is None:
        choice = "auto" if raw else "none"
    if choice in ("none", "auto"):
        mode: Mode = "none" if choice == "none" or not raw else "auto"
        return ToolRequest(tuple(raw), mode, parallel)
    if not isinstance(choice, str | dict) or (isinstance(choice, str) and choice != "required"):
        raise ToolsError(
            '\'tool_choice\' must be "none", "auto", "required" or '
            '{"type": "function", "function": {"name": ...}}.',
            "tool_choice",
        )
    try:
        schema = forced_call_schema(raw, choice, parallel)
    except ConfigError as exc:
        raise ToolsError(str(exc), "tool_choice" if raw else "tools") from None
    return ToolRequest(tuple(raw), "forced", parallel, schema)


def _check_tool(tool: Any, index: int, names: set[str]) -> None:
    param = f"tools[{index}]"
    try:
        function = function_of(tool)
    except ConfigError as exc:
        raise ToolsError(f"{param}: {exc}", param) from None
    name = function["name"]
    if not _NAME.match(name):
        raise ToolsError(
            f"{param}: the function name {name!r} must be 1 to 64 letters, digits, "
            "underscores or dashes.",
            param,
        )
    if name in names:
        raise ToolsError(f"{param}: two tools are named {name!r}; give each its own name.", param)
    names.add(name)
    parameters = function.get("parameters")
    if parameters is None:
        return
    if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        raise ToolsError(
            f"{param}: 'parameters' must be a JSON schema of an object "
            '({"type": "object", "properties": {...}}).',
            param,
        )
    # jsonschema ships no type hints: imported as a plain module object.
    jsonschema = importlib.import_module("jsonschema")
    try:
        jsonschema.validators.validator_for(parameters).check_schema(parameters)
    except jsonschema.SchemaError as exc:
        raise ToolsError(
            f"{param}: 'parameters' is not a valid JSON schema ({exc.message}).", param
        ) from None


def message_tool_calls(value: Any, index: int) -> list[dict[str, Any]]:
    """An assistant message's ``tool_calls``, checked, in OpenAI's shape."""
    if not isinstance(value, list):
        raise ToolsError(f"messages[{index}].tool_calls must be a list.", "messages")
    calls: list[dict[str, Any]] = []
    for item in value:
        try:
            calls.append(ToolCall.from_openai(item).to_openai())
        except (ValueError, AttributeError) as exc:
            raise ToolsError(
                f"messages[{index}].tool_calls holds a call that is not "
                '{"id", "type": "function", "function": {"name", "arguments": JSON text}} '
                f"({exc}).",
                "messages",
            ) from None
    return calls


@dataclass(frozen=True)
class Outcome:
    """A finished reply as the API returns it."""

    content: str | None
    calls: tuple[ToolCall, ...]
    reason: str  # the engine's finish reason, or "tool_calls"


def outcome(text: str, reason: str, request: ToolRequest) -> Outcome:
    """The reply's text and calls (see the module docstring)."""
    if request.mode == "forced":
        try:
            calls = calls_from_forced(text)
        except ValueError:  # cut by the length limit: not a whole call
            return Outcome(text, (), reason)
        return Outcome(None, calls, "tool_calls" if reason != "cancelled" else reason)
    if request.mode == "auto":
        parsed = parse_reply(text, request.tools)
        if parsed.calls:
            calls = parsed.calls if request.parallel else parsed.calls[:1]
            return Outcome(parsed.content or None, calls, "tool_calls")
    return Outcome(text, (), reason)


def call_deltas(calls: tuple[ToolCall, ...]) -> Iterator[dict[str, Any]]:
    """Stream deltas for ``calls`` in OpenAI's shape: per call, its id and name, then
    its arguments."""
    for index, call in enumerate(calls):
        yield {
            "tool_calls": [
                {
                    "index": index,
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
            ]
        }
        yield {"tool_calls": [{"index": index, "function": {"arguments": call.raw_arguments}}]}


@dataclass
class StreamSplitter:
    """Streams a reply's plain text at once and holds back what may be a call."""

    request: ToolRequest
    text: str = ""
    sent: int = 0

    def feed(self, piece: str) -> str:
        """The content that may be sent now, after ``piece`` arrived."""
        self.text += piece
        if self.request.mode == "forced":
            return ""
        if self.request.mode == "none":
            self.sent = len(self.text)
            return piece
        safe = max(self.sent, held_from(self.text))
        out = self.text[self.sent : safe]
        self.sent = safe
        return out

    def finish(self, reason: str) -> tuple[str, tuple[ToolCall, ...], str]:
        """At the reply's end: the content still to send, the calls, the finish reason."""
        rest = self.text[self.sent :]
        if self.request.mode == "forced":
            done = outcome(self.text, reason, self.request)
            return done.content or "", done.calls, done.reason
        done = outcome(rest, reason, self.request)
        return done.content or "", done.calls, done.reason
