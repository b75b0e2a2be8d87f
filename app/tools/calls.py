"""One tool call a model asked for, in Hearth's shape and OpenAI's."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_call_id() -> str:
    """A fresh call id in OpenAI's style (``call_`` and 24 hex digits)."""
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class ToolCall:
    """A call of the function ``name`` with ``arguments`` (a JSON object).

    ``raw_arguments`` is the arguments' JSON text as sent on the wire (OpenAI's
    ``function.arguments`` is text, not an object).
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = "{}"

    @classmethod
    def make(cls, name: str, arguments: dict[str, Any], call_id: str | None = None) -> ToolCall:
        """A call with its raw arguments written from ``arguments`` (and a new id)."""
        raw = json.dumps(arguments, ensure_ascii=False)
        return cls(call_id or new_call_id(), name, dict(arguments), raw)

    def to_openai(self) -> dict[str, Any]:
        """``{"id", "type": "function", "function": {"name", "arguments"}}``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.raw_arguments},
        }

    @classmethod
    def from_openai(cls, value: dict[str, Any]) -> ToolCall:
        """A call from OpenAI's shape; ValueError when it is not one."""
        function = value.get("function") if isinstance(value, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError("a tool call needs function.name")
        raw = function.get("arguments", "{}")
        if isinstance(raw, dict):
            raw = json.dumps(raw, ensure_ascii=False)
        if not isinstance(raw, str):
            raise ValueError("a tool call's function.arguments must be JSON text")
        arguments = json.loads(raw or "{}")
        if not isinstance(arguments, dict):
            raise ValueError("a tool call's arguments must be a JSON object")
        call_id = value.get("id")
        return cls(
            call_id if isinstance(call_id, str) and call_id else new_call_id(),
            function["name"],
            arguments,
            raw or "{}",
        )
