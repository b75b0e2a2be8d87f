"""The documents as every front end uses them: one object over the index and the
embedding model, for the CLI now and the window, the API and voice later.

The embedding model loads on first use (listing or removing collections never loads
it); indexing and search may run in a worker thread (the store is thread-safe).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Self

from app.docs.embedder import Embedder
from app.docs.grounding import DEFAULT_MAX_CHARS, Grounded, ground
from app.docs.indexer import DRAFT_SUFFIX, Indexer, IndexProgress, IndexReport
from app.docs.search import Mode, Passage, search
from app.docs.store import Collection, CollectionSummary, DocStore


class Documents:
    """Collections of the user's files: add, update, search, ground a question."""

    def __init__(self, store: DocStore, embedder: Callable[[], Embedder]) -> None:
        self.store = store
        self._make_embedder = embedder
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, database: Path, *, threads: int | None = None, out_of_process: bool = False
    ) -> Self:
        """The index in ``database`` (the conversation database) with the default
        embedding model; ``out_of_process`` runs the model in a child process (the
        window does: see ``app.docs.embed_process``)."""
        from app.docs.embedding_models import default_embedder

        make = functools.partial(default_embedder, threads=threads)
        if not out_of_process:
            return cls(DocStore(database), make)
        from app.docs.embed_process import ProcessEmbedder

        return cls(DocStore(database), lambda: ProcessEmbedder(make))

    def close(self) -> None:
        """Close the index, and stop the embedding model's process if one runs."""
        with self._lock:
            embedder, self._embedder = self._embedder, None
        close = getattr(embedder, "close", None)
        if callable(close):
            close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._make_embedder()
            return self._embedder

    # -- collections ---------------------------------------------------------------------

    def summaries(self) -> list[CollectionSummary]:
        return self.store.summaries()

    def collection(self, name: str) -> Collection:
        """ConfigError naming the collections there are when ``name`` is not one."""
        return self.store.collection(name)

    def remove(self, name: str) -> bool:
        return self.store.remove_collection(name)

    # -- indexing ------------------------------------------------------------------------

    def _indexer(
        self,
        on_progress: Callable[[IndexProgress], None] | None,
        cancel: threading.Event | None,
        pause: threading.Event | None,
    ) -> Indexer:
        return Indexer(
            self.store, self.embedder, on_progress=on_progress, cancel=cancel, pause=pause
        )

    def add(
        self,
        name: str,
        paths: Sequence[Path],
        *,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> IndexReport:
        """Add files and folders to ``name`` (made when new) and index what changed.
        While ``pause`` is set, indexing waits before its next file or batch of passages
        (``cancel`` still stops it)."""
        return self._indexer(on_progress, cancel, pause).add(name, paths)

    def update(
        self,
        name: str,
        *,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> IndexReport:
        """Index what changed in the collection's files and folders since last time."""
        return self._indexer(on_progress, cancel, pause).update(self.collection(name))

    def reindex(
        self,
        name: str,
        *,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> IndexReport:
        """Index ``name`` again with the current embedding model; the old index serves
        searches until the new one replaces it, complete."""
        return self._indexer(on_progress, cancel, pause).reindex(name)

    # -- retrieval -----------------------------------------------------------------------

    def _collections(self, names: Sequence[str] | None) -> list[Collection]:
        if names is None:  # every collection, but not a re-index still in progress
            return [c for c in self.store.collections() if not c.name.endswith(DRAFT_SUFFIX)]
        return [self.collection(name) for name in names]

    def search(
        self,
        query: str,
        names: Sequence[str] | None = None,
        *,
        top_k: int = 5,
        mode: Mode = "hybrid",
    ) -> list[Passage]:
        """The best passages in the named collections (all when None), best first."""
        collections = self._collections(names)
        embedder = self.embedder if mode != "keyword" and collections else None
        return search(self.store, embedder, query, collections, top_k=top_k, mode=mode)

    def ground(
        self,
        question: str,
        names: Sequence[str],
        *,
        top_k: int = 4,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> Grounded:
        """The user message for ``question`` with the relevant passages numbered, or
        saying that nothing relevant was found."""
        collections = self._collections(names)
        passages = search(self.store, self.embedder, question, collections, top_k=top_k)
        return ground(question, passages, [c.name for c in collections], max_chars=max_chars)
