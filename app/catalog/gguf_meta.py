"""Kept so existing imports keep working: the GGUF reader is :mod:`app.core.gguf_meta`,
below the engine and the catalog that both read GGUF files."""

from app.core.gguf_meta import (
    GGUF_MAGIC,
    SPLIT_RE,
    ArrayInfo,
    GGUFInfo,
    HeaderIncompleteError,
    TensorInfo,
    gguf_constants,
    read_gguf,
    read_gguf_header,
)

__all__ = [
    "GGUF_MAGIC",
    "SPLIT_RE",
    "ArrayInfo",
    "GGUFInfo",
    "HeaderIncompleteError",
    "TensorInfo",
    "gguf_constants",
    "read_gguf",
    "read_gguf_header",
]
