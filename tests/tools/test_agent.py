"""The tool loop: on the real starter model forced to call (model → call → tool → result →
answer), and on scripted replies for permissions, Stop, round limits and what is shown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.core.generation import GenerationParams, GenerationStats, Message
from app.engine import protocol as p
from app.engine.client import EngineClient, RequestHandle
from app.tools.agent import (
    CallEvent,
    CallHoldback,
    ToolEngine,
    ToolTurn,
    call_messages,
    execute,
    run_turn,
)
from app.tools.builtin.calculator import calculator_tool
from app.tools.builtin.clock import datetime_tool
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolContext, ToolRegistry

TIMEOUT = 120
FIXED = datetime(2026, 11, 29, 17, 5, 9, tzinfo=timezone(timedelta(hours=1), "CET"))
STATS = GenerationStats(5, 3, 0.01, 100.0, 0.03, 0, 2048, "cpu")


def hermes(name: str, arguments: dict[str, Any]) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


class ScriptedEngine:
    """Replies from a script, streamed in 4-character deltas through real handles."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[list[Message], GenerationParams]] = []
        self.cancelled: list[int] = []
        self._ids = iter(range(1, 1000))

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle:
        handle = RequestHandle(next(self._ids), "generate")
        self.requests.append((list(messages), params or GenerationParams()))
        text = self.replies.pop(0)
        handle._push(p.PromptPrepared(handle.request_id, 10, 0, None))
        for at in range(0, len(text), 4):
            handle._push(p.Delta(handle.request_id, text[at : at + 4]))
        handle._push(p.GenerationDone(handle.request_id, text, "stop", STATS))
        return handle

    def cancel(self, target: RequestHandle | int) -> None:
        self.cancelled.append(target if isinstance(target, int) else target.request_id)


def registry_of(*tools: Tool) -> ToolRegistry:
    registry = ToolRegistry()
    for tool in tools:
        registry.register(tool)
        registry.set_enabled(tool.name, True)
    return registry


ASK_SUM: list[Message] = [{"role": "user", "content": "What is 6 times 7?"}]


def test_a_call_runs_and_its_result_goes_back_to_the_model() -> None:
    engine = ScriptedEngine([hermes("calculator", {"expression": "6*7"}), "It is 42."])
    calc = calculator_tool()
    turn = ToolTurn(ASK_SUM, [calc], GenerationParams())
    shown: list[str] = []
    events: list[CallEvent] = []
    outcome = run_turn(
        engine,
        turn,
        ToolContext(),
        registry=registry_of(calc),
        on_delta=shown.append,
        on_call=events.append,
    )
    assert outcome.text == "".join(shown) == "It is 42."  # the call's text never shown
    assert (outcome.rounds, outcome.finish_reason) == (2, "stop")
    [record] = outcome.records
    assert (record["name"], record["arguments"], record["result"], record["ok"]) == (
        "calculator",
        {"expression": "6*7"},
        "42",
        True,
    )
    assert [e.result is None for e in events] == [True, False]
    second, params = engine.requests[1]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "calculator"
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": record["id"],
        "name": "calculator",
        "content": "42",
    }
    assert params.tools is not None and json.loads(params.tools)[0]["function"]["name"] == (
        "calculator"
    )


def test_text_before_a_call_is_shown_and_the_call_held() -> None:
    holdback = CallHoldback()
    pieces = ["Let me ", "check. <to", "ol_call>", '{"name": "x"}']
    assert [holdback.feed(t) for t in pieces] == ["Let me ", "check. ", "", ""]
    assert holdback.flush() == '<tool_call>{"name": "x"}'
    plain = CallHoldback()
    assert plain.feed("{") == "" and plain.feed('"a": 1}') == "" and plain.flush() == '{"a": 1}'


def test_after_max_rounds_the_model_must_answer_without_tools() -> None:
    call = hermes("calculator", {"expression": "1+1"})
    engine = ScriptedEngine([call, call, "Two."])
    calc = calculator_tool()
    turn = ToolTurn(ASK_SUM, [calc], GenerationParams(), max_rounds=2)
    outcome = run_turn(engine, turn, ToolContext(), registry=registry_of(calc))
    assert outcome.rounds == 3 and len(outcome.records) == 2 and outcome.text == "Two."
    assert [params.tools is not None for _, params in engine.requests] == [True, True, False]


