"""Tool calls through /v1/chat/completions with the official ``openai`` client, on the
real starter model in Hearth's server.

The model is too small to pick tools, so calls are forced (tool_choice required or a
named function: a grammar holds the reply), and the auto path is driven by a
response_format that makes the model write a Llama 3.x style call. Arguments are
checked against each tool's schema with ``jsonschema``, never the model's words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import openai
import pytest

from app.server.httpd import HearthServer
from tests.fixtures.tool_schemas import ASK, TOOLS
from tests.server.conftest import API_KEY, CHAT_MODEL, serving_in_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthServer]:
    with serving_in_process(tmp_path_factory.mktemp("tools-server")) as served:
        yield served


def client(server: HearthServer) -> Any:
    return openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0, timeout=240)


def check_calls(calls: Any) -> None:
    """Every call names an offered tool, and its arguments validate against its schema."""
    assert calls
    for call in calls:
        assert call.type == "function" and call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


def test_required_calls_round_trip_with_tool_results(server: HearthServer) -> None:
    api = client(server)
    for seed in range(3):
        reply = api.chat.completions.create(
            model=CHAT_MODEL,
            messages=ASK,
            tools=TOOLS,
            tool_choice="required",
            temperature=1.0,
            seed=seed,
            max_tokens=200,
        )
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        check_calls(choice.message.tool_calls)
    # The results go back as tool messages; the model answers in text.
    calls = choice.message.tool_calls
    history = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [c.model_dump(exclude_none=True) for c in calls],
        },
        *[{"role": "tool", "tool_call_id": c.id, "content": "18 degrees and sunny"} for c in calls],
    ]
    answer = api.chat.completions.create(
        model=CHAT_MODEL,
        messages=history,
        tools=TOOLS,
        tool_choice="none",
        temperature=0,
        max_tokens=30,
    )
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].message.content
    # The call and its result were in the prompt: longer than the question alone.
    alone = api.chat.completions.create(
        model=CHAT_MODEL, messages=ASK, tools=TOOLS, tool_choice="none", max_tokens=1
    )
    assert answer.usage is not None and alone.usage is not None
    assert answer.usage.prompt_tokens > alone.usage.prompt_tokens + 20


def test_a_named_function_without_parallel_calls_is_one_call_of_it(server: HearthServer) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    for seed in range(3):
        reply = client(server).chat.completions.create(
            model=CHAT_MODEL,
            messages=ASK,
            tools=TOOLS,
            tool_choice=named,
            parallel_tool_calls=False,
            temperature=1.0,
            seed=seed,
            max_tokens=200,
        )
        calls = reply.choices[0].message.tool_calls
        check_calls(calls)
        assert len(calls) == 1 and calls[0].function.name == "get_weather"


def test_streamed_calls_come_as_deltas_in_openais_shape(server: HearthServer) -> None:
    stream = client(server).chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        temperature=1.0,
        seed=5,
        max_tokens=200,
        stream=True,
    )
    chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    by_index: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        delta = chunk.choices[0].delta
        assert not delta.content  # a forced call is never text
        for part in delta.tool_calls or []:
            entry = by_index.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
            if part.id:
                entry["id"] = part.id
                assert part.type == "function"
            if part.function and part.function.name:
                entry["name"] = part.function.name
            if part.function and part.function.arguments:
                entry["arguments"] += part.function.arguments
    assert by_index and sorted(by_index) == list(range(len(by_index)))
    for entry in by_index.values():
        assert entry["id"].startswith("call_")
        jsonschema.validate(json.loads(entry["arguments"]), SCHEMAS[entry["name"]])


# A reply the model must write as a Llama 3.x call: with tool_choice auto, Hearth finds it.
LLAMA_CALL = {
    "type": "json_schema",
    "json_schema": {
        "name": "call",
        "schema": {
            "type": "object",
            "properties": {
                "name": {"const": "get_time"},
                "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
            },
            "required": ["name", "parameters"],
            "additionalProperties": False,
        },
    },
}


def test_auto_finds_a_call_the_model_wrote_in_its_own_format(server: HearthServer) -> None:
    api = client(server)
    reply = api.chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK,
        tools=TOOLS,
        response_format=LLAMA_CALL,
        temperature=0,
        max_tokens=60,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_time" and json.loads(call.function.arguments) == {}
    chunks = list(
        api.chat.completions.create(
            model=CHAT_MODEL,
            messages=ASK,
            tools=TOOLS,
            response_format=LLAMA_CALL,
            temperature=0,
            max_tokens=60,
            stream=True,
        )
    )
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert not "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    names = [
        p.function.name
        for c in chunks
        for p in c.choices[0].delta.tool_calls or []
        if p.function and p.function.name
    ]
    assert names == ["get_time"]
    # Without tools the same reply is just text.
    plain = api.chat.completions.create(
        model=CHAT_MODEL, messages=ASK, response_format=LLAMA_CALL, temperature=0, max_tokens=60
    )
    assert plain.choices[0].finish_reason == "stop"
    assert json.loads(plain.choices[0].message.content)["name"] == "get_time"


def status_of(call: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("extra", "param", "words"),
    [
        ({"tools": {"type": "function"}}, "tools", "must be a list"),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools[0]",
            "must be 1 to 64",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"type": "object", "properties": 5},
                        },
                    }
                ]
            },
            "tools[0]",
            "not a valid JSON schema",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"type": "string"}},
                    }
                ]
            },
            "tools[0]",
            "schema of an object",
        ),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
            "'nope', which is not among the tools",
        ),
        ({"tool_choice": "required"}, "tools", "no tools were given"),
        ({"tools": TOOLS, "tool_choice": "always"}, "tool_choice", "must be"),
        (
            {"tools": TOOLS, "tool_choice": "required", "response_format": {"type": "json_object"}},
            "response_format",
            "cannot be used with a forced tool call",
        ),
        ({"tools": TOOLS, "parallel_tool_calls": "yes"}, "parallel_tool_calls", "true or false"),
    ],
)
def test_bad_tools_are_400s_naming_the_field(
    server: HearthServer, extra: dict[str, Any], param: str, words: str
) -> None:
    error = status_of(
        lambda: client(server).chat.completions.create(
            model=CHAT_MODEL, messages=ASK, max_tokens=5, **extra
        )
    )
    assert error.status_code == 400
    body = error.body
    assert isinstance(body, dict) and body.get("param") == param, body
    assert words in str(body.get("message")), body


def test_a_bad_tool_call_in_the_history_is_a_400(server: HearthServer) -> None:
    history = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
            ],
        },
    ]
    error = status_of(
        lambda: client(server).chat.completions.create(
            model=CHAT_MODEL, messages=history, max_tokens=5
        )
    )
    assert error.status_code == 400 and "tool_calls" in str(error.body)
