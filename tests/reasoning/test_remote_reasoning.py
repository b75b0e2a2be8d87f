"""A remote server's ``reasoning_content`` deltas (Hearth's own, llama-server's) reach the
window as a ``<think>`` block, which the window's splitter separates again."""

from __future__ import annotations

from typing import Any

from app.core.reasoning import split_reasoning
from app.remote.client import _Reply


def chunk(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def test_reasoning_deltas_come_back_as_a_think_block() -> None:
    reply = _Reply(started=0.0)
    pieces = [
        reply.take(chunk(role="assistant", content=""), "http://x"),
        reply.take(chunk(reasoning_content="Two and "), "http://x"),
        reply.take(chunk(reasoning_content="two."), "http://x"),
        reply.take(chunk(content="It is "), "http://x"),
        reply.take(chunk(content="4."), "http://x"),
    ]
    assert "".join(pieces) == reply.text == "<think>Two and two.</think>It is 4."
    split = split_reasoning(reply.text)
    assert (split.thinking, split.answer) == ("Two and two.", "It is 4.")


def test_plain_deltas_are_unchanged_and_unclosed_thinking_stays_thinking() -> None:
    plain = _Reply(started=0.0)
    plain.take(chunk(content=" Hello"), "http://x")
    assert plain.text == " Hello"
    cut = _Reply(started=0.0)
    cut.take(chunk(reasoning="Still going"), "http://x")
    assert split_reasoning(cut.text).thinking == "Still going"