def test_forced_round_asks_a_schema_and_its_json_is_never_shown() -> None:
    engine = ScriptedEngine(['{"name": "current_datetime", "arguments": {}}', "Five past five."])
    clock = datetime_tool()
    turn = ToolTurn(ASK_SUM, [clock], GenerationParams(), choice="required", then="none")
    shown: list[str] = []
    outcome = run_turn(
        engine,
        turn,
        ToolContext(now=lambda: FIXED),
        registry=registry_of(clock),
        on_delta=shown.append,
    )
    assert shown == ["Five", " pas", "t fi", "ve."]
    first, second = (params for _, params in engine.requests)
    assert first.json_schema is not None and "current_datetime" in first.json_schema
    assert second.json_schema is None and second.tools is None
    assert outcome.records[0]["result"].startswith("2026-11-29 17:05:09")


def test_a_forced_call_with_a_raw_newline_in_a_string_is_read() -> None:
    """llama.cpp's schema grammar lets a string hold a raw newline (JSON does not)."""
    raw = '{"name": "calculator", "arguments": {"expression": "(6 *' + "\n" + '7)"}}'
    engine = ScriptedEngine([raw, "42"])
    calc = calculator_tool()
    turn = ToolTurn(ASK_SUM, [calc], GenerationParams(), choice="calculator", then="none")
    outcome = run_turn(engine, turn, ToolContext(), registry=registry_of(calc))
    assert outcome.records[0]["arguments"] == {"expression": "(6 *\n7)"}
    assert outcome.records[0]["result"] == "42"


