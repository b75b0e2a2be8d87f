"""Indexing a folder of real files with the real starter embedding model: every bad file
gets its sentence and the rest is indexed; a second run does only what changed."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import CancelledError, ConfigError, StorageError
from app.docs.embedder import Embedder, Purpose
from app.docs.indexer import (
    ERROR,
    INDEXED,
    MOVED,
    NO_TEXT,
    REMOVED,
    UNCHANGED,
    Indexer,
    IndexProgress,
)
from app.docs.store import DocStore
from tests.docs.documents import (
    write_binary_text,
    write_corrupt_pdf,
    write_docx,
    write_html,
    write_lease_pdf,
    write_markdown,
    write_pdf,
    write_scanned_pdf,
)

pytestmark = pytest.mark.slow


class Counting:
    """The real embedder, counting the passages it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.embedded = 0
        self.model_id = inner.model_id
        self.dimensions = inner.dimensions
        self.max_tokens = inner.max_tokens

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> np.ndarray:
        self.embedded += len(texts)
        return self.inner.embed(texts, purpose)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "papers"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    write_lease_pdf(root / "lease.pdf")
    write_docx(root / "sub" / "handbook.docx")
    write_html(root / "garden.html")
    write_markdown(root / "sub" / "notes.md")
    write_scanned_pdf(root / "scan.pdf")
    write_pdf(root / "locked.pdf", [["secret"]], encrypted=True)
    write_corrupt_pdf(root / "broken.pdf")
    write_binary_text(root / "photo.txt")
    write_markdown(root / ".hidden" / "skipped.md")
    (root / "picture.png").write_bytes(b"\x89PNG not read")
    return root


def by_name(outcomes: Sequence[object]) -> dict[str, str]:
    return {Path(o.path).name: o.status for o in outcomes}  # type: ignore[attr-defined]


def test_a_folder_is_indexed_and_each_bad_file_says_why(
    folder: Path, store: DocStore, embedder: Embedder
) -> None:
    events: list[IndexProgress] = []
    report = Indexer(store, embedder, on_progress=events.append).add("home", [folder])
    assert by_name(report.outcomes) == {
        "lease.pdf": INDEXED,
        "handbook.docx": INDEXED,
        "garden.html": INDEXED,
        "notes.md": INDEXED,
        "scan.pdf": NO_TEXT,
        "locked.pdf": ERROR,
        "broken.pdf": ERROR,
        "photo.txt": ERROR,
    }
    messages = {Path(o.path).name: o.message for o in report.problems}
    assert "encrypted PDF" in messages["locked.pdf"]
    assert "not a readable PDF" in messages["broken.pdf"]
    assert "binary data" in messages["photo.txt"]
    assert "no text layer on any of its 2 pages" in messages["scan.pdf"]
    assert report.pages == 3  # the lease's pages
    assert report.chunks >= 7
    assert [e.files_done for e in events] == list(range(1, 9))
    assert all(e.files_total == 8 for e in events)
    summary = store.summaries()[0]
    assert (summary.files, summary.indexed, summary.errors, summary.no_text) == (8, 4, 3, 1)
    lease = next(r for r in store.files(summary.collection.id) if r.path.endswith("lease.pdf"))
    assert lease.pages == 3 and lease.content_hash and lease.status == INDEXED


def test_a_second_run_reads_only_what_changed(
    folder: Path, store: DocStore, embedder: Embedder
) -> None:
    counting = Counting(embedder)
    indexer = Indexer(store, counting)
    indexer.add("home", [folder])
    first = counting.embedded
    assert first > 0

    again = indexer.update(store.collection("home"))
    assert counting.embedded == first
    assert again.count(UNCHANGED) == 5 and again.count(ERROR) == 3  # errors are retried

    # Touched but the same bytes: no re-embedding.
    os.utime(folder / "garden.html", (1, 1))
    # Changed: re-indexed. Renamed: the passages move. Deleted: forgotten. New: indexed.
    (folder / "sub" / "notes.md").write_text("# Changed\n\nThe ferry leaves at noon.\n")
    shutil.move(folder / "lease.pdf", folder / "sub" / "lease-2024.pdf")
    (folder / "sub" / "handbook.docx").unlink()
    (folder / "new.txt").write_text("A new file about the ferry timetable.")
    counting.embedded = 0
    report = indexer.update(store.collection("home"))
    statuses = by_name(report.outcomes)
    assert statuses["garden.html"] == UNCHANGED
    assert statuses["notes.md"] == INDEXED
    assert statuses["lease-2024.pdf"] == MOVED
    assert statuses["handbook.docx"] == REMOVED
    assert statuses["new.txt"] == INDEXED
    assert "lease.pdf" not in statuses
    assert counting.embedded == 2  # the changed note and the new file, one passage each
    paths = {Path(r.path).name for r in store.files(store.collection("home").id)}
    assert "handbook.docx" not in paths and "lease-2024.pdf" in paths
    hits = store.keyword_search("ferry", [store.collection("home").id], 10)
    assert len(hits) == 2


