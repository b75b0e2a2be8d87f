"""Documents through damage on real SQLite files: a salvage keeps every readable
collection, source, file and passage (vectors byte for byte), the collections
conversations read and the sources of answers; files whose passages were lost are read
again by the next update, and the notice says so. Real files, the real starter
embedding model."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import StorageError
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.indexer import INDEXED, UNCHANGED
from app.docs.store import DocStore
from app.storage import ConversationStore
from tests.docs.documents import write_lease_pdf, write_scanned_pdf
from tests.storage import pages
from tests.storage.history import build_history

pytestmark = pytest.mark.slow

DOC_TABLES = ("doc_collections", "doc_sources", "doc_files", "doc_chunks")
PET_SOURCE = {"n": 1, "page": 2, "heading": "Pets", "text": "one cat", "collection": "lease"}
TOPICS = ("ferry", "tram", "harbour", "lantern", "orchard", "violin", "granite", "falcon")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from app.docs.embedding_models import default_embedder

    return default_embedder(threads=2)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Forty notes (one passage each, their vectors spread over many pages), a lease, a scan."""
    root = tmp_path / "notes"
    root.mkdir()
    for n in range(40):
        topic = TOPICS[n % len(TOPICS)]
        (root / f"note{n:02}.md").write_text(
            f"# Note {n}\n\nThe {topic} number {n} word{n}x appears in this note only."
        )
    write_lease_pdf(root / "lease.pdf")
    write_scanned_pdf(root / "scan.pdf")
    return root


def open_documents(db_path: Path, embedder: Embedder) -> Documents:
    return Documents(DocStore(db_path), lambda: embedder)


def set_aside(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".corrupt-" in p.name]


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


@pytest.fixture
def indexed(db_path: Path, folder: Path, embedder: Embedder) -> dict[str, Any]:
    """A history with two collections, one read by a conversation, an answer with
    sources, and one conversation's private collection; what the tables held."""
    build_history(db_path)
    with open_documents(db_path, embedder) as docs:
        docs.add("notes", [folder])
        docs.add("lease", [folder / "lease.pdf"])
        docs.add("dropped", [folder / "note00.md"])
        notes, dropped = docs.collection("notes"), docs.collection("dropped")
    with ConversationStore(db_path) as store:
        first, second = (c.id for c in store.list_conversations()[:2])
        store.attach_collection(first, notes.id)
        store.own_collection(second, dropped.id)
        answer = store.add_message(first, "assistant", "Pets are allowed [1].")
        store.set_sources(answer, [{**PET_SOURCE, "path": str(folder / "lease.pdf")}])
    return {
        **{table: rows(db_path, table) for table in DOC_TABLES},
        "links": rows(db_path, "conversation_collections"),
        "answer": answer,
        "lease_path": str(folder / "lease.pdf"),
    }


@pytest.fixture
def opened(db_path: Path) -> Iterator[Any]:
    stores: list[ConversationStore] = []

    def open_resilient() -> Any:
        store, notice = ConversationStore.open_resilient(db_path)
        stores.append(store)
        return store, notice

    yield open_resilient
    for store in stores:
        store.close()


def test_a_salvage_keeps_every_collection_file_passage_and_link(
    db_path: Path, indexed: dict[str, Any], opened: Any, embedder: Embedder
) -> None:
    page = pages.tree(db_path, "messages").leaves[0]
    pages.write_garbage(db_path, page)
    store, notice = opened()
    assert notice is not None and notice.kind == "salvaged"
    files = len(indexed["doc_files"])
    assert str(notice).endswith(f" Documents: 3 collections with {files} files were kept.")
    for table in DOC_TABLES:  # ids, paths, hashes, statuses, texts, vectors: all equal
        assert rows(db_path, table) == indexed[table], table
    assert rows(db_path, "conversation_collections") == indexed["links"]
    answers = [m for c in store.list_conversations() for m in store.get_messages(c.id)]
    (answer,) = [m for m in answers if m.id == indexed["answer"]]
    assert answer.sources == [{**PET_SOURCE, "path": indexed["lease_path"]}]
    with open_documents(db_path, embedder) as docs:
        # The keyword index was rebuilt from the passages, the vectors answer as before.
        assert Path(docs.search("word17x", ["notes"], top_k=1, mode="keyword")[0].path).name == (
            "note17.md"
        )
        best = docs.search("may I keep a cat?", ["lease"], top_k=1, mode="vector")[0]
        assert best.page == 2
        report = docs.update("notes")
        assert report.count(INDEXED) == 0  # nothing to read again