class Gate:
    """A permission prompt the test answers: the handler must not run before."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer: bool | None = None
        self.answered = threading.Event()

    def __call__(self, tool: Tool, call: ToolCall) -> bool:
        self.asked.set()
        assert self.answered.wait(10)
        return bool(self.answer)


def counting_tool(permission: str = "ask") -> tuple[Tool, list[int]]:
    runs: list[int] = []

    def handler(arguments: dict[str, Any], context: ToolContext) -> str:
        runs.append(1)
        return "ran"

    tool = Tool(
        "peek",
        "Peek.",
        {"type": "object", "properties": {}},
        handler,
        default_permission=permission,  # type: ignore[arg-type]
    )
    return tool, runs


def test_ask_waits_for_the_answer_and_no_means_no() -> None:
    tool, runs = counting_tool()
    registry = registry_of(tool)
    call = ToolCall.make("peek", {})
    for answer in (False, True):
        gate = Gate()
        results: list[Any] = []

        def ask_in_thread(gate: Gate = gate, results: list[Any] = results) -> None:
            results.append(execute(call, tool, registry, ToolContext(), ask=gate))

        worker = threading.Thread(target=ask_in_thread)
        worker.start()
        assert gate.asked.wait(5)
        time.sleep(0.2)  # the prompt stays unanswered a while: nothing may run meanwhile
        assert runs == []
        gate.answer = answer
        gate.answered.set()
        worker.join(5)
        [result] = results
        if answer:
            assert result.ok and result.text == "ran" and runs == [1]
        else:
            assert result.status == "refused" and "did not allow" in result.text and runs == []


def test_no_one_to_ask_never_and_unknown_tools_are_refused() -> None:
    tool, runs = counting_tool()
    registry = registry_of(tool)
    call = ToolCall.make("peek", {})
    result = execute(call, tool, registry, ToolContext(), ask=None)
    assert result.status == "refused" and "nobody could be asked" in result.text
    registry.set_permission("peek", "never")
    result = execute(call, tool, registry, ToolContext(), ask=lambda t, c: True)
    assert result.status == "refused" and "does not allow" in result.text
    result = execute(ToolCall.make("ghost", {}), None, registry, ToolContext(), ask=None)
    assert result.status == "refused" and "no tool named ghost" in result.text
    registry.set_permission("peek", "allow")
    assert execute(call, tool, registry, ToolContext(), ask=None).ok
    assert runs == [1]


def test_stop_during_a_tool_ends_the_turn_at_once() -> None:
    cancel = threading.Event()

    def slow(arguments: dict[str, Any], context: ToolContext) -> str:
        cancel.set()  # the user presses Stop while it runs
        context.cancel.wait(30)
        return "late"

    tool = Tool("slow", "Slow.", {"type": "object"}, slow, default_permission="allow")
    engine = ScriptedEngine([hermes("slow", {}), "never asked"])
    turn = ToolTurn(ASK_SUM, [tool], GenerationParams())
    start = time.monotonic()
    outcome = run_turn(engine, turn, ToolContext(), registry=registry_of(tool), cancel=cancel)
    assert time.monotonic() - start < 5
    assert outcome.records[0]["status"] == "cancelled"
    assert outcome.finish_reason == "cancelled"
    assert len(engine.requests) == 1  # no round after the Stop


def test_tool_engine_streams_only_the_answer_and_reports_the_calls() -> None:
    engine = ScriptedEngine([hermes("calculator", {"expression": "2**10"}), "1024."])
    calc = calculator_tool()
    records: list[list[dict[str, Any]]] = []
    wrapped = ToolEngine(engine, registry_of(calc), [calc], ToolContext, on_records=records.append)
    handle = wrapped.generate(ASK_SUM, GenerationParams())
    events = list(handle.events(10))
    assert isinstance(events[0], p.PromptPrepared)
    assert "".join(e.text for e in events if isinstance(e, p.Delta)) == "1024."
    done = events[-1]
    assert isinstance(done, p.GenerationDone) and done.text == "1024."
    assert records[0][0]["result"] == "1024"


# -- the real starter model --------------------------------------------------------------


@pytest.fixture(scope="module")
def smol_engine(smol_model: Path) -> Iterator[EngineClient]:
    client = EngineClient()
    loaded = client.load(str(smol_model), n_ctx=2048).wait(TIMEOUT)
    assert isinstance(loaded, p.ModelLoaded)
    yield client
    client.shutdown()


@pytest.mark.slow
def test_full_loop_on_the_starter_model_forced_to_call(smol_engine: EngineClient) -> None:
    """model → call → tool → result → answer, the call forced by a grammar."""
    clock = datetime_tool()
    question: list[Message] = [{"role": "user", "content": "What time is it?"}]
    params = GenerationParams(max_tokens=40, temperature=0.0, seed=7)
    turn = ToolTurn(question, [clock], params, choice="required", then="none")
    shown: list[str] = []
    outcome = run_turn(
        smol_engine,
        turn,
        ToolContext(now=lambda: FIXED),
        registry=registry_of(clock),
        on_delta=shown.append,
        timeout_s=TIMEOUT,
    )
    assert (outcome.rounds, outcome.finish_reason) in ((2, "stop"), (2, "length"))
    [record] = outcome.records
    assert (record["name"], record["arguments"], record["ok"]) == ("current_datetime", {}, True)
    assert record["result"] == "2026-11-29 17:05:09, Sunday; time zone CET (UTC+01:00)"
    # The model read the result: the tool message is in the second round's prompt.
    assert outcome.messages[1]["tool_calls"][0]["function"]["name"] == "current_datetime"
    assert outcome.messages[2]["content"] == record["result"]
    # What was shown is the second round's reply, exactly: no JSON of the forced call.
    assert outcome.text == "".join(shown)
    assert outcome.stats is not None and outcome.stats.completion_tokens > 0
    assert not outcome.text.lstrip().startswith("{")
    direct = smol_engine.generate(outcome.messages, turn.request()[1]).wait(TIMEOUT)
    assert isinstance(direct, p.GenerationDone) and direct.text == outcome.text


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_forced_calculator_arguments_always_fit_the_schema(
    smol_engine: EngineClient, seed: int
) -> None:
    calc = calculator_tool()
    turn = ToolTurn(
        ASK_SUM,
        [calc],
        GenerationParams(max_tokens=60, temperature=0.9, seed=seed),
        choice="calculator",
        then="none",
        max_rounds=1,
    )
    outcome = run_turn(smol_engine, turn, ToolContext(), registry=registry_of(calc))
    [record] = outcome.records
    jsonschema.validate(record["arguments"], calc.parameters)
    assert record["status"] in ("complete", "error")  # never refused by the schema


def test_a_one_token_warm_up_goes_straight_to_the_engine_with_the_tools_offered() -> None:
    """Voice warms the prompt cache with a one-token request: no tool may run for it."""
    engine = ScriptedEngine([hermes("calculator", {"expression": "1+1"})])
    calc = calculator_tool()
    records: list[Any] = []
    wrapped = ToolEngine(engine, registry_of(calc), [calc], ToolContext, on_records=records.append)
    handle = wrapped.generate(ASK_SUM, GenerationParams(max_tokens=1))
    done = handle.wait(10)
    assert isinstance(done, p.GenerationDone) and records == []
    [(_, params)] = engine.requests
    assert params.tools is not None and params.max_tokens == 1 and params.json_schema is None


def test_stored_calls_become_the_messages_the_model_read() -> None:
    record = {
        "id": "call_1",
        "name": "calculator",
        "arguments": {"expression": "6*7"},
        "result": "42",
        "ok": True,
        "elapsed_s": 0.001,
        "status": "complete",
    }
    assert call_messages([record]) == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "6*7"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "calculator", "content": "42"},
    ]
    assert call_messages([{"name": "x"}]) == []  # a damaged record is left out
