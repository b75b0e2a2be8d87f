"""parse_reply on model outputs in each family's tool-call format.

RECORDED FROM DOCUMENTATION: the replies below are written from each format's published
documentation and examples (model cards, the models' chat templates, llama.cpp's
common/chat.cpp parsers), not captured from a running model: Hearth's test models are
too small to call tools on their own. Each names its source.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.tools.formats import held_from, parse_reply

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
SEARCH: dict[str, Any] = {
    "type": "function",
    "function": {"name": "brave_search", "parameters": {"type": "object"}},
}
TOOLS = [WEATHER, SEARCH]

# (source, reply, content, [(name, arguments), ...])
RECORDED: list[tuple[str, str, str, list[tuple[str, dict[str, Any]]]]] = [
    (
        "Hermes 2 Pro model card (<tool_call> block, arguments before name)",
        '<tool_call>\n{"arguments": {"location": "Paris, France"}, '
        '"name": "get_current_weather"}\n</tool_call>',
        "",
        [("get_current_weather", {"location": "Paris, France"})],
    ),
    (
        "Qwen 2.5 function-calling docs (two parallel calls, text before them)",
        "Let me check both.\n<tool_call>\n"
        '{"name": "get_current_weather", "arguments": {"location": "San Francisco, CA, USA"}}'
        "\n</tool_call>\n<tool_call>\n"
        '{"name": "get_current_weather", "arguments": {"location": "Paris", '
        '"format": "celsius"}}\n</tool_call>',
        "Let me check both.",
        [
            ("get_current_weather", {"location": "San Francisco, CA, USA"}),
            ("get_current_weather", {"location": "Paris", "format": "celsius"}),
        ],
    ),
    (
        "Llama 3.1 prompt-format docs (JSON-based tool calling, 'parameters')",
        '{"name": "get_current_weather", "parameters": {"location": "San Francisco, CA", '
        '"format": "fahrenheit"}}',
        "",
        [("get_current_weather", {"location": "San Francisco, CA", "format": "fahrenheit"})],
    ),
    (
        "Llama 3.1 prompt-format docs (built-in tool after <|python_tag|>)",
        '<|python_tag|>brave_search.call(query="current weather in Menlo Park, California")',
        "",
        [("brave_search", {"query": "current weather in Menlo Park, California"})],
    ),
    (
        "llama.cpp chat.cpp Llama 3.x parser (python_tag followed by a JSON call)",
        '<|python_tag|>{"type": "function", "name": "get_current_weather", '
        '"parameters": {"location": "Oslo"}}',
        "",
        [("get_current_weather", {"location": "Oslo"})],
    ),
    (
        "Mistral v3 tokenizer docs / Mistral Nemo ([TOOL_CALLS] and a JSON list with ids)",
        '[TOOL_CALLS][{"name": "get_current_weather", "arguments": {"location": '
        '"Paris, France", "format": "celsius"}, "id": "VvvODy9mT"}]',
        "",
        [("get_current_weather", {"location": "Paris, France", "format": "celsius"})],
    ),
    (
        "Mistral Small 3.2 chat template ([TOOL_CALLS]name[ARGS]{...} per call)",
        '[TOOL_CALLS]get_current_weather[ARGS]{"location": "Paris"}'
        '[TOOL_CALLS]brave_search[ARGS]{"query": "Paris events"}',
        "",
        [
            ("get_current_weather", {"location": "Paris"}),
            ("brave_search", {"query": "Paris events"}),
        ],
    ),
    (
        "functionary v3.2 README (>>>name, JSON arguments)",
        '>>>get_current_weather\n{"location": "Istanbul"}',
        "",
        [("get_current_weather", {"location": "Istanbul"})],
    ),
    (
        "functionary v3.2 README (>>>all text, then a call)",
        '>>>all\nI will look that up.>>>get_current_weather\n{"location": "Hanoi"}',
        "I will look that up.",
        [("get_current_weather", {"location": "Hanoi"})],
    ),
    (
        "functionary v3.1 (Llama 3.1) README (<function=name>{...}</function>)",
        '<function=get_current_weather>{"location": "Istanbul"}</function>',
        "",
        [("get_current_weather", {"location": "Istanbul"})],
    ),
]


@pytest.mark.parametrize(
    ("source", "reply", "content", "calls"), RECORDED, ids=[r[0] for r in RECORDED]
)
def test_each_format_gives_its_calls(
    source: str, reply: str, content: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    parsed = parse_reply(reply, TOOLS)
    assert parsed.content == content, source
    assert [(c.name, c.arguments) for c in parsed.calls] == calls, source
    for call in parsed.calls:
        openai = call.to_openai()
        assert openai["type"] == "function" and openai["id"].startswith(("call_", "Vvv"))
        assert openai["function"]["name"] == call.name


def test_mistral_keeps_the_models_call_id() -> None:
    parsed = parse_reply(RECORDED[5][1], TOOLS)
    assert parsed.calls[0].id == "VvvODy9mT"


def test_calls_of_tools_not_offered_stay_text() -> None:
    reply = '<tool_call>\n{"name": "delete_everything", "arguments": {}}\n</tool_call>'
    assert parse_reply(reply, TOOLS).calls == ()
    assert parse_reply(reply, TOOLS).content == reply
    llama = '{"name": "rm", "parameters": {"path": "/"}}'
    assert parse_reply(llama, TOOLS).calls == ()


def test_without_tools_nothing_is_a_call() -> None:
    reply = RECORDED[0][1]
    assert parse_reply(reply, []).calls == ()
    assert parse_reply(reply, []).content == reply


@pytest.mark.parametrize(
    "reply",
    [
        "The weather in Paris is sunny.",
        '{"answer": 42}',  # JSON, but not a call
        '<tool_call>\n{"name": "get_current_weather", "arguments": [1, 2]}\n</tool_call>',
        "<tool_call>\nnot json\n</tool_call>",
        "[TOOL_CALLS] no list here",
        "A >>> B",
    ],
)
def test_malformed_or_plain_replies_are_content(reply: str) -> None:
    parsed = parse_reply(reply, TOOLS)
    assert parsed.calls == () and parsed.content == reply


def test_arguments_given_as_json_text_are_read() -> None:
    reply = (
        '<tool_call>{"name": "get_current_weather", '
        '"arguments": "{\\"location\\": \\"Rome\\"}"}</tool_call>'
    )
    (call,) = parse_reply(reply, TOOLS).calls
    assert call.arguments == {"location": "Rome"}


def test_an_unclosed_call_at_the_end_is_taken() -> None:
    # A stop string may cut the closing tag off.
    reply = '<tool_call>\n{"name": "get_current_weather", "arguments": {"location": "Bern"}}'
    (call,) = parse_reply(reply, TOOLS).calls
    assert call.arguments == {"location": "Bern"}


def test_held_from_keeps_back_what_may_start_a_call() -> None:
    assert held_from("Hello there") == len("Hello there")
    assert held_from("Hello <tool") == len("Hello ")
    assert held_from("Hi [TOOL_CALLS]") == len("Hi ")
    assert held_from("ok\n<tool_call>\n{") == len("ok\n")
    assert held_from('  {"name"') == 2  # Llama's JSON call starts the reply
    assert held_from("   ") == 0
    assert held_from("a >") == len("a ")  # could become ">>>"
