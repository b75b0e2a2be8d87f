"""run_tool: arguments checked against the schema, time limits, Stop, and failures that
become results the model can read, never a hang."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from app.core.errors import ToolError
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolContext
from app.tools.runner import MAX_RESULT_CHARS, run_tool

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "word": {"type": "string", "maxLength": 5}},
    "required": ["n"],
    "additionalProperties": False,
}


def tool(handler: Any, timeout_s: float = 5.0) -> Tool:
    return Tool("t", "Test tool.", SCHEMA, handler, timeout_s=timeout_s)


def call(**arguments: Any) -> ToolCall:
    return ToolCall.make("t", arguments)


def test_a_good_call_returns_its_text_and_time() -> None:
    result = run_tool(tool(lambda a, c: f"n={a['n']}"), call(n=3), ToolContext())
    assert (result.text, result.ok, result.status, result.error) == ("n=3", True, "complete", None)
    assert 0 <= result.elapsed_s < 5
    record = result.record(call(n=3))
    assert record["name"] == "t" and record["arguments"] == {"n": 3} and record["ok"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "'n' is a required property"),
        ({"n": "three"}, "n: 'three' is not of type 'integer'"),
        ({"n": 1, "word": "toolong"}, "word: 'toolong' is too long"),
        ({"n": 1, "extra": 1}, "Additional properties are not allowed"),
    ],
)
def test_arguments_that_break_the_schema_are_refused_before_running(
    arguments: dict[str, Any], message: str
) -> None:
    ran = threading.Event()

    def handler(a: dict[str, Any], c: ToolContext) -> str:
        ran.set()
        return "ran"

    result = run_tool(tool(handler), call(**arguments), ToolContext())
    assert not result.ok and result.status == "refused"
    assert message in result.text and result.text.startswith("Error: ")
    assert not ran.is_set()


def test_a_call_for_another_tool_is_refused() -> None:
    result = run_tool(tool(lambda a, c: "x"), ToolCall.make("other", {"n": 1}), ToolContext())
    assert result.status == "refused" and "not t" in result.text


def test_a_failing_tool_gives_an_error_result() -> None:
    def broken(a: dict[str, Any], c: ToolContext) -> str:
        raise RuntimeError("disk on fire")

    def refusing(a: dict[str, Any], c: ToolContext) -> str:
        raise ToolError("that file is not allowed.")

    result = run_tool(tool(broken), call(n=1), ToolContext())
    assert (result.ok, result.status) == (False, "error")
    assert "RuntimeError: disk on fire" in result.text
    result = run_tool(tool(refusing), call(n=1), ToolContext())
    assert result.text == "Error: that file is not allowed."
    result = run_tool(tool(lambda a, c: None), call(n=1), ToolContext())
    assert result.status == "error" and "returned no text" in result.text


def test_a_slow_tool_times_out_and_is_told_to_stop() -> None:
    context = ToolContext()
    released = threading.Event()

    def slow(a: dict[str, Any], c: ToolContext) -> str:
        c.cancel.wait(30)
        released.set()
        return "late"

    start = time.monotonic()
    result = run_tool(tool(slow, timeout_s=0.3), call(n=1), context)
    waited = time.monotonic() - start
    assert (result.ok, result.status) == (False, "timeout")
    assert "did not finish within 0.3 s" in result.text
    assert 0.3 <= waited < 2.0
    assert released.wait(2.0)  # the handler saw context.cancel and ended


def test_a_tool_that_ignores_cancel_cannot_hang_the_caller() -> None:
    forever = threading.Event()
    start = time.monotonic()
    result = run_tool(
        tool(lambda a, c: str(forever.wait(60))), call(n=1), ToolContext(), timeout_s=0.2
    )
    assert result.status == "timeout" and time.monotonic() - start < 2.0
    forever.set()


def test_stop_ends_the_wait_at_once() -> None:
    cancel = threading.Event()
    context = ToolContext()
    started = threading.Event()

    def waits(a: dict[str, Any], c: ToolContext) -> str:
        started.set()
        c.cancel.wait(30)
        return "done"

    def press_stop() -> None:
        started.wait(5)
        cancel.set()

    threading.Thread(target=press_stop, daemon=True).start()
    start = time.monotonic()
    result = run_tool(tool(waits), call(n=1), context, cancel=cancel)
    assert (result.ok, result.status) == (False, "cancelled")
    assert "stopped" in result.text and time.monotonic() - start < 3.0
    assert context.cancel.is_set()


def test_a_huge_result_is_cut() -> None:
    result = run_tool(tool(lambda a, c: "x" * (MAX_RESULT_CHARS + 500)), call(n=1), ToolContext())
    assert result.ok and len(result.text) < MAX_RESULT_CHARS + 100
    assert result.text.endswith("[… 500 more characters cut]")
