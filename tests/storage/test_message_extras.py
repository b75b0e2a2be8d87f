"""A message's reasoning and tool calls (schema version 3) on real SQLite files: stored,
migrated from a version 2 file, exported and imported, and salvaged from damage."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import StorageError
from app.storage import LATEST_VERSION, ConversationStore, schema
from app.storage.export import export_all, to_dict, to_markdown
from app.storage.importer import import_file
from tests.storage import pages
from tests.storage.history import messages_by_id

CALLS: list[dict[str, Any]] = [
    {
        "id": "call_1",
        "name": "calculator",
        "arguments": {"expression": "6 * 7"},
        "result": "42",
        "ok": True,
        "elapsed_s": 0.002,
        "status": "complete",
    },
    {
        "id": "call_2",
        "name": "read_file",
        "arguments": {"path": "../etc/passwd"},
        "result": "Refused: the path leaves the allowed folders.",
        "ok": False,
        "elapsed_s": 0.001,
        "status": "error",
    },
]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


def columns(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return {str(r[1]): str(r[2]) for r in conn.execute("PRAGMA table_info(messages)")}


def test_new_file_has_nullable_reasoning_and_tools_columns(db_path: Path) -> None:
    ConversationStore(db_path).close()
    found = columns(db_path)
    assert (found["reasoning"], found["tools"]) == ("TEXT", "TEXT")
    assert LATEST_VERSION == len(schema.MIGRATIONS) >= 3


def test_add_message_and_setters_store_reasoning_and_tools(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
        user = store.add_message(conversation.id, "user", "What is 6 * 7?")
        answer = store.add_message(
            conversation.id, "assistant", "42.", reasoning="Multiply.", tools=CALLS
        )
        assert store.get_message(user).reasoning is None
        assert store.get_message(user).tools is None
        stored = store.get_message(answer)
        assert (stored.reasoning, stored.tools) == ("Multiply.", CALLS)

        store.set_reasoning(answer, "Changed my mind.")
        store.set_tools(answer, CALLS[:1])
        stored = store.get_message(answer)
        assert (stored.reasoning, stored.tools) == ("Changed my mind.", CALLS[:1])
        store.set_reasoning(answer, None)
        store.set_tools(answer, None)
        stored = store.get_message(answer)
        assert (stored.reasoning, stored.tools) == (None, None)
        assert stored.content == "42."  # the answer itself is untouched
    with ConversationStore(db_path) as again:  # what was written is on disk
        assert again.get_message(answer).tools is None


def test_tools_set_while_streaming_survive_the_finish(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
        reply = store.begin_reply(conversation.id, "m")
        store.set_tools(reply, CALLS[:1])
        store.append_reply(reply, "The answer is ")
        store.set_reasoning(reply, "thinking so far")
        store.set_tools(reply, CALLS)
        store.append_reply(reply, "42.")
        assert store.get_message(reply).tools == CALLS  # readable while it streams
        store.finish_reply(reply)
        stored = store.get_message(reply)
        assert (stored.content, stored.status) == ("The answer is 42.", "complete")
        assert (stored.reasoning, stored.tools) == ("thinking so far", CALLS)
        # Tool results and thinking are not searched; the answer is.
        assert store.search("passwd") == []
        assert [h.message_id for h in store.search("answer is")] == [reply]
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")


def test_setting_a_missing_message_says_so(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        with pytest.raises(StorageError, match="Message 99 does not exist"):
            store.set_tools(99, CALLS)
        with pytest.raises(StorageError, match="Message 99 does not exist"):
            store.set_reasoning(99, "x")


def test_unreadable_tools_json_reads_as_none(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
        answer = store.add_message(conversation.id, "assistant", "x", tools=CALLS)
    with sqlite3.connect(db_path) as conn:
        conn.execute('UPDATE messages SET tools = \'{"not": "a list"}\' WHERE id = ?', (answer,))
    with ConversationStore(db_path) as store:
        assert store.get_message(answer).tools is None


def version_2_file(path: Path, n_messages: int) -> None:
    """A database as Hearth wrote it before schema version 3."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in (*schema.MIGRATIONS[0], *schema.MIGRATIONS[1]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO conversations (title, created_at, updated_at, uid) VALUES ('old', 1, 1, 'u')"
    )
    for n in range(n_messages):
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (1, ?, ?, ?)",
            ("user" if n % 2 == 0 else "assistant", f"old message {n} " + "lantern " * 40, n),
        )
    conn.close()


def test_a_version_2_file_is_migrated_keeping_its_messages(db_path: Path) -> None:
    version_2_file(db_path, 4)
    with ConversationStore(db_path) as store:
        old = store.get_messages(1)
        assert [m.content.split(" lantern")[0] for m in old] == [
            f"old message {n}" for n in range(4)
        ]
        assert all(m.reasoning is None and m.tools is None for m in old)
        store.set_tools(old[1].id, CALLS)
        assert store.get_message(old[1].id).tools == CALLS
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


def test_export_and_import_keep_reasoning_and_tools(db_path: Path, tmp_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("tools")
        store.add_message(conversation.id, "user", "What is 6 * 7?")
        store.add_message(conversation.id, "assistant", "42.", reasoning="Multiply.", tools=CALLS)
        head, messages = (
            store.get_conversation(conversation.id),
            store.get_messages(conversation.id),
        )
        record, markdown = to_dict(head, messages), to_markdown(head, messages)
        out = export_all(store, "json", tmp_path / "all.json").path
    assert record["messages"][1]["tools"] == CALLS
    assert record["messages"][1]["reasoning"] == "Multiply."
    assert record["messages"][0]["tools"] is None
    # Every call is logged in the readable export too, failures marked.
    assert '> Tool `calculator` {"expression": "6 * 7"}: 42' in markdown
    assert '> Tool `read_file` {"path": "../etc/passwd"} (failed): Refused' in markdown

    with ConversationStore(tmp_path / "other" / "c.sqlite3") as other:
        assert import_file(other, out).added == 1
        imported = other.get_messages(other.list_conversations()[0].id)
        assert (imported[1].reasoning, imported[1].tools) == ("Multiply.", CALLS)
        assert (imported[0].reasoning, imported[0].tools) == (None, None)


def test_import_refuses_tools_that_are_not_a_list_of_objects(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    document = {
        "format": "hearth.conversation",
        "version": 1,
        "conversation": {"title": "t", "created_at": "2025-01-01T00:00:00+00:00"},
        "messages": [
            {
                "role": "assistant",
                "content": "x",
                "created_at": "2025-01-01T00:00:00+00:00",
                "tools": ["calculator"],
            }
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    with ConversationStore(tmp_path / "c.sqlite3") as store:
        with pytest.raises(StorageError, match="tools that are not a list of JSON objects"):
            import_file(store, path)
        assert store.list_conversations() == []


def test_salvage_finds_rows_from_before_and_after_the_migration(db_path: Path) -> None:
    """The page scan knows message rows of both lengths: written by schema 2 (nine
    values) and by schema 3 (eleven), once the messages' root page is lost."""
    version_2_file(db_path, 60)
    with ConversationStore(db_path) as store:
        for n in range(60):
            store.add_message(
                1, "assistant", f"new message {n} " + "meadow " * 40, reasoning="r", tools=CALLS
            )
        original = messages_by_id(store)
    tree = pages.tree(db_path, "messages")
    assert tree.interior and tree.interior[0] == tree.root
    pages.write_garbage(db_path, tree.root)
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        assert messages_by_id(store) == original
        assert sum(1 for m in original.values() if m["tools"] == CALLS) == 60
