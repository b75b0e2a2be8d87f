"""Calls the model must make: ``tool_choice`` "required" or a named function.

The reply is held by a grammar made from a JSON schema (``GenerationParams.json_schema``)
to the Hermes call object ``{"name": ..., "arguments": {...}}`` of an offered tool, its
arguments matching that tool's parameter schema, or to a non-empty list of such objects
when parallel calls are allowed. So the call is well formed and its arguments validate,
whatever the model, on any CPU.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.core.errors import ConfigError
from app.core.i18n import translate
from app.core.json_schema import check_enforceable
from app.tools.calls import ToolCall

_DEFS = ("$defs", "definitions")


def function_of(tool: Any) -> dict[str, Any]:
    """The ``function`` object of an OpenAI tool; ConfigError when it is not one."""
    function = tool.get("function") if isinstance(tool, dict) else None
    if (
        not isinstance(tool, dict)
        or tool.get("type", "function") != "function"
        or not isinstance(function, dict)
        or not isinstance(function.get("name"), str)
        or not function["name"]
    ):
        raise ConfigError(
            translate(
                "Tools",
                'Each tool must be {"type": "function", "function": {"name": ..., '
                '"parameters": {...}}}; fix the tool list.',
            )
        )
    return function


def parameters_of(tool: Any) -> dict[str, Any]:
    """A tool's parameter schema (any object when it gives none)."""
    function = function_of(tool)
    parameters = function.get("parameters")
    if parameters is None:
        return {"type": "object"}
    if not isinstance(parameters, dict):
        raise ConfigError(
            translate(
                "Tools",
                "The parameters of tool '{function}' must be a JSON schema object.",
            ).format(function=function["name"])
        )
    return parameters


def chosen_tools(
    tools: Sequence[dict[str, Any]], choice: str | dict[str, Any]
) -> list[dict[str, Any]]:
    """The tools ``choice`` allows: all for "required", the one it names otherwise."""
    if choice == "required":
        return list(tools)
    name = _named(choice)
    chosen = [tool for tool in tools if function_of(tool)["name"] == name]
    if not chosen:
        raise ConfigError(
            translate(
                "Tools",
                "tool_choice names the function '{name}', which is not among the tools.",
            ).format(name=name)
        )
    return chosen[:1]


def forced_call_schema(
    tools: Sequence[dict[str, Any]], choice: str | dict[str, Any], parallel: bool
) -> str:
    """The JSON schema (its text) a forced reply must match: one call object of a tool
    ``choice`` allows, or a non-empty list of them when ``parallel``.

    Raises ConfigError for a bad tool list or choice, and for parameter schemas using
    keywords a grammar cannot hold.
    """
    if not tools:
        raise ConfigError(
            translate("Tools", "tool_choice asks for a tool call, but no tools were given.")
        )
    defs: dict[str, Any] = {}
    options: list[dict[str, Any]] = []
    for index, tool in enumerate(chosen_tools(tools, choice)):
        name = function_of(tool)["name"]
        parameters = parameters_of(tool)
        try:
            check_enforceable(parameters)
        except ConfigError as exc:
            raise ConfigError(
                translate(
                    "Tools",
                    "Tool '{name}': {error}",
                ).format(name=name, error=str(exc))
            ) from None
        options.append(
            {
                "type": "object",
                "properties": {
                    "name": {"const": name},
                    "arguments": _hoisted(parameters, f"t{index}_", defs),
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    call: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
    schema: dict[str, Any] = {"type": "array", "items": call, "minItems": 1} if parallel else call
    if defs:
        schema = {**schema, "$defs": defs}
    return json.dumps(schema, ensure_ascii=False)


def calls_from_forced(text: str) -> tuple[ToolCall, ...]:
    """The calls in a reply held to :func:`forced_call_schema`; ValueError when the
    reply is not whole (cut by its length limit)."""
    value = json.loads(text)
    items = value if isinstance(value, list) else [value]
    calls: list[ToolCall] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError("not a forced tool call")
        arguments = item.get("arguments")
        if not isinstance(arguments, dict):
            raise ValueError("a forced tool call's arguments must be an object")
        calls.append(ToolCall.make(item["name"], arguments))
    return tuple(calls)


def _named(choice: str | dict[str, Any]) -> str:
    function = choice.get("function") if isinstance(choice, dict) else None
    if (
        not isinstance(choice, dict)
        or choice.get("type", "function") != "function"
        or not isinstance(function, dict)
        or not isinstance(function.get("name"), str)
    ):
        raise ConfigError(
            translate(
                "Tools",
                'tool_choice must be "none", "auto", "required" or {"type": "function", '
                '"function": {"name": ...}}.',
            )
        )
    name: str = function["name"]
    return name


def _hoisted(schema: dict[str, Any], prefix: str, defs: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its own definitions, which move to ``defs`` under ``prefix``
    with every local reference to them rewritten: nested inside the call object, a
    ``#/$defs/...`` reference would otherwise point at the wrong root."""
    local: dict[str, str] = {}
    for key in _DEFS:
        for name in schema.get(key) or {}:
            local[f"#/{key}/{name}"] = f"#/$defs/{prefix}{name}"

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: local.get(v, v) if k == "$ref" and isinstance(v, str) else rewrite(v)
                for k, v in value.items()
                if k not in _DEFS
            }
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    for key in _DEFS:
        for name, part in (schema.get(key) or {}).items():
            defs[f"{prefix}{name}"] = rewrite(part)
    hoisted: dict[str, Any] = rewrite(schema)
    return hoisted
