"""GGUF embedding models on llama.cpp, with a tiny random-weight BERT written by
``tests/fixtures/embedding_gguf.py`` (llama.cpp loads and runs it like a real one).

Random weights say nothing about meaning, so these tests check what does not depend on
it: equality with llama-cpp-python called directly, unit length, order, batching,
determinism, prefixes, truncation, token counts against the real tokenizer, and that the
documents index and search with it end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import InvalidModelError, ModelError, ModelNotFoundError
from app.docs.llama_embedder import (
    MAX_TOKENS,
    POOLING_CLS,
    POOLING_MEAN,
    GgufEmbeddingSpec,
    LlamaEmbedder,
    read_embedding_info,
)
from tests.fixtures.embedding_gguf import write_tiny_bert

TEXTS = [
    "The tenant may keep one cat or one small dog.",
    "Rent is due on the first day of each month.",
    "short",
    "A much longer passage about the heating system, the boiler, the radiators and "
    "who pays for repairs when something in the flat breaks down during the winter.",
]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("gguf") / "tiny-bert-embed.gguf")


@pytest.fixture(scope="module")
def embedder(tiny_bert: Path) -> LlamaEmbedder:
    return LlamaEmbedder(GgufEmbeddingSpec("tiny-bert-embed", tiny_bert), threads=2)


def direct_vectors(path: Path, texts: list[str]) -> np.ndarray:
    """llama-cpp-python called directly, one text at a time, normalised by it."""
    from llama_cpp import Llama

    llama = Llama(str(path), embedding=True, n_ctx=512, n_batch=512, n_threads=2, verbose=False)
    rows = [llama.embed(text, normalize=True) for text in texts]
    return np.asarray(rows, dtype=np.float32)


def test_header_facts_without_loading(tiny_bert: Path) -> None:
    info = read_embedding_info(tiny_bert)
    assert (info.architecture, info.dimensions, info.context_length) == ("bert", 32, 512)
    assert info.pooling == POOLING_MEAN
    embedder = LlamaEmbedder(GgufEmbeddingSpec("x", tiny_bert))
    assert (embedder.dimensions, embedder.max_tokens) == (32, MAX_TOKENS)
    assert embedder._llama is None  # nothing loaded yet


def test_vectors_equal_llama_cpp_direct_and_unit_length(
    embedder: LlamaEmbedder, tiny_bert: Path
) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Batched (several sequences in one llama.cpp batch, sorted by length) gives what one
    # call per text gives, in the caller's order.
    np.testing.assert_allclose(vectors, direct_vectors(tiny_bert, TEXTS), atol=2e-3)
    assert not np.allclose(vectors[0], vectors[1])  # different texts, different vectors


def test_deterministic_and_order_independent(embedder: LlamaEmbedder) -> None:
    forward = embedder.embed(TEXTS)
    backward = embedder.embed(TEXTS[::-1])
    np.testing.assert_allclose(forward, backward[::-1], atol=2e-3)
    np.testing.assert_allclose(embedder.embed(TEXTS), forward, atol=1e-6)
    assert embedder.embed([]).shape == (0, 32)


def test_many_texts_fill_several_batches(embedder: LlamaEmbedder) -> None:
    texts = [f"Passage number {i} talks about {'pets ' * (i % 7)}and rent." for i in range(70)]
    vectors = embedder.embed(texts)
    assert vectors.shape == (70, 32)
    np.testing.assert_allclose(vectors[13], embedder.embed([texts[13]])[0], atol=2e-3)


def test_prefixes_follow_the_purpose(tiny_bert: Path) -> None:
    spec = GgufEmbeddingSpec(
        "e5-like", tiny_bert, query_prefix="query: ", document_prefix="passage: "
    )
    prefixed = LlamaEmbedder(spec, threads=2)
    plain = LlamaEmbedder(GgufEmbeddingSpec("plain", tiny_bert), threads=2)
    question = "may I keep a cat"
    np.testing.assert_allclose(
        prefixed.embed([question], "query"), plain.embed(["query: " + question]), atol=1e-5
    )
    np.testing.assert_allclose(
        prefixed.embed([question], "document"), plain.embed(["passage: " + question]), atol=1e-5
    )


def test_token_counts_match_the_real_wordpiece_tokenizer(embedder: LlamaEmbedder) -> None:
    from tokenizers import Tokenizer

    from tests.fixtures.embedding_gguf import VOCAB_FILE

    tokenizer = Tokenizer.from_file(str(VOCAB_FILE))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    expected = [len(e.ids) for e in tokenizer.encode_batch(TEXTS, add_special_tokens=False)]
    assert embedder.count_tokens(TEXTS) == expected


def test_text_longer_than_the_context_is_cut(embedder: LlamaEmbedder) -> None:
    long_text = "word " * 2000
    assert embedder.count_tokens([long_text])[0] > MAX_TOKENS
    vector = embedder.embed([long_text])
    assert vector.shape == (1, 32) and np.isfinite(vector).all()


def test_the_files_pooling_type_is_used(tmp_path: Path) -> None:
    mean = write_tiny_bert(tmp_path / "mean.gguf", pooling="mean", seed=3)
    cls = write_tiny_bert(tmp_path / "cls.gguf", pooling="cls", seed=3)
    none = write_tiny_bert(tmp_path / "none.gguf", pooling=None, seed=3)
    assert read_embedding_info(cls).pooling == POOLING_CLS
    assert read_embedding_info(none).pooling == POOLING_MEAN  # no pooling: mean, as ST does
    vectors = {
        p.stem: LlamaEmbedder(GgufEmbeddingSpec(p.stem, p), threads=2).embed(TEXTS[:2])
        for p in (mean, cls, none)
    }
    np.testing.assert_allclose(vectors["none"], vectors["mean"], atol=1e-5)
    assert not np.allclose(vectors["cls"], vectors["mean"], atol=1e-3)


def test_missing_damaged_and_reranking_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="missing"):
        LlamaEmbedder(GgufEmbeddingSpec("gone", tmp_path / "gone.gguf"))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 40)
    with pytest.raises(InvalidModelError):
        LlamaEmbedder(GgufEmbeddingSpec("broken", broken))
    reranker = write_tiny_bert(tmp_path / "rerank.gguf", pooling=None)
    _set_pooling(reranker, 4)
    with pytest.raises(ModelError, match="reranking model"):
        LlamaEmbedder(GgufEmbeddingSpec("rerank", reranker))


def _set_pooling(path: Path, value: int) -> None:
    """Rewrite a fixture with ``bert.pooling_type`` = value (4: rank, a reranker)."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    source = path.with_suffix(".src.gguf")
    path.rename(source)
    reader = gguf.GGUFReader(str(source), "r")
    writer = gguf.GGUFWriter(str(path), arch="bert", endianess=reader.endianess)
    new = {"bert.pooling_type": MetadataDetails(gguf.GGUFValueType.UINT32, value)}
    copy_with_new_metadata(reader, writer, new, [])
