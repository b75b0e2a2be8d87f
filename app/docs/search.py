"""Hybrid search: BM25 keyword ranks and vector ranks fused by reciprocal rank fusion.

RRF (Cormack et al., 2009) adds ``1 / (60 + rank)`` from each list a passage appears
in: it needs no score calibration between BM25 and cosine, and a passage found by both
rises above one found by a single method. Fused scores say nothing absolute, so every
passage also carries its cosine similarity to the query and the share of the query's
keywords it contains; ``relevant`` uses those to tell "found something" from "nothing
in these documents is about that".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.docs.embedder import Embedder
from app.docs.store import Collection, DocStore, StoredChunk, cjk_bigrams, query_terms

Mode = Literal["hybrid", "keyword", "vector"]
RRF_K = 60
CANDIDATES = 50  # from each method, before fusion
# all-MiniLM-L6-v2 puts unrelated English sentences below ~0.2 and passages that answer
# a question above ~0.35; half the query's keywords is a match for text it cannot embed
# well (Chinese, names, codes).
MIN_SIMILARITY = 0.3
MIN_KEYWORD_SHARE = 0.5
# Embedding models that read Chinese, by their id (the id is what crosses a process
# boundary). An English-only model (all-MiniLM-L6-v2, bge-small-en, nomic-embed-text)
# sees Chinese as a bag of characters: on the manpages-zh benchmark its vectors alone
# found the answer in the top 5 for 16% of questions, fused at full weight they pulled
# hybrid below BM25 alone (recall@5 0.75 vs 0.81, MRR 0.53 vs 0.64), at a tenth of the
# weight they only fill places and break ties (0.81, MRR 0.65; 0 to 1 measured). Its
# cosine then says nothing about relevance (86 of 100 unanswerable Chinese questions had
# a passage above MIN_SIMILARITY), so the keyword share alone decides it.
_READS_CHINESE = re.compile(r"multilingual|bge-m3|\bm3\b|labse|qwen|jina-embeddings-v3|zh", re.I)
FOREIGN_VECTOR_WEIGHT = 0.1
# With multilingual-e5 on manpages-zh (300 passages, 100 questions) hybrid fell below e5's
# vectors alone (recall@5 0.87 vs 0.94) at equal weights; vectors counting 2/3/5 times:
# 0.91/0.93/0.95, MRR 0.79/0.82/0.82 (tuned on the set it is measured on: 3, not 5).
CHINESE_VECTOR_WEIGHT = 3.0
E5_MIN_SIMILARITY = 0.88
_E5 = re.compile(r"(^|[^a-z])e5([^a-z]|$)", re.I)
# Question and function words, longest first (什么时候 before 什么 and 时候).
_CHINESE_STOP = re.compile(
    "|".join(
        sorted(
            (
                "什么时候", "可不可以", "为什么", "怎么样", "告诉我", "请问", "什么", "怎么",
                "怎样", "如何", "哪里", "哪儿", "哪些", "哪个", "多少", "是否", "能否", "可以",
                "时候", "应该", "需要", "关于", "对于", "我们", "你们", "他们", "这个", "那个",
                "这些", "那些", "一个", "吗", "呢", "吧", "啊", "的", "了",
            ),
            key=len,
            reverse=True,
        )
    )
)  # fmt: skip
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Passage:
    """One search result."""

    path: str
    page: int | None
    heading: str
    text: str
    score: float  # the fused score: higher is better, only comparable within one search
    similarity: float | None  # cosine with the query (None: no vectors for it)
    keyword_share: float  # share of the query's keywords found in the passage
    chunk_id: int
    collection: str = ""  # the name of the collection it was found in
    min_similarity: float = MIN_SIMILARITY  # the embedding model's "about the question"

    @property
    def relevant(self) -> bool:
        return (
            self.similarity is not None and self.similarity >= self.min_similarity
        ) or self.keyword_share >= MIN_KEYWORD_SHARE

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "page": self.page,
            "heading": self.heading,
            "text": self.text,
            "score": round(self.score, 6),
        }


def fuse(
    rankings: Sequence[Sequence[int]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Reciprocal rank fusion of ranked id lists (best first): ``{id: score}``; each list
    counts ``weights[i]`` times (1 each by default)."""
    scores: dict[int, float] = {}
    for index, ranking in enumerate(rankings):
        weight = weights[index] if weights is not None else 1.0
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def search(
    store: DocStore,
    embedder: Embedder | None,
    query: str,
    collections: Sequence[Collection],
    *,
    top_k: int = 5,
    mode: Mode = "hybrid",
    candidates: int = CANDIDATES,
    rrf_k: int = RRF_K,
    vector_weight: float = 1.0,
) -> list[Passage]:
    """The ``top_k`` best passages for ``query`` in ``collections``, best first.

    Vectors are searched in the collections indexed with ``embedder``'s model (a
    collection indexed with another model is searched by keywords only). ``rrf_k`` and
    ``vector_weight`` tune the fusion (tests/bench/bench_retrieval.py measures them).
    """
    query = query.strip()
    if not query or not collections or top_k <= 0:
        return []
    ids = [c.id for c in collections]
    rankings: list[list[int]] = []
    weights: list[float] = []
    if mode in ("hybrid", "keyword"):
        rankings.append([i for i, _ in store.keyword_search(query, ids, candidates)])
        weights.append(1.0)
        chinese = store.bigram_search(query, ids, candidates)
        if chinese:
            rankings.append([i for i, _ in chinese])
            weights.append(1.0)
    scored: list[tuple[Any, Any]] = []  # (ids, cosines) of each collection searched
    foreign = (
        embedder is not None and mode == "hybrid" and not vectors_help(embedder.model_id, query)
    )
    if embedder is not None and mode == "hybrid":
        vector_weight *= language_weight(embedder.model_id, query)
    if mode in ("hybrid", "vector") and embedder is not None:
        vector = embedder.embed([query], "query")[0]
        nearest: list[tuple[int, float]] = []
        for collection in collections:
            if collection.embedding_model != embedder.model_id:
                continue
            matrix = store.vector_matrix(collection)
            nearest.extend(matrix.nearest(vector, candidates))
            if not foreign:  # its cosine says nothing about relevance there
                scored.append((matrix.ids, matrix.matrix @ vector))
        nearest.sort(key=lambda item: -item[1])
        rankings.append([i for i, _ in nearest[:candidates]])
        weights.append(vector_weight)
    fused = fuse(rankings, rrf_k, weights)
    best = sorted(fused, key=lambda i: (-fused[i], i))[:top_k]
    chunks = store.chunks(best)
    similarity = _similarities(scored, best)
    terms = [t for t in query_terms(query) if not _is_cjk_term(t)] + chinese_terms(query)
    floor = similarity_floor(embedder.model_id) if embedder is not None else MIN_SIMILARITY
    return [
        _passage(chunks[i], fused[i], similarity.get(i), terms, floor) for i in best if i in chunks
    ]