def test_single_files_and_missing_paths(
    tmp_path: Path, store: DocStore, embedder: Embedder
) -> None:
    pdf = write_lease_pdf(tmp_path / "lease.pdf")
    report = Indexer(store, embedder).add("one", [pdf, tmp_path / "nowhere.pdf"])
    assert by_name(report.outcomes) == {"nowhere.pdf": ERROR, "lease.pdf": INDEXED}
    assert "does not exist" in report.outcomes[0].message
    pdf.unlink()
    report = Indexer(store, embedder).update(store.collection("one"))
    assert by_name(report.outcomes) == {"lease.pdf": REMOVED}
    assert store.files(store.collection("one").id) == []


def test_a_file_deleted_while_indexing_is_reported_and_the_rest_indexed(
    tmp_path: Path, store: DocStore, embedder: Embedder
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    for name in ("a.md", "b.md", "c.md"):
        (folder / name).write_text(f"# {name}\n\nText of {name}.")

    def delete_b(event: IndexProgress) -> None:
        if event.path.endswith("a.md"):
            (folder / "b.md").unlink()

    report = Indexer(store, embedder, on_progress=delete_b).add("f", [folder])
    assert by_name(report.outcomes) == {"a.md": INDEXED, "b.md": ERROR, "c.md": INDEXED}
    assert "moved or deleted" in report.problems[0].message


def test_cancelling_keeps_the_files_already_indexed(
    folder: Path, store: DocStore, embedder: Embedder
) -> None:
    cancel = threading.Event()

    def stop_after_two(event: IndexProgress) -> None:
        if event.files_done == 2:
            cancel.set()

    indexer = Indexer(store, embedder, cancel=cancel, on_progress=stop_after_two)
    with pytest.raises(CancelledError, match="kept"):
        indexer.add("home", [folder])
    assert len(store.files(store.collection("home").id)) == 2


def test_a_collection_keeps_its_embedding_model(
    folder: Path, store: DocStore, embedder: Embedder
) -> None:
    Indexer(store, embedder).add("home", [folder / "garden.html"])
    other = Counting(embedder)
    other.model_id = "another-model"
    with pytest.raises(ConfigError, match="was indexed with the embedding model"):
        Indexer(store, other).add("home", [folder / "lease.pdf"])
    assert other.embedded == 0
    assert len(store.files(store.collection("home").id)) == 1


def test_a_full_disk_stops_indexing_with_a_clear_message_and_loses_nothing(
    tmp_path: Path, store: DocStore, embedder: Embedder
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.md").write_text("# Ferry\n\nThe ferry leaves at noon.")
    Indexer(store, embedder).add("f", [folder])
    # SQLite's own page limit stands in for a full disk: the same SQLITE_FULL error.
    conn = store._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    (folder / "b.md").write_text("\n\n".join(f"Paragraph {n} about trains." * 8 for n in range(40)))
    with pytest.raises(StorageError, match="the disk is full; free some space"):
        Indexer(store, embedder).update(store.collection("f"))
    conn.execute("PRAGMA max_page_count = 1073741823")
    (record,) = store.files(store.collection("f").id)
    assert record.path.endswith("a.md") and record.status == INDEXED
    assert store.keyword_search("ferry", [store.collection("f").id], 5)


def test_reindexing_with_another_model_keeps_the_old_index_until_complete(
    folder: Path, store: DocStore, embedder: Embedder
) -> None:
    Indexer(store, embedder).add("home", [folder])
    old = store.collection("home")
    newer = Counting(embedder)
    newer.model_id = "newer-model"
    cancel = threading.Event()

    def stop_after_three(event: IndexProgress) -> None:
        if event.files_done == 3:
            cancel.set()

    with pytest.raises(CancelledError):
        Indexer(store, newer, cancel=cancel, on_progress=stop_after_three).reindex("home")
    # Stopped half-way: the old index is untouched and still answers.
    assert store.collection("home") == old
    assert store.keyword_search("compost", [old.id], 5)
    draft = store.collection("home (re-indexing)")
    assert draft.embedding_model == "newer-model" and len(store.files(draft.id)) == 3

    newer.embedded = 0
    report = Indexer(store, newer).reindex("home")  # goes on where it stopped
    # broken.pdf, garden.html and lease.pdf were done: the two readable ones are kept.
    assert report.collection == "home" and report.count(UNCHANGED) == 2
    assert newer.embedded > 0
    home = store.collection("home")
    assert home.embedding_model == "newer-model" and home.id == draft.id
    assert home.created_at == old.created_at
    assert [c.name for c in store.collections()] == ["home"]
    assert store.sources(home.id) == store.sources(draft.id) == [(folder, True)]
    assert len(store.files(home.id)) == 8
    assert store.keyword_search("compost", [home.id], 5)
    assert store.vector_matrix(home).ids.size == sum(r.chunks for r in store.files(home.id))
