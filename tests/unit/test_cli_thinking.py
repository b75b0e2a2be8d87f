"""hearth chat with a reasoning model: the thinking goes to stderr, only the answer to
stdout, and the reply (kept in the interactive history, --json's "text") is the answer."""

from __future__ import annotations

import io

import pytest

from app.cli.chat import stream_reply
from app.core.generation import GenerationStats
from app.engine import protocol as p

STATS = GenerationStats(1, 1, 0.01, 10.0, 0.1, 0, 2048, "cpu")


class Handle:
    """A request handle replaying engine events (what the worker sends for one reply)."""

    sent_at = 0.0

    def __init__(self, events: list[p.Event]) -> None:
        self._events = iter(events)

    def next_event(self, timeout: float | None = None) -> p.Event:
        return next(self._events)


class NoCancel:
    def cancel(self, target: object) -> None:
        raise AssertionError("nothing is cancelled here")


def events(pieces: list[str], *, opened: bool = False) -> list[p.Event]:
    text = "".join(pieces)
    return [
        p.PromptPrepared(1, 10, 0, None, thinking_open=opened),
        *[p.Delta(1, piece) for piece in pieces],
        p.GenerationDone(1, text, "stop", STATS),
    ]


@pytest.mark.parametrize("opened", [False, True])
def test_thinking_goes_to_stderr_and_the_answer_to_stdout(
    opened: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    pieces = ["<th", "ink>Count the r", "'s: three.</thi", "nk>\n\nThere are ", "three."]
    if opened:  # the prompt opened the block: the reply starts inside it
        pieces = ["Count the r", "'s: three.</think>", "There are three."]
    out = io.StringIO()
    reply = stream_reply(Handle(events(pieces, opened=opened)), out, NoCancel())  # type: ignore[arg-type]
    assert out.getvalue() == "There are three."
    assert reply.text == "There are three."
    assert reply.reasoning == "Count the r's: three."
    assert capsys.readouterr().err == "Thinking: Count the r's: three.\n"


def test_a_reply_without_thinking_is_passed_through(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    pieces = ["  Hello", " there."]
    reply = stream_reply(Handle(events(pieces)), out, NoCancel())  # type: ignore[arg-type]
    assert (out.getvalue(), reply.text, reply.reasoning) == (
        "  Hello there.",
        "  Hello there.",
        None,
    )
    assert capsys.readouterr().err == ""
