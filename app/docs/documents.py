"""The documents as every front end uses them: one object over the index and the
embedding model, for the CLI now and the window, the API and voice later.

The embedding model loads on first use (listing or removing collections never loads
it); indexing and search may run in a worker thread (the store is thread-safe).

A collection remembers the embedding model it was indexed with. When the user chooses
another one, the collection is *stale* (:meth:`Documents.is_stale`): it keeps being
searched and updated with its own model while that is installed (keywords only
otherwise) until :meth:`Documents.reindex` replaces it, complete, with the current one.
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

    def __init__(
        self,
        store: DocStore,
        embedder: Callable[[], Embedder],
        *,
        model_id: str | Callable[[], str] | None = None,
        embedder_for: Callable[[str], Callable[[], Embedder] | None] | None = None,
    ) -> None:
        """``embedder`` makes the current model; ``model_id`` is its id, known without
        making it (None: ask the embedder), or a function giving the current choice
        (the settings': when it changes, the next use makes the new model and keeps the
        old one for the collections indexed with it); ``embedder_for(id)`` makes another
        model a stale collection was indexed with (None when it is not installed)."""
        self.store = store
        self._make_embedder = embedder
        self._embedder: Embedder | None = None
        self._made_for: str | None = None  # the model id current when _embedder was made
        self._model_id = model_id
        self._embedder_for = embedder_for
        self._others: dict[str, Embedder | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, database: Path, *, threads: int | None = None, out_of_process: bool = False
    ) -> Self:
        """The index in ``database`` (the conversation database) with the default
        embedding model; ``out_of_process`` runs the model in a child process (the
        window does: see ``app.docs.embed_process``)."""
        from app.docs.embedding_models import (
            current_embedding_model_id,
            default_embedder,
            model_factory,
        )

        make = functools.partial(default_embedder, threads=threads)
        model_id = current_embedding_model_id  # read again at each use: Preferences may change it
        if not out_of_process:
            return cls(
                DocStore(database),
                make,
                model_id=model_id,
                embedder_for=functools.partial(model_factory, threads=threads),
            )
        from app.docs.embed_process import ProcessEmbedder

        def other(model: str) -> Callable[[], Embedder] | None:
            factory = model_factory(model, threads=threads)
            return functools.partial(ProcessEmbedder, factory) if factory else None

        return cls(
            DocStore(database),
            lambda: ProcessEmbedder(make),
            model_id=model_id,
            embedder_for=other,
        )

    def close(self) -> None:
        """Close the index, and stop the embedding model's process if one runs."""
        with self._lock:
            embedders = [self._embedder, *self._others.values()]
            self._embedder, self._others, self._made_for = None, {}, None
        for embedder in embedders:
            close = getattr(embedder, "close", None)
            if callable(close):
                close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current_id(self) -> str | None:
        model = self._model_id
        return model() if callable(model) else model

    @property
    def embedder(self) -> Embedder:
        """The current embedding model (made on first use, and again after the user
        chose another: the old one then serves the collections indexed with it)."""
        current = self._current_id()
        with self._lock:
            if self._embedder is not None and current is not None and self._made_for != current:
                if self._made_for is not None and self._others.get(self._made_for) is None:
                    self._others[self._made_for] = self._embedder
                self._embedder = None
            if self._embedder is None:
                self._embedder = self._make_embedder()
                self._made_for = current
            return self._embedder

    @property
    def embedding_model_id(self) -> str:
        """The id of the current embedding model (new indexes, re-indexing), without
        loading it when it is known from the settings."""
        current = self._current_id()
        return current if current is not None else self.embedder.model_id

    def is_stale(self, collection: Collection | CollectionSummary) -> bool:
        """Whether the collection was indexed with another model than the current one
        (re-indexing is offered; until then it keeps its own model's vectors)."""
        from app.docs.embedding_models import is_stale

        if isinstance(collection, CollectionSummary):
            collection = collection.collection
        return is_stale(collection.embedding_model, self.embedding_model_id)

    def _embedder_of(self, collection: Collection) -> Embedder:
        """The model to search and update ``collection`` with: its own (the current one,
        or the earlier one while installed), else the current one."""
        model = collection.embedding_model
        if model == self.embedding_model_id or self._embedder_for is None:
            return self.embedder
        with self._lock:
            if model == self._made_for and self._embedder is not None:
                return self._embedder  # made before the user chose another model
            if model not in self._others:
                factory = self._embedder_for(model)
                self._others[model] = factory() if factory is not None else None
            other = self._others[model]
        return other if other is not None else self.embedder

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
        collection: Collection | None = None,
    ) -> Indexer:
        """An indexer with the current model, or ``collection``'s own (a stale one is
        updated with the model it was indexed with while that is installed)."""
        embedder = self.embedder if collection is None else self._embedder_of(collection)
        return Indexer(self.store, embedder, on_progress=on_progress, cancel=cancel, pause=pause)

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
        existing = self.store.get_collection(name)
        return self._indexer(on_progress, cancel, pause, existing).add(name, paths)

    def update(
        self,
        name: str,
        *,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> IndexReport:
        """Index what changed in the collection's files and folders since last time."""
        collection = self.collection(name)
        return self._indexer(on_progress, cancel, pause, collection).update(collection)

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
        embedder = self._search_embedder(collections) if mode != "keyword" else None
        return search(self.store, embedder, query, collections, top_k=top_k, mode=mode)

    def _search_embedder(self, collections: Sequence[Collection]) -> Embedder | None:
        """Collections indexed with one model are searched with it (stale ones too,
        while it is installed); mixed ones with the current model (the others then by
        keywords only)."""
        if not collections:
            return None
        if len({c.embedding_model for c in collections}) == 1:
            return self._embedder_of(collections[0])
        return self.embedder

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
        embedder = self._search_embedder(collections)
        passages = search(self.store, embedder, question, collections, top_k=top_k)
        return ground(question, passages, [c.name for c in collections], max_chars=max_chars)
