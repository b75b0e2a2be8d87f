"""The tool fields of a chat body, and what a reply becomes, without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.generation import GenerationStats
from app.server.openai_api import ApiError, Limits, chat_chunk, chat_response, parse_chat
from app.server.openai_tools import StreamSplitter, ToolRequest, call_deltas, outcome

LIMITS = Limits(max_tokens=1000)
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}
STATS = GenerationStats(5, 2, 0.1, 10.0, 0.3, 0, 4096, "cpu")


def chat(**body: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "Hi"}], **body}


def test_auto_shows_the_tools_and_none_hides_them() -> None:
    auto = parse_chat(chat(tools=[TOOL]), LIMITS)
    assert auto.tools.mode == "auto" and json.loads(auto.params.tools or "") == [TOOL]
    assert auto.params.json_schema is None
    none = parse_chat(chat(tools=[TOOL], tool_choice="none"), LIMITS)
    assert none.tools.mode == "none" and none.params.tools is None
    assert parse_chat(chat(), LIMITS).tools.mode == "none"


def test_a_forced_choice_holds_the_reply_to_a_call() -> None:
    forced = parse_chat(chat(tools=[TOOL], tool_choice="required"), LIMITS)
    assert forced.tools.mode == "forced" and forced.params.json_schema == forced.tools.schema
    assert forced.params.tools is not None  # the template still shows them


def test_tool_turns_are_kept_as_tool_turns() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    body = {
        "messages": [
            {"role": "user", "content": "Time?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "name": "get_time", "content": "noon"},
        ]
    }
    messages = parse_chat(body, LIMITS).messages
    assert messages[1] == {"role": "assistant", "content": "", "tool_calls": [call]}
    assert messages[2] == {
        "role": "tool",
        "content": "noon",
        "tool_call_id": "call_1",
        "name": "get_time",
    }
    bad = {"messages": [{"role": "tool", "content": "x", "tool_call_id": 5}]}
    with pytest.raises(ApiError, match="tool_call_id must be text"):
        parse_chat(bad, LIMITS)


def test_outcomes_of_each_mode() -> None:
    auto = ToolRequest((TOOL,), "auto")
    found = outcome('<tool_call>{"name": "get_time", "arguments": {}}</tool_call>', "stop", auto)
    assert found.reason == "tool_calls" and found.content is None
    assert [c.name for c in found.calls] == ["get_time"]
    assert outcome("It is noon.", "stop", auto) == outcome("It is noon.", "stop", ToolRequest())
    forced = ToolRequest((TOOL,), "forced", schema="{}")
    cut = outcome('{"name": "get_time", "argu', "length", forced)
    assert cut.calls == () and cut.reason == "length" and cut.content is not None
    one = ToolRequest((TOOL,), "auto", parallel=False)
    two = "<tool_call>" + json.dumps({"name": "get_time", "arguments": {}}) + "</tool_call>"
    assert len(outcome(two * 2, "stop", one).calls) == 1


def test_the_response_shape_with_calls() -> None:
    auto = ToolRequest((TOOL,), "auto")
    body = chat_response(
        "id",
        "m",
        '{"name": "get_time", "parameters": {"zone": "UTC"}}',
        "stop",
        STATS,
        tools=auto,
    )
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_time"
    assert json.loads(call["function"]["arguments"]) == {"zone": "UTC"}


def test_the_stream_sends_plain_text_at_once_and_holds_calls() -> None:
    splitter = StreamSplitter(ToolRequest((TOOL,), "auto"))
    sent = [
        splitter.feed(piece)
        for piece in [
            "Let me ",
            "check. <tool",
            '_call>{"name": ',
            '"get_time", "arguments": {}}</tool_call>',
        ]
    ]
    assert "".join(sent) == "Let me check. "
    rest, calls, reason = splitter.finish("stop")
    assert rest == "" and [c.name for c in calls] == ["get_time"] and reason == "tool_calls"
    plain = StreamSplitter(ToolRequest((TOOL,), "auto"))
    assert plain.feed("a <b") == "a <b"
    assert plain.finish("stop") == ("", (), "stop")
    deltas = list(call_deltas(calls))
    assert deltas[0]["tool_calls"][0]["function"] == {"name": "get_time", "arguments": ""}
    assert deltas[1]["tool_calls"][0] == {"index": 0, "function": {"arguments": "{}"}}
    chunk = chat_chunk("id", "m", deltas[0])
    assert chunk["choices"][0]["delta"]["tool_calls"][0]["id"] == calls[0].id
