"""The second stage: candidates reordered by a reranker's scores. The embedding reranker
is checked against the embedding model called directly (the same vectors, the same
cosines), never against which passage a model prefers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from app.docs.embedder import Embedder
from app.docs.rerank import EmbeddingReranker, passage_text, rerank
from app.docs.search import Passage


def passage(n: int, text: str, heading: str = "") -> Passage:
    return Passage(f"/doc{n}", None, heading, text, 1.0 / (n + 1), None, 0.0, n)


class Scores:
    """A reranker that reads each passage's score from a table (fast unit tests)."""

    model_id = "table"

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table
        self.seen: list[str] = []

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.seen = list(texts)
        return [self.table[t] for t in texts]


def test_rerank_orders_by_the_rerankers_scores_and_keeps_top_k() -> None:
    first = [passage(0, "a"), passage(1, "b"), passage(2, "c"), passage(3, "d")]
    table = Scores({"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.9})
    found = rerank("q", first, table, top_k=3)
    assert [p.text for p in found] == ["b", "d", "c"]  # b before d: the first stage's order
    assert [p.score for p in found] == [0.9, 0.9, 0.5]  # the reranker's scores
    assert found[0].path == "/doc1" and found[0].chunk_id == 1  # the rest is the passage's


def test_rerank_reads_the_heading_with_the_text() -> None:
    table = Scores({"Pets\nNo dogs.": 1.0, "Rent due on the 5th.": 0.0})
    rerank("q", [passage(0, "No dogs.", "Pets"), passage(1, "Rent due on the 5th.")], table,
           top_k=2)  # fmt: skip
    assert table.seen == ["Pets\nNo dogs.", "Rent due on the 5th."]
    assert passage_text(passage(0, "x", "H")) == "H\nx"


def test_rerank_edge_cases() -> None:
    assert rerank("q", [], Scores({}), top_k=5) == []
    assert rerank("q", [passage(0, "a")], Scores({"a": 1.0}), top_k=0) == []

    class Short(Scores):
        def score(self, query: str, texts: Sequence[str]) -> list[float]:
            return [1.0]

    with pytest.raises(ValueError, match="one score per passage"):
        rerank("q", [passage(0, "a"), passage(1, "b")], Short({}), top_k=2)


@pytest.mark.slow
def test_embedding_reranker_scores_are_the_models_cosines(embedder: Embedder) -> None:
    texts = [
        "Tenants may keep one cat; dogs are not allowed.",
        "The rent is due on the fifth day of each month.",
        "Bicycles go in the shed behind the house.",
    ]
    query = "Can I have a pet?"
    reranker = EmbeddingReranker(embedder)
    scores = reranker.score(query, texts)
    direct = embedder.embed(texts, "document") @ embedder.embed([query], "query")[0]
    assert np.allclose(scores, direct, atol=1e-6)
    found = rerank(query, [passage(n, t) for n, t in enumerate(texts)], reranker, top_k=3)
    assert [p.score for p in found] == sorted(scores, reverse=True)
    assert reranker.model_id == embedder.model_id
    assert reranker.score(query, []) == []
