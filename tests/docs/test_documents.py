"""The front ends' one object over the index: the embedding model loads only when
indexing or search needs it; add, update, search and ground by collection name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ConfigError
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.indexer import INDEXED, UNCHANGED
from app.docs.store import DocStore
from tests.docs.documents import write_html, write_lease_pdf

pytestmark = pytest.mark.slow


def test_documents_end_to_end(tmp_path: Path, embedder: Embedder) -> None:
    loads: list[int] = []

    def make() -> Embedder:
        loads.append(1)
        return embedder

    folder = tmp_path / "docs"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    with Documents(DocStore(tmp_path / "history.db"), make) as docs:
        assert docs.summaries() == [] and docs.search("pets") == []
        assert not docs.remove("none")
        assert loads == []  # nothing needed the model yet

        assert docs.add("Lease", [folder]).count(INDEXED) == 1
        write_html(folder / "garden.html")
        report = docs.update("lease")
        assert (report.count(UNCHANGED), report.count(INDEXED)) == (1, 1)
        assert loads == [1]

        best = docs.search("may I keep a cat?", ["Lease"], top_k=1)[0]
        assert (Path(best.path).name, best.page) == ("lease.pdf", 2)
        assert docs.search("compost", mode="keyword")[0].path.endswith("garden.html")

        grounded = docs.ground("may I keep a cat?", ["Lease"])
        first = grounded.sources()[0]
        assert (first["n"], first["path"], first["page"]) == (1, str(folder / "lease.pdf"), 2)
        assert (first["heading"], first["collection"]) == ("Pets", "Lease")
        assert "one small dog" in first["text"]
        assert "[1] lease.pdf, page 2 — Pets" in grounded.content
        with pytest.raises(ConfigError, match="No document collection is named 'x'"):
            docs.ground("q", ["x"])
        assert docs.remove("lease") and docs.summaries() == []


def test_searching_every_collection_leaves_out_a_reindex_in_progress(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_html(folder / "garden.html")
    with Documents(DocStore(tmp_path / "history.db"), lambda: embedder) as docs:
        docs.add("garden", [folder])
        docs.add("garden (re-indexing)", [folder])  # as a re-index leaves it half-way
        found = docs.search("compost heap", top_k=10, mode="keyword")
        assert found and all(p.chunk_id in _chunk_ids(docs, "garden") for p in found)


def _chunk_ids(docs: Documents, name: str) -> set[int]:
    collection = docs.collection(name)
    return {int(i) for i in docs.store.vector_matrix(collection).ids}
