"""Tool calls written by a model in its own format, found in the reply's text.

Each family writes calls its own way (the formats as their chat templates and model cards
document them, and as llama.cpp's ``common/chat.cpp`` parses them):

- Hermes, Qwen 2.5/3: ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``,
  one block per call;
- Llama 3.1-3.3: the whole reply is ``{"name": ..., "parameters": {...}}`` (several may
  be joined by ``;``), optionally after ``<|python_tag|>``, which also starts a built-in
  tool's ``name.call(key="value")``;
- Mistral: ``[TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}]`` (Nemo and
  earlier), or ``[TOOL_CALLS]name[ARGS]{...}`` per call (Small 3.2, Magistral);
- functionary: ``>>>name\\n{...}`` per call, ``>>>all\\n`` before plain text (v3.2), and
  ``<function=name>{...}</function>`` (v3.1).

Only calls of tools that were offered are taken; anything else stays text.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.tools.calls import ToolCall

# Texts that start a call in some format; a reply holding one may hold a call.
MARKERS = ("<tool_call>", "[TOOL_CALLS]", "<|python_tag|>", "<function=", ">>>")

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FUNCTION_TAG = re.compile(r"<function=([\w.\-]+)>\s*(.*?)\s*(?:</function>|$)", re.S)
_MISTRAL_ARGS = re.compile(r"\[TOOL_CALLS\]\s*([\w.\-]+)\s*(?:\[CALL_ID\]\s*(\w+)\s*)?\[ARGS\]")
_FUNCTIONARY = re.compile(r">>>\s*([\w.\-]+)\s*\n")
_BUILTIN_CALL = re.compile(r"^\s*([\w\-]+)\.call\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class ParsedReply:
    """A reply split into its text and the tool calls it made."""

    content: str
    calls: tuple[ToolCall, ...] = ()


def tool_names(tools: Sequence[dict[str, Any]]) -> set[str]:
    """The function names among OpenAI tool objects."""
    names: set[str] = set()
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.add(function["name"])
    return names


def parse_reply(text: str, tools: Sequence[dict[str, Any]]) -> ParsedReply:
    """``text`` split into content and the calls of offered ``tools`` it holds, in any of
    the formats above (the first format that finds a call wins)."""
    names = tool_names(tools)
    if not names:
        return ParsedReply(text)
    for parse in (_hermes, _mistral, _function_tags, _functionary, _llama):
        found = parse(text, names)
        if found is not None and found.calls:
            return found
    return ParsedReply(text)


def held_from(text: str) -> int:
    """Where in a growing reply a call may begin: text before it is plain content and
    may be streamed; the rest is held until the reply ends (a marker, a marker's start
    at the end, or a reply that opens with JSON as Llama's calls do)."""
    stripped = text.lstrip()
    if not stripped:
        return 0  # blanks so far: what follows decides
    if stripped[0] in "{[":
        return len(text) - len(stripped)
    hold = len(text)
    for marker in MARKERS:
        at = text.find(marker)
        if at >= 0:
            hold = min(hold, at)
        for k in range(min(len(marker) - 1, len(text)), 0, -1):
            if text.endswith(marker[:k]):
                hold = min(hold, len(text) - k)
                break
    return hold


# -- the formats ------------------------------------------------------------------------
def _call(name: str, arguments: Any, names: set[str], call_id: Any = None) -> ToolCall | None:
    """A call of an offered tool with object arguments (JSON text of one is read)."""
    if name not in names:
        return None
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return None
    return ToolCall.make(name, arguments, call_id if isinstance(call_id, str) and call_id else None)


def _from_object(value: Any, names: set[str]) -> ToolCall | None:
    """A call from ``{"name", "arguments" | "parameters"}`` (``{"type": "function",
    "function": {...}}`` too)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict):
        return _from_object({**value["function"], "id": value.get("id")}, names)
    name = value.get("name")
    if not isinstance(name, str):
        return None
    if "arguments" in value:
        arguments = value["arguments"]
    elif "parameters" in value:
        arguments = value["parameters"]
    else:
        return None
    return _call(name, arguments, names, value.get("id"))


def _json_prefix(text: str) -> tuple[Any, int] | None:
    """The JSON value at the start of ``text`` (after blanks) and where it ends."""
    start = len(text) - len(text.lstrip())
    try:
        return json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None


def _hermes(text: str, names: set[str]) -> ParsedReply | None:
    if "<tool_call>" not in text:
        return None
    calls: list[ToolCall] = []
    for match in _HERMES.finditer(text):
        decoded = _json_prefix(match.group(1))
        call = _from_object(decoded[0], names) if decoded else None
        if call is None:
            return None  # not a call we can take: the reply stays text
        calls.append(call)
    return ParsedReply(_HERMES.sub("", text).strip(), tuple(calls))


def _mistral(text: str, names: set[str]) -> ParsedReply | None:
    at = text.find("[TOOL_CALLS]")
    if at < 0:
        return None
    content = text[:at].strip()
    if _MISTRAL_ARGS.match(text, at):
        calls: list[ToolCall] = []
        pos = at
        while (match := _MISTRAL_ARGS.match(text, pos)) is not None:
            decoded = _json_prefix(text[match.end() :])
            if decoded is None:
                return None
            call = _call(match.group(1), decoded[0], names, match.group(2))
            if call is None:
                return None
            calls.append(call)
            pos = match.end() + decoded[1]
            while pos < len(text) and text[pos].isspace():
                pos += 1
        return ParsedReply(content, tuple(calls))
    decoded = _json_prefix(text[at + len("[TOOL_CALLS]") :])
    if decoded is None:
        return None
    items = decoded[0] if isinstance(decoded[0], list) else [decoded[0]]
    found = [_from_object(item, names) for item in items]
    if not found or any(call is None for call in found):
        return None
    return ParsedReply(content, tuple(call for call in found if call is not None))


def _function_tags(text: str, names: set[str]) -> ParsedReply | None:
    if "<function=" not in text:
        return None
    calls: list[ToolCall] = []
    for match in _FUNCTION_TAG.finditer(text):
        call = _call(match.group(1), match.group(2), names)
        if call is None:
            return None
        calls.append(call)
    return ParsedReply(_FUNCTION_TAG.sub("", text).strip(), tuple(calls))


def _functionary(text: str, names: set[str]) -> ParsedReply | None:
    if ">>>" not in text:
        return None
    # v3.2's first call may come without ">>>" (the template writes it in the prompt).
    if not text.lstrip().startswith(">>>"):
        text = ">>>" + text.lstrip()
    parts = _FUNCTIONARY.split(text)
    if parts[0].strip():
        return None
    content: list[str] = []
    calls: list[ToolCall] = []
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name == "all":
            content.append(body.strip())
            continue
        decoded = _json_prefix(body)
        if decoded is None or body[decoded[1] :].strip():
            return None
        call = _call(name, decoded[0], names)
        if call is None:
            return None
        calls.append(call)
    return ParsedReply("\n".join(c for c in content if c), tuple(calls))


def _llama(text: str, names: set[str]) -> ParsedReply | None:
    body = text.strip()
    if body.startswith("<|python_tag|>"):
        body = body[len("<|python_tag|>") :].strip()
        builtin = _builtin_call(body, names)
        if builtin is not None:
            return ParsedReply("", (builtin,))
    calls: list[ToolCall] = []
    pos = 0
    while pos < len(body):
        decoded = _json_prefix(body[pos:])
        if decoded is None:
            return None
        call = _from_object(decoded[0], names)
        if call is None:
            return None
        calls.append(call)
        pos += decoded[1]
        rest = body[pos:].lstrip()
        if rest.startswith(";"):  # Llama 3.2 may join several calls with ";"
            rest = rest[1:]
        pos = len(body) - len(rest.lstrip())
    return ParsedReply("", tuple(calls))


def _builtin_call(body: str, names: set[str]) -> ToolCall | None:
    """``name.call(key=literal, ...)``: a Llama 3.1 built-in tool's call."""
    match = _BUILTIN_CALL.match(body)
    if match is None or match.group(1) not in names:
        return None
    try:
        node = ast.parse(f"f({match.group(2)})", mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or node.args:
        return None
    arguments: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            return None
        try:
            arguments[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            return None
    return _call(match.group(1), arguments, names)
