"""kill -9 of the running app during a streamed reply loses nothing already written."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.paths import app_paths
from app.storage import ConversationStore, default_database_path

pytestmark = pytest.mark.slow


def test_kill_9_mid_reply_keeps_the_database_whole(smol_model: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.app_driver"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
        start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 180
    reports: list[tuple[int, int, int]] = []
    buffer = b""
    try:
        # Wait until at least 200 characters of the reply are known to be on disk.
        while not reports or reports[-1][2] < 200:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the app never streamed a reply"
            ready, _, _ = select.select([proc.stdout], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, "the app exited before the kill"
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"READY "):
                    _, cid, mid, chars = line.split()
                    reports.append((int(cid), int(mid), int(chars)))
        os.killpg(proc.pid, signal.SIGKILL)  # the window and its engine worker, mid-reply
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    conversation_id, message_id, flushed = reports[-1]
    database = default_database_path(app_paths())
    raw = sqlite3.connect(database)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    with ConversationStore(database) as store:
        messages = store.get_messages(conversation_id)
        assert [m.role for m in messages] == ["user", "assistant"]
        assert messages[0].content.startswith("Write a very long story")
        reply = messages[1]
        assert reply.id == message_id
        assert len(reply.content) >= flushed, "text already written survived the kill"
        assert reply.status == "stopped", "a reply cut off by a crash is marked stopped"