def chinese_terms(query: str) -> list[str]:
    """The query's Chinese keywords for the relevance share: its Chinese runs split at
    question and function words ("租金什么时候支付" -> 租金, 支付), then each run's
    two-character windows (single characters only when nothing longer is left). Without
    the split, windows such as 么时 that no passage contains would keep the share of a
    passage that answers below the threshold."""
    runs = _CHINESE_STOP.sub(" ", query)
    terms: list[str] = []
    found = _CJK_RUN.findall(runs)
    for run in found:
        if len(run) > 1:
            terms.extend(cjk_bigrams(run))
    if not terms:  # only single characters between the stop words: keep those
        terms = found
    return list(dict.fromkeys(terms))


def similarity_floor(model_id: str) -> float:
    """The cosine above which a passage counts as about the question, for this model.
    e5 squeezes every cosine into ~0.8-0.95 (its training temperature): on manpages-zh
    the passage that answers sat at 0.87/0.90/0.92 (10th/50th/90th percentile), the best
    passage for a question with no answer in the collection at 0.87/0.885/0.90; 0.88
    keeps 82% of the answers and lets 71% of the unanswerable through (the keyword share
    still counts too). Other models: the starter model's measured floor."""
    return E5_MIN_SIMILARITY if _E5.search(model_id) else MIN_SIMILARITY


def reads_chinese(model_id: str) -> bool:
    """Whether the embedding model named ``model_id`` was trained on Chinese text."""
    return bool(_READS_CHINESE.search(model_id))


def is_chinese(text: str) -> bool:
    """At least a third of the text's non-space characters are Chinese."""
    chars = [c for c in text if not c.isspace()]
    return bool(chars) and 3 * sum(1 for c in chars if _CJK_CHAR.match(c)) >= len(chars)


def language_weight(model_id: str, query: str) -> float:
    """How much more (or less) the vectors count in hybrid search for this query: a
    Chinese query leans on the model that reads Chinese (BM25 over two-character windows
    is a poor ranker there) and away from one that does not; 1 otherwise."""
    if not is_chinese(query):
        return 1.0
    return CHINESE_VECTOR_WEIGHT if reads_chinese(model_id) else FOREIGN_VECTOR_WEIGHT


def vectors_help(model_id: str, query: str) -> bool:
    """Whether hybrid search should fuse this model's vectors for ``query``: not for a
    Chinese query and an English-only model."""
    return reads_chinese(model_id) or not is_chinese(query)


def _is_cjk_term(term: str) -> bool:
    return bool(cjk_bigrams(term))


def _similarities(scored: list[tuple[Any, Any]], wanted: list[int]) -> dict[int, float]:
    """The cosine of each wanted passage, found by methods other than vectors too."""
    found: dict[int, float] = {}
    for ids, cosines in scored:
        for position in np.flatnonzero(np.isin(ids, wanted)):
            found[int(ids[position])] = float(cosines[position])
    return found


def _passage(
    chunk: StoredChunk, score: float, similarity: float | None, terms: list[str], floor: float
) -> Passage:
    haystack = f"{chunk.heading}\n{chunk.text}".lower()
    share = sum(1 for t in terms if t in haystack) / len(terms) if terms else 0.0
    return Passage(
        path=chunk.path,
        page=chunk.page,
        heading=chunk.heading,
        text=chunk.text,
        score=score,
        similarity=similarity,
        keyword_share=share,
        chunk_id=chunk.id,
        collection=chunk.collection,
        min_similarity=floor,
    )