def test_lost_passages_are_read_again_at_the_next_update(
    db_path: Path, indexed: dict[str, Any], opened: Any, embedder: Embedder, folder: Path
) -> None:
    tree = pages.tree(db_path, "doc_chunks")
    page = tree.leaves[len(tree.leaves) // 2]
    lost_chunks = set(pages.leaf_rowids(db_path, page))
    assert lost_chunks
    lost_files = {r[1] for r in indexed["doc_chunks"] if r[0] in lost_chunks}
    pages.write_garbage(db_path, page)

    _, notice = opened()
    assert notice is not None and notice.kind == "salvaged"
    # Every conversation and message came back; the files cut short are left out whole.
    assert notice.conversations == 12
    kept_files = len(indexed["doc_files"]) - len(lost_files)
    verb = "file is" if len(lost_files) == 1 else "files are"
    assert str(notice).endswith(
        f" Documents: 3 collections with {kept_files} files were kept; {len(lost_files)} "
        f"{verb} read again at the next update."
    )
    after = {r[0] for r in rows(db_path, "doc_files")}
    assert after == {r[0] for r in indexed["doc_files"]} - lost_files
    lost_paths = {r[2] for r in indexed["doc_files"] if r[0] in lost_files}
    with open_documents(db_path, embedder) as docs:
        names = {c.name for c in docs.store.collections()}
        reports = [docs.update(name) for name in sorted(names)]
        again = {o.path for r in reports for o in r.outcomes if o.status == INDEXED}
        assert again == lost_paths  # exactly the files cut short, nothing else re-embedded
        assert sum(r.count(UNCHANGED) for r in reports) == len(after)
        for path in lost_paths:
            name = Path(path).stem
            if name.startswith("note"):
                word = f"word{int(name[4:])}x"
                hits = docs.search(word, None, top_k=3, mode="keyword")
                assert path in {h.path for h in hits}


def test_a_damaged_keyword_index_loses_no_document(
    db_path: Path, indexed: dict[str, Any], opened: Any, embedder: Embedder
) -> None:
    tree = pages.tree(db_path, "doc_chunks_fts_data")
    pages.write_garbage(db_path, tree.leaves[-1])
    store, notice = opened()
    assert notice is not None and notice.kind == "repaired", notice
    assert str(notice).startswith(
        "Hearth found damage in the documents' search index of the conversation database "
        "and repaired it; all 12 conversations and "
    )
    assert len(set_aside(db_path.parent)) == 0  # repaired in place, nothing set aside
    assert store.list_conversations()  # the history is whole
    for table in DOC_TABLES:
        assert rows(db_path, table) == indexed[table], table
    with open_documents(db_path, embedder) as docs:
        for n in (3, 17, 33):
            hits = docs.search(f"word{n}x", ["notes"], top_k=1, mode="keyword")
            assert Path(hits[0].path).name == f"note{n:02}.md"
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO doc_chunks_fts (doc_chunks_fts) VALUES ('integrity-check')")


def test_the_document_index_alone_names_damage_and_what_to_do(
    db_path: Path, indexed: dict[str, Any]
) -> None:
    tree = pages.tree(db_path, "doc_chunks")
    pages.write_garbage(db_path, tree.leaves[0])
    with DocStore(db_path) as store, pytest.raises(StorageError) as caught:
        store.vector_matrix(store.collection("notes"))
    assert str(caught.value) == (
        "Could not read the document index: the database file is damaged; open Hearth's "
        "window once to repair it, keeping what can be read."
    )
