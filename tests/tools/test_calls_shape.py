"""ToolCall in OpenAI's shape, both ways."""

from __future__ import annotations

import pytest

from app.tools.calls import ToolCall


def test_a_call_round_trips_through_openais_shape() -> None:
    call = ToolCall.make("get_weather", {"city": "Zürich"})
    wire = call.to_openai()
    assert wire == {
        "id": call.id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'},
    }
    assert ToolCall.from_openai(wire) == call


def test_from_openai_refuses_what_is_not_a_call() -> None:
    with pytest.raises(ValueError):
        ToolCall.from_openai({"type": "function"})
    with pytest.raises(ValueError):
        ToolCall.from_openai({"function": {"name": "f", "arguments": "[1]"}})
    with pytest.raises(ValueError):
        ToolCall.from_openai({"function": {"name": "f", "arguments": "{bad"}})
