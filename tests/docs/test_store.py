"""The documents' tables in the conversation database: collections, files, passages,
keyword search (trigram, Chinese too) and vectors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ConfigError
from app.docs.chunking import Chunk
from app.docs.store import DocStore, cjk_bigrams, query_terms
from app.storage import LATEST_VERSION, ConversationStore


def chunk(text: str, ordinal: int = 0, page: int | None = None, heading: str = "") -> Chunk:
    return Chunk(text, page, heading, ordinal, len(text.split()))


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_documents_live_in_the_conversation_database(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with ConversationStore(db) as conversations:
        conversations.create_conversation("kept")
    with DocStore(db) as store:
        collection = store.create_collection("Lease", "model-a", 3)
        store.save_file(collection.id, "/a.md", status="indexed", chunks=[chunk("pets")])
    with ConversationStore(db) as conversations:  # opens it again, health checks included
        assert [c.title for c in conversations.list_conversations()] == ["kept"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert count(db, "SELECT count(*) FROM doc_chunks") == 1


def test_a_new_database_opened_by_documents_first_serves_conversations(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    DocStore(db).close()
    with ConversationStore(db) as conversations:
        assert conversations.notice is None
        conversations.create_conversation("first")


def test_collections_are_named_uniquely_ignoring_case(store: DocStore) -> None:
    store.create_collection("Lease", "m", 3)
    with pytest.raises(ConfigError, match="already exists"):
        store.create_collection("lease", "m", 3)
    with pytest.raises(ConfigError, match="needs a name"):
        store.create_collection("   ", "m", 3)
    assert store.get_collection("LEASE") is not None
    with pytest.raises(
        ConfigError, match=r"No document collection is named 'Nope' \(there are: Lease\)"
    ):
        store.collection("Nope")


def test_saving_a_file_again_replaces_its_passages(store: DocStore) -> None:
    collection = store.create_collection("c", "m", 2)
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    store.save_file(
        collection.id, "/f.md", status="indexed", content_hash="h1",
        chunks=[chunk("alpha one"), chunk("beta two", 1)], vectors=vectors,
    )  # fmt: skip
    record = store.save_file(
        collection.id, "/f.md", status="indexed", content_hash="h2",
        chunks=[chunk("gamma three")], vectors=vectors[:1],
    )  # fmt: skip
    assert record.chunks == 1 and record.content_hash == "h2"
    assert store.keyword_search("alpha", [collection.id], 5) == []
    assert [i for i, _ in store.keyword_search("gamma", [collection.id], 5)] != []
    assert store.vector_matrix(store.collection("c")).ids.size == 1


def test_removing_a_collection_removes_its_files_passages_and_index_rows(
    store: DocStore, tmp_path: Path
) -> None:
    kept = store.create_collection("kept", "m", 2)
    gone = store.create_collection("gone", "m", 2)
    for collection in (kept, gone):
        store.add_source(collection.id, tmp_path, is_folder=True)
        store.save_file(
            collection.id, "/x.md", status="indexed",
            chunks=[chunk("shared words here"), chunk("more words", 1)],
            vectors=np.stack([unit(1, 0), unit(0, 1)]),
        )  # fmt: skip
    assert store.remove_collection("GONE")
    assert not store.remove_collection("gone")
    assert [c.name for c in store.collections()] == ["kept"]
    db = store.path
    assert count(db, "SELECT count(*) FROM doc_chunks") == 2
    assert count(db, "SELECT count(*) FROM doc_files") == 1
    assert count(db, "SELECT count(*) FROM doc_sources") == 1
    assert (
        count(db, "SELECT count(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH '\"words\"'") == 2
    )
    assert len(store.keyword_search("shared", [kept.id, gone.id], 10)) == 1


def test_keyword_search_ranks_by_bm25_and_stays_in_its_collections(store: DocStore) -> None:
    a = store.create_collection("a", "m", 2)
    b = store.create_collection("b", "m", 2)
    store.save_file(
        a.id, "/lease.md", status="indexed",
        chunks=[
            chunk("The tenant may keep one cat. Pets need the landlord's consent.", 0),
            chunk("Rent is due on the first day of the month.", 1),
            chunk("Pets pets pets: the pets clause covers pets.", 2),
        ],
    )  # fmt: skip
    store.save_file(b.id, "/other.md", status="indexed", chunks=[chunk("pets elsewhere")])
    found = store.keyword_search("what about pets?", [a.id], 10)
    texts = [store.chunks([i])[i].text for i, _ in found]
    assert texts[0].startswith("Pets pets pets")
    assert len(texts) == 2 and all("elsewhere" not in t for t in texts)
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)


def test_chinese_is_found_by_trigrams_and_by_two_character_words(store: DocStore) -> None:
    c = store.create_collection("zh", "m", 2)
    store.save_file(
        c.id, "/zh.md", status="indexed",
        chunks=[
            chunk("房东允许租客养一只猫，但不允许养狗。", 0),
            chunk("每月租金在五号之前支付。", 1),
        ],
    )  # fmt: skip
    by_trigram = store.keyword_search("允许租客", [c.id], 5)
    assert [store.chunks([i])[i].ordinal for i, _ in by_trigram] == [0]
    by_bigram = store.bigram_search("租金什么时候付", [c.id], 5)
    assert [store.chunks([i])[i].ordinal for i, _ in by_bigram] == [1]


def test_query_terms() -> None:
    assert query_terms("What does my lease say about PETS?") == ["lease", "pets"]
    assert query_terms('a "quoted" word') == ["quoted", "word"]
    assert query_terms("租房合同") == ["租房合", "房合同"]
    assert cjk_bigrams("租房合同 and 猫") == ["租房", "房合", "合同"]
    assert query_terms("? !") == []


def test_vector_matrix_follows_changes(store: DocStore) -> None:
    c = store.create_collection("v", "m", 2)
    store.save_file(
        c.id, "/a", status="indexed", chunks=[chunk("a")], vectors=np.stack([unit(1, 0)])
    )
    first = store.vector_matrix(store.collection("v"))
    assert store.vector_matrix(store.collection("v")) is first  # cached
    store.save_file(
        c.id, "/b", status="indexed", chunks=[chunk("b")], vectors=np.stack([unit(0, 1)])
    )
    second = store.vector_matrix(store.collection("v"))
    assert second.ids.size == 2
    best = second.nearest(unit(0.1, 1), 2)
    assert [store.chunks([i])[i].text for i, _ in best] == ["b", "a"]
    assert best[0][1] > best[1][1]


def test_a_file_moves_and_is_removed(store: DocStore) -> None:
    c = store.create_collection("m", "m", 2)
    record = store.save_file(c.id, "/old.md", status="indexed", chunks=[chunk("moving text")])
    store.move_file(record.id, "/new.md", 10, 1.0)
    (moved,) = store.files(c.id)
    assert (moved.path, moved.size, moved.mtime) == ("/new.md", 10, 1.0)
    (hit,) = store.keyword_search("moving", [c.id], 5)
    assert store.chunks([hit[0]])[hit[0]].path == "/new.md"
    store.remove_file(record.id)
    assert store.files(c.id) == [] and store.keyword_search("moving", [c.id], 5) == []


def test_summaries_count_files_by_status(store: DocStore, tmp_path: Path) -> None:
    c = store.create_collection("s", "m", 2)
    store.add_source(c.id, tmp_path, is_folder=True)
    store.save_file(c.id, "/a.pdf", status="indexed", pages=3, chunks=[chunk("x"), chunk("y", 1)])
    store.save_file(c.id, "/b.pdf", status="no_text", pages=2, error="scan")
    store.save_file(c.id, "/c.pdf", status="error", error="encrypted")
    (summary,) = store.summaries()
    assert (summary.files, summary.indexed, summary.no_text, summary.errors) == (3, 1, 1, 1)
    assert (summary.chunks, summary.pages, summary.sources) == (2, 5, (str(tmp_path),))
