"""Hybrid search over real files with the real starter model: what each method finds,
the fused order, and the relevance signal that tells the model when nothing was found."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.docs.embedder import Embedder
from app.docs.indexer import Indexer
from app.docs.search import fuse, search
from app.docs.store import Collection, DocStore
from tests.docs.documents import write_docx, write_html, write_lease_pdf, write_markdown

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, store: DocStore, embedder: Embedder) -> Collection:
    folder = tmp_path / "home"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    write_docx(folder / "handbook.docx")
    write_html(folder / "garden.html")
    write_markdown(folder / "notes.md")
    Indexer(store, embedder).add("home", [folder])
    return store.collection("home")


def test_rrf_rewards_agreement() -> None:
    scores = fuse([[1, 2, 3], [3, 1, 4]])
    assert sorted(scores, key=lambda i: -scores[i]) == [1, 3, 2, 4]
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = fuse([[1, 2], [2, 1]], k=10, weights=[1.0, 2.0])
    assert weighted[2] == pytest.approx(1 / 12 + 2 / 11) and weighted[2] > weighted[1]


@pytest.mark.parametrize(
    ("question", "file", "page"),
    [
        ("Am I allowed to have a dog in the flat?", "lease.pdf", 2),
        ("Where do I put my bike?", "lease.pdf", 3),
        ("How much is the monthly rent?", "lease.pdf", 1),
        ("When is the heating boiler maintained?", "handbook.docx", None),
        ("how often should compost be turned", "garden.html", None),
        ("what time does the night train to Vienna depart", "notes.md", None),
    ],
)
def test_hybrid_search_finds_the_passage_that_answers(
    store: DocStore,
    embedder: Embedder,
    home: Collection,
    question: str,
    file: str,
    page: int | None,
) -> None:
    best = search(store, embedder, question, [home], top_k=3)[0]
    assert (Path(best.path).name, best.page) == (file, page)
    assert best.relevant


def test_results_are_best_first_with_their_source(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    results = search(store, embedder, "which pets are allowed", [home], top_k=5)
    assert 1 < len(results) <= 5
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0].heading == "Pets" and results[0].page == 2
    assert set(results[0].to_json()) == {"path", "page", "heading", "text", "score"}


def test_vectors_find_a_paraphrase_keywords_miss(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    question = "Is a kitten OK?"  # no word of it is in the lease
    assert search(store, embedder, question, [home], mode="keyword") == []
    (best,) = search(store, embedder, question, [home], mode="vector", top_k=1)
    assert best.page == 2


def test_keywords_find_an_exact_code_vectors_rank_lower(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    (best,) = search(store, embedder, "number 14", [home], mode="keyword", top_k=1)
    assert "number 14" in best.text
    hybrid = search(store, embedder, "garage space number 14", [home], top_k=1)
    assert "number 14" in hybrid[0].text


def test_chinese_questions_find_the_chinese_passage(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    best = search(store, embedder, "租金什么时候支付？", [home], top_k=3)[0]
    assert "租金" in best.text and best.relevant
    best = search(store, embedder, "可以养猫吗", [home], top_k=3)[0]
    assert "养一只猫" in best.text


def test_an_unrelated_question_finds_nothing_relevant(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    results = search(store, embedder, "Who won the football world cup in 1998?", [home])
    assert results  # ranks always return something...
    assert not any(r.relevant for r in results)  # ...but none of it is about the question


def test_empty_queries_and_no_collections(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    assert search(store, embedder, "   ", [home]) == []
    assert search(store, embedder, "pets", []) == []


def test_a_collection_from_another_model_is_searched_by_keywords_only(
    store: DocStore, embedder: Embedder, home: Collection
) -> None:
    stale = Collection(**{**home.__dict__, "embedding_model": "another-model"})
    results = search(store, embedder, "pets", [stale])
    assert results and all(r.similarity is None for r in results)
