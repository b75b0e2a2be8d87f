"""``kill -9`` during a streaming reply: the file stays sound and the flushed text stays."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.storage import ConversationStore

REPO = Path(__file__).resolve().parents[2]

# The "app": store a question, stream a reply of fixed-width deltas <000000><000001>...
# forever, and say READY once `ready_after` deltas are appended and all of them written.
CHILD = r"""
import sys, time
from app.storage import ConversationStore, FlushPolicy

path, ready_after, interval_s, max_chars = sys.argv[1:5]
store = ConversationStore(
    path, flush_policy=FlushPolicy(interval_s=float(interval_s), max_chars=int(max_chars))
)
conversation = store.create_conversation()
store.add_message(conversation.id, "user", "USER-MESSAGE")
reply = store.begin_reply(conversation.id, "test-model")
print(f"REPLY {reply}", flush=True)
i = 0
signalled = False
while True:
    store.append_reply(reply, f"<{i:06d}>")
    i += 1
    if not signalled and i >= int(ready_after) and store.unflushed_chars == 0:
        print(f"READY {i}", flush=True)
        signalled = True
    time.sleep(0.0002)  # token pacing, so the child does not monopolise a shared CPU
"""

DELTA_WIDTH = len("<000000>")


def read_line(proc: subprocess.Popen[str], deadline_s: float = 60.0) -> str:
    """The child's next stdout line; fail (with its stderr) if it dies or stalls."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=deadline_s):
            proc.kill()
            pytest.fail(f"child gave no signal within {deadline_s} s")
    line = proc.stdout.readline()
    if not line:
        _, err = proc.communicate()
        pytest.fail(f"child exited early (rc={proc.returncode}): {err}")
    return line.strip()


@pytest.mark.parametrize(
    ("ready_after", "interval_s", "max_chars"),
    [(1, 0.005, 64), (300, 0.005, 64), (50, 0.2, 4096)],  # the last is the default policy
)
def test_kill_during_streaming_keeps_flushed_text(
    tmp_path: Path, ready_after: int, interval_s: float, max_chars: int
) -> None:
    db = tmp_path / "conversations.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(ready_after), str(interval_s), str(max_chars)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reply_id = int(read_line(proc).removeprefix("REPLY "))
        ready = read_line(proc)
        assert ready.startswith("READY "), ready
        flushed = int(ready.removeprefix("READY "))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    started = time.monotonic()
    with ConversationStore(db) as store:
        assert store.recovered_replies == 1
        [conversation] = store.list_conversations()
        user, reply = store.get_messages(conversation.id)
        hits = store.search("<000000>")
    assert time.monotonic() - started < 30  # recovery is quick, not a scan of minutes

    assert (user.role, user.content, user.status) == ("user", "USER-MESSAGE", "complete")
    assert conversation.title == "USER-MESSAGE"
    assert (reply.id, reply.role, reply.status) == (reply_id, "assistant", "stopped")
    # The text is whole deltas, in order, with nothing lost before the READY signal.
    assert len(reply.content) % DELTA_WIDTH == 0
    n = len(reply.content) // DELTA_WIDTH
    assert reply.content == "".join(f"<{i:06d}>" for i in range(n))
    assert n >= flushed
    assert [h.message_id for h in hits] == [reply_id]  # indexed once stopped
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
