"""forced_call_schema: the JSON schema that holds a reply to a call of an offered tool
(checked with jsonschema here; the grammar on the real model in test_forced_model)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from app.core.errors import ConfigError
from app.tools.forced import calls_from_forced, forced_call_schema

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME: dict[str, Any] = {"type": "function", "function": {"name": "get_time"}}
TOOLS = [WEATHER, TIME]


def _valid(schema: str, value: Any) -> bool:
    try:
        jsonschema.validate(value, json.loads(schema))
    except jsonschema.ValidationError:
        return False
    return True


def test_required_allows_any_offered_tool_with_valid_arguments() -> None:
    schema = forced_call_schema(TOOLS, "required", parallel=False)
    assert _valid(schema, {"name": "get_weather", "arguments": {"city": "Oslo"}})
    assert _valid(schema, {"name": "get_time", "arguments": {}})
    assert not _valid(schema, {"name": "get_weather", "arguments": {}})  # city required
    assert not _valid(schema, {"name": "other", "arguments": {}})
    assert not _valid(schema, [{"name": "get_time", "arguments": {}}])


def test_a_named_function_is_the_only_one_allowed() -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    schema = forced_call_schema(TOOLS, choice, parallel=False)
    assert _valid(schema, {"name": "get_time", "arguments": {}})
    assert not _valid(schema, {"name": "get_weather", "arguments": {"city": "x"}})


def test_parallel_calls_are_a_non_empty_list() -> None:
    schema = forced_call_schema(TOOLS, "required", parallel=True)
    assert _valid(schema, [{"name": "get_time", "arguments": {}}] * 2)
    assert not _valid(schema, [])
    assert not _valid(schema, {"name": "get_time", "arguments": {}})


def test_definitions_move_to_the_root_with_their_references() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "place",
            "parameters": {
                "type": "object",
                "properties": {"where": {"$ref": "#/$defs/Point"}},
                "required": ["where"],
                "$defs": {
                    "Point": {
                        "type": "object",
                        "properties": {"x": {"type": "number"}},
                        "required": ["x"],
                    }
                },
            },
        },
    }
    schema = forced_call_schema([tool], "required", parallel=False)
    assert _valid(schema, {"name": "place", "arguments": {"where": {"x": 1}}})
    assert not _valid(schema, {"name": "place", "arguments": {"where": {"y": 1}}})


@pytest.mark.parametrize(
    ("tools", "choice", "words"),
    [
        ([], "required", "no tools were given"),
        (TOOLS, {"type": "function", "function": {"name": "nope"}}, "'nope', which is not"),
        (TOOLS, {"type": "function"}, "tool_choice must be"),
        ([{"type": "function"}], "required", "Each tool must be"),
        ([{"type": "retrieval", "function": {"name": "x"}}], "required", "Each tool must be"),
        (
            [{"type": "function", "function": {"name": "x", "parameters": "bad"}}],
            "required",
            "must be a JSON schema object",
        ),
        (
            [
                {
                    "type": "function",
                    "function": {
                        "name": "age",
                        "parameters": {
                            "type": "object",
                            "properties": {"n": {"type": "integer", "maximum": 30}},
                        },
                    },
                }
            ],
            "required",
            "'maximum'",
        ),
    ],
)
def test_refusals_say_what_is_wrong(tools: list[Any], choice: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        forced_call_schema(tools, choice, parallel=False)


def test_calls_from_forced_reads_one_or_many() -> None:
    (one,) = calls_from_forced('{"name": "get_time", "arguments": {}}')
    assert one.name == "get_time" and one.arguments == {} and one.id.startswith("call_")
    two = calls_from_forced(
        '[{"name": "get_weather", "arguments": {"city": "Oslo"}}, '
        '{"name": "get_time", "arguments": {}}]'
    )
    assert [c.name for c in two] == ["get_weather", "get_time"]
    assert json.loads(two[0].raw_arguments) == {"city": "Oslo"}
    assert len({c.id for c in two}) == 2
    with pytest.raises(ValueError):
        calls_from_forced('{"name": "get_weather", "argum')  # cut by the length limit
