"""The streamed reply's own ASGI behaviour: one ``data:`` event per payload, a keep-alive
comment while nothing comes, the job cancelled however the reply ends (the real server's
streams, hang-ups included, are tested in tests/server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest

from app.server import routes


async def _slow(pieces: list[str], pause: float) -> AsyncIterator[str]:
    for piece in pieces:
        await asyncio.sleep(pause)
        yield piece


def _run(stream: routes._JobStream, hang_up_after: float | None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if hang_up_after is None:
            await asyncio.Event().wait()  # never
        await asyncio.sleep(hang_up_after or 0.0)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def main() -> None:
        await stream({"type": "http"}, receive, send)
        # Nothing of the stream is pending in this task afterwards.
        await asyncio.sleep(0.05)

    asyncio.run(main())
    return sent


def test_each_payload_is_one_event_and_a_pause_gets_a_keep_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "PING_S", 0.1)
    cancelled: list[bool] = []
    stream = routes._JobStream(_slow(["{}", "[DONE]"], 0.35), lambda: cancelled.append(True))
    sent = _run(stream, None)
    start, *bodies = sent
    assert start["type"] == "http.response.start" and start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert b"content-length" not in headers
    data = [m["body"] for m in bodies if m["body"].startswith(b"data:")]
    assert data == [b"data: {}\n\n", b"data: [DONE]\n\n"]
    pings = [m["body"] for m in bodies if m["body"].startswith(b":")]
    assert len(pings) >= 4, bodies  # 0.35 s pauses, a comment each 0.1 s
    assert bodies[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert cancelled == [True]


def test_a_client_that_hangs_up_ends_the_stream_and_its_job() -> None:
    cancelled: list[bool] = []
    stream = routes._JobStream(_slow(["a"] * 100, 0.05), lambda: cancelled.append(True))
    sent = _run(stream, 0.22)
    data = [m for m in sent if m.get("body", b"").startswith(b"data:")]
    assert 2 <= len(data) < 10
    assert not any(m.get("more_body") is False for m in sent)  # never finished
    assert cancelled == [True]
