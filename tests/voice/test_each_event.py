"""The voice loop waits for each of the engine's events, not for the whole reply, within
``engine_timeout_s``: a long reply on a slow machine streams for minutes (it used to end
voice mode with "The engine did not answer within 8 s" once the reply as a whole had
taken longer than the timeout)."""

from __future__ import annotations

import threading

import pytest

from app.core.errors import EngineError
from app.engine import protocol as p
from app.engine.client import RequestHandle
from app.voice.loop import each_event


def feed(handle: RequestHandle, pieces: int, gap_s: float) -> threading.Thread:
    """The engine client's reader: ``pieces`` deltas ``gap_s`` apart, then the end."""
    stop = threading.Event()

    def run() -> None:
        for index in range(pieces):
            stop.wait(gap_s)
            handle._push(p.Delta(handle.request_id, f"word{index} "))
        handle._push(p.ErrorEvent(handle.request_id, "EngineError", "done"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_reply_longer_than_the_timeout_streams_whole() -> None:
    handle = RequestHandle(1, "generate")
    thread = feed(handle, pieces=10, gap_s=0.3)  # 3 s in all, each piece within 0.3 s
    events = list(each_event(handle, timeout_s=2.0))
    thread.join(5)
    assert [e.text for e in events if isinstance(e, p.Delta)] == [f"word{i} " for i in range(10)]
    assert isinstance(events[-1], p.ErrorEvent)


def test_an_engine_that_goes_quiet_is_still_caught() -> None:
    handle = RequestHandle(2, "generate")
    handle._push(p.Delta(2, "only this"))
    events = each_event(handle, timeout_s=0.2)
    assert isinstance(next(events), p.Delta)
    with pytest.raises(EngineError, match="did not answer"):
        next(events)
