"""An answer's sources and a conversation's document collections (schema 5), on real
SQLite files: stored, read back after reopening, exported and imported, and the links
to collections (attached, private, gone with the conversation)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import StorageError
from app.docs.store import DocStore
from app.storage import ConversationStore
from app.storage.conversations import AttachedCollection
from app.storage.export import export_all, to_dict, to_markdown
from app.storage.importer import import_file

SOURCES: list[dict[str, Any]] = [
    {
        "n": 1,
        "path": "/home/me/lease.pdf",
        "page": 2,
        "heading": "Pets",
        "text": "The tenant may keep one cat or one small dog in the flat.",
        "collection": "Lease",
    },
    {
        "n": 2,
        "path": "/home/me/notes.md",
        "page": None,
        "heading": "",
        "text": "Ask about the garden.",
        "collection": "Lease",
    },
]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


def test_sources_are_stored_with_the_answer_and_read_back(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
        question = store.add_message(conversation.id, "user", "May I keep a dog?")
        answer = store.add_message(conversation.id, "assistant", "Yes [1].", sources=SOURCES)
        nothing = store.add_message(conversation.id, "assistant", "Not covered.", sources=[])
        assert store.get_message(question).sources is None  # not grounded
        assert store.get_message(answer).sources == SOURCES
        assert store.get_message(nothing).sources == []  # searched, nothing relevant
    with ConversationStore(db_path) as again:
        stored = {m.id: m.sources for m in again.get_messages(conversation.id)}
        assert stored == {question: None, answer: SOURCES, nothing: []}


def test_sources_set_while_the_answer_streams_survive_its_end(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
        reply = store.begin_reply(conversation.id, "m")
        store.set_sources(reply, SOURCES)
        store.append_reply(reply, "One cat or one small dog [1].")
        assert store.get_message(reply).sources == SOURCES
        store.finish_reply(reply)
        stored = store.get_message(reply)
        assert (stored.status, stored.sources) == ("complete", SOURCES)
        store.set_sources(reply, None)
        assert store.get_message(reply).sources is None
        with pytest.raises(StorageError, match="Message 999 does not exist"):
            store.set_sources(999, SOURCES)


def test_unreadable_sources_read_as_none(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
        answer = store.add_message(conversation.id, "assistant", "x", sources=SOURCES)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE messages SET sources = '{\"n\": 1}' WHERE id = ?", (answer,))
    with ConversationStore(db_path) as store:
        assert store.get_message(answer).sources is None


def test_export_and_import_keep_the_sources(db_path: Path, tmp_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("Lease questions")
        store.add_message(conversation.id, "user", "May I keep a dog?")
        store.add_message(conversation.id, "assistant", "Yes, one small dog [1].", sources=SOURCES)
        store.add_message(conversation.id, "user", "Who won the 1998 world cup?")
        store.add_message(conversation.id, "assistant", "Not in your documents.", sources=[])
        messages = store.get_messages(conversation.id)
        record = to_dict(store.get_conversation(conversation.id), messages)
        assert [m["sources"] for m in record["messages"]] == [None, SOURCES, None, []]
        markdown = to_markdown(store.get_conversation(conversation.id), messages)
        out = export_all(store, "json", tmp_path / "all.json").path
    # The readable export lists the references under the answer, and says when none.
    assert "[1] lease.pdf, page 2 — Pets" in markdown
    assert "[2] notes.md" in markdown
    assert "Nothing relevant was found in the documents." in markdown
    assert (
        json.loads(out.read_text(encoding="utf-8"))["conversations"][0]["messages"][1]["sources"]
        == SOURCES
    )
    with ConversationStore(tmp_path / "other.sqlite3") as other:
        assert import_file(other, out).added == 1
        restored = other.list_conversations()[0]
        assert [m.sources for m in other.get_messages(restored.id)] == [None, SOURCES, None, []]


def test_an_import_with_sources_that_are_not_a_list_is_refused(tmp_path: Path) -> None:
    with ConversationStore(tmp_path / "a.sqlite3") as store:
        conversation = store.create_conversation("t")
        store.add_message(conversation.id, "assistant", "x", sources=SOURCES)
        record = to_dict(
            store.get_conversation(conversation.id), store.get_messages(conversation.id)
        )
    record["messages"][0]["sources"] = "lease.pdf"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with (
        ConversationStore(tmp_path / "b.sqlite3") as other,
        pytest.raises(StorageError, match="sources that are not a list"),
    ):
        import_file(other, path)


def make_collection(db_path: Path, name: str) -> int:
    """A real (empty) document collection in the same database."""
    with DocStore(db_path) as docs:
        return docs.create_collection(name, "test-model", 4).id


def test_collections_attach_and_detach(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        first = store.create_conversation("a")
        second = store.create_conversation("b")
    lease = make_collection(db_path, "Lease")
    papers = make_collection(db_path, "papers")
    with ConversationStore(db_path) as store:
        assert store.attached_collections(first.id) == []
        store.attach_collection(first.id, papers)
        store.attach_collection(first.id, lease)
        store.attach_collection(first.id, lease)  # twice: still once
        store.attach_collection(second.id, lease)
        assert store.attached_collections(first.id) == [
            AttachedCollection(lease, "Lease", False),
            AttachedCollection(papers, "papers", False),
        ]
        assert store.detach_collection(first.id, papers)
        assert not store.detach_collection(first.id, papers)
        assert [c.name for c in store.attached_collections(first.id)] == ["Lease"]
        assert [c.name for c in store.attached_collections(second.id)] == ["Lease"]
        with pytest.raises(StorageError, match="collection 999 does not exist"):
            store.attach_collection(first.id, 999)
        with pytest.raises(StorageError, match="Conversation 999 does not exist"):
            store.attach_collection(999, lease)
        # Deleting a conversation forgets its links, not the user's collection.
        store.delete_conversation(first.id)
    with DocStore(db_path) as docs:
        assert docs.get_collection("Lease") is not None
    lease_name = "Lease"
    with DocStore(db_path) as docs:  # removing a collection detaches it everywhere
        assert docs.remove_collection(lease_name)
    with ConversationStore(db_path) as store:
        assert store.attached_collections(second.id) == []


def test_a_private_collection_goes_with_its_conversation(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("dropped files")
        other = store.create_conversation("other")
    dropped = make_collection(db_path, "dropped-1")
    shared = make_collection(db_path, "shared")
    with ConversationStore(db_path) as store:
        assert store.private_collection(conversation.id) is None
        store.own_collection(conversation.id, dropped)
        store.attach_collection(conversation.id, shared)
        assert store.private_collection(conversation.id) == AttachedCollection(
            dropped, "dropped-1", True
        )
        assert store.attached_collections(conversation.id) == [
            AttachedCollection(dropped, "dropped-1", True),
            AttachedCollection(shared, "shared", False),
        ]
        assert store.private_collection(other.id) is None
        assert store.shared_collections() == [AttachedCollection(shared, "shared", False)]
        with pytest.raises(StorageError, match="collection 999 does not exist"):
            store.own_collection(conversation.id, 999)
        assert store.delete_conversation(conversation.id)
    with DocStore(db_path) as docs:
        assert docs.get_collection("dropped-1") is None  # deleted with it
        assert docs.get_collection("shared") is not None  # the user's own stays


def test_a_reindex_keeps_the_conversations_reading_the_collection(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("t")
    with DocStore(db_path) as docs:
        old = docs.create_collection("Lease", "old-model", 4)
        draft = docs.create_collection("Lease (re-indexing)", "new-model", 4)
    with ConversationStore(db_path) as store:
        store.own_collection(conversation.id, old.id)
    with DocStore(db_path) as docs:
        new = docs.replace_collection(old, draft)
    with ConversationStore(db_path) as store:
        assert store.attached_collections(conversation.id) == [
            AttachedCollection(new.id, "Lease", True)
        ]
