"""Tools and tool turns in the prompt, whatever the chat template knows of them.

A template that renders ``tools`` (Qwen 2.5/3, Llama 3.1+, Mistral, Hermes, ...) gets the
OpenAI tool list as ``tools`` and the conversation's tool turns as they are, with each
call's arguments as an object (templates write them with ``tojson``). A template that
ignores ``tools`` (SmolLM2, Hearth's built-in formats) gets the tools as a system block in
the Hermes format, which most open models were tuned on, the calls written into the
assistant's text as ``<tool_call>`` blocks and tool results as a user turn of
``<tool_response>`` blocks, so no template meets a role or a field it cannot render.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.core.errors import ConfigError
from app.core.i18n import translate

Message = dict[str, Any]

# A tool no real conversation offers: a template that renders it renders ``tools``.
PROBE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "hearth_probe_tool_b7e1",
        "description": "Probe.",
        "parameters": {"type": "object", "properties": {}},
    },
}
PROBE_MESSAGES: tuple[Message, ...] = ({"role": "user", "content": "Hi"},)

# The Hermes / Qwen 2.5 tool instructions, as their chat templates write them.
_HERMES_HEAD = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_HERMES_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def parse_tools(text: str | None) -> list[dict[str, Any]]:
    """``GenerationParams.tools`` as a list of tool objects ([] for none)."""
    if not text:
        return []
    try:
        tools = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            translate(
                "Errors",
                "The tool definitions are not valid JSON ({error}); send a list of tools.",
            ).format(error=exc)
        ) from None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise ConfigError(
            translate("Errors", "The tool definitions must be a JSON list of tool objects.")
        )
    return tools


def uses_tools(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> bool:
    """Whether the prompt involves tools at all: offered, called or answered."""
    return bool(tools) or any(m.get("tool_calls") or m.get("role") == "tool" for m in messages)


def hermes_block(tools: Sequence[dict[str, Any]]) -> str:
    """The system text that offers ``tools`` in the Hermes format."""
    lines = "".join("\n" + json.dumps(tool, ensure_ascii=False) for tool in tools)
    return _HERMES_HEAD + lines + _HERMES_TAIL


def for_template(
    messages: Sequence[Message], tools: Sequence[dict[str, Any]], *, native: bool
) -> list[Message]:
    """``messages`` as the template should see them (see the module docstring)."""
    if native:
        return [_native(m) for m in messages]
    out: list[Message] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            block = f"<tool_response>\n{_text(message.get('content'))}\n</tool_response>"
            if out and out[-1].get("hearth_tool_results"):
                out[-1]["content"] += "\n" + block  # several results: one user turn
            else:
                out.append({"role": "user", "content": block, "hearth_tool_results": True})
            continue
        text = _text(message.get("content"))
        calls = message.get("tool_calls") or []
        if calls:
            written = [f"<tool_call>\n{_hermes_call(call)}\n</tool_call>" for call in calls]
            text = "\n".join([text, *written] if text else written)
        out.append({"role": role, "content": text})
    out = [{"role": m["role"], "content": m["content"]} for m in out]  # marks dropped
    if tools:
        block = hermes_block(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{block}"}
        else:
            out.insert(0, {"role": "system", "content": block})
    return out


def _text(content: Any) -> str:
    return "" if content is None else str(content)


def _arguments(function: dict[str, Any]) -> Any:
    """A call's arguments as an object when they are JSON text of one (as sent)."""
    raw = function.get("arguments")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw if raw is not None else {}


def _hermes_call(call: dict[str, Any]) -> str:
    function = call.get("function") or {}
    payload = {"name": function.get("name", ""), "arguments": _arguments(function)}
    return json.dumps(payload, ensure_ascii=False)


def _native(message: Message) -> Message:
    copy = dict(message)
    copy["content"] = _text(message.get("content"))
    calls = message.get("tool_calls")
    if calls:
        copy["tool_calls"] = [
            {
                **call,
                "function": {
                    **(call.get("function") or {}),
                    "arguments": _arguments(call.get("function") or {}),
                },
            }
            for call in calls
        ]
    return copy
