"""GGUF embedding models (nomic-embed-text, bge, bge-m3, multilingual-e5 …) on llama.cpp.

llama-cpp-python's ``Llama(..., embedding=True)`` runs the model; ``Llama.embed`` packs
several texts into one batch (one sequence each, up to ``n_batch`` tokens together) and
returns one pooled vector per text. The pooling is the GGUF's own
(``<arch>.pooling_type``, written by llama.cpp's converter from the sentence-transformers
config); a file without one is mean-pooled, as sentence-transformers does by default.
Vectors are normalised here, so a dot product is the cosine similarity.

The context is ``max_tokens`` long (the model's training context, at most
:data:`MAX_TOKENS`): passages are cut below it anyway, and an encoder attends over the
whole batch at once, so a longer batch only costs memory and time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.errors import HearthError, ModelError, ModelNotFoundError
from app.core.i18n import translate
from app.docs.embedder import Purpose, default_threads

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Passages are ~200 tokens; 512 is what bge/e5/MiniLM were trained on, and keeps an
# encoder's attention over one batch small (nomic/bge-m3 read 2048-8192 but need not here).
MAX_TOKENS = 512
POOLING_NONE, POOLING_MEAN, POOLING_CLS, POOLING_LAST, POOLING_RANK = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class GgufEmbeddingSpec:
    """A GGUF embedding model: its file, the id of its vector space, and the prefixes
    the model card asks for (nomic's ``search_query: ``, e5's ``query: `` …)."""

    model_id: str
    path: Path
    query_prefix: str = ""
    document_prefix: str = ""


@dataclass(frozen=True)
class GgufEmbeddingInfo:
    """What the GGUF header says about an embedding model (read without loading it)."""

    architecture: str
    dimensions: int
    context_length: int
    pooling: int  # the pooling llama.cpp will use (mean when the file names none)


def read_embedding_info(path: Path) -> GgufEmbeddingInfo:
    """The header facts an embedder needs; ModelError when the file cannot embed."""
    from app.core.gguf_meta import read_gguf

    if not path.is_file():
        raise ModelNotFoundError(
            translate(
                "Documents",
                "The embedding model file {path} is missing; download it again with "
                "hearth models pull, or choose another embedding model in Preferences.",
            ).format(path=path)
        )
    info = read_gguf(path)  # InvalidModelError (a ModelError) for a damaged file
    raw_pooling = info.arch_value("pooling_type")
    pooling = int(raw_pooling) if raw_pooling is not None else POOLING_NONE
    if pooling == POOLING_RANK:
        raise ModelError(
            translate(
                "Documents",
                "{file} is a reranking model, not an embedding model; choose an "
                "embedding model (see hearth models catalog).",
            ).format(file=path.name)
        )
    dimensions = int(info.arch_value("embedding_length_out", 0) or 0) or int(
        info.arch_value("embedding_length", 0) or 0
    )
    if dimensions <= 0:
        raise ModelError(
            translate(
                "Documents",
                "{file} does not say how long its vectors are; download it again.",
            ).format(file=path.name)
        )
    return GgufEmbeddingInfo(
        architecture=info.architecture,
        dimensions=dimensions,
        context_length=info.context_length or MAX_TOKENS,
        pooling=pooling if pooling != POOLING_NONE else POOLING_MEAN,
    )


class LlamaEmbedder:
    """An :class:`~app.docs.embedder.Embedder` over a GGUF file, on llama.cpp.

    The header is read at once (dimensions and context without loading weights); the
    model loads on first use. Thread-safe: one llama.cpp context, used under a lock.
    """

    def __init__(self, spec: GgufEmbeddingSpec, *, threads: int | None = None) -> None:
        self.spec = spec
        self.threads = threads or default_threads()
        self.info = read_embedding_info(spec.path)
        self._max_tokens = max(16, min(self.info.context_length, MAX_TOKENS))
        self._lock = threading.Lock()
        self._llama: Any = None

    @property
    def model_id(self) -> str:
        return self.spec.model_id

    @property
    def dimensions(self) -> int:
        return self.info.dimensions

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def _load(self) -> Any:
        # Called with the lock held.
        if self._llama is None:
            from app.engine.cuda_driver import prepare

            prepare()
            from llama_cpp import Llama

            from app.engine.amx import avoid_amx_kernels

            avoid_amx_kernels()

            try:
                self._llama = Llama(
                    model_path=str(self.spec.path),
                    embedding=True,
                    pooling_type=self.info.pooling,
                    n_ctx=self._max_tokens,
                    n_batch=self._max_tokens,
                    n_ubatch=self._max_tokens,  # an encoder takes a whole batch at once
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    n_gpu_layers=0,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:  # llama.cpp's load failures
                raise ModelError(
                    translate(
                        "Documents",
                        "The embedding model {file} could not be loaded ({error}); download it "
                        "again or choose another one in Preferences.",
                    ).format(file=self.spec.path.name, error=exc)
                ) from exc
        return self._llama

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        with self._lock:
            llama = self._load()
            return [len(llama.tokenize(t.encode("utf-8"), add_bos=False)) for t in texts]

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> NDArray[np.float32]:
        prefix = self.spec.query_prefix if purpose == "query" else self.spec.document_prefix
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        # Similar lengths together: llama-cpp-python fills each batch in the order given.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            llama = self._load()
            try:
                rows = llama.embed([prefix + texts[i] for i in order], truncate=True)
            except HearthError:
                raise
            except (ValueError, RuntimeError) as exc:
                raise ModelError(
                    translate(
                        "Documents",
                        "The embedding model {file} failed ({error}); try again, or choose "
                        "another embedding model in Preferences.",
                    ).format(file=self.spec.path.name, error=exc)
                ) from exc
        vectors = np.asarray(rows, dtype=np.float32)
        if vectors.shape != (len(texts), self.dimensions):
            raise ModelError(
                translate(
                    "Documents",
                    "The embedding model {file} returned vectors of shape {shape}, not "
                    "({n_texts}, {dimensions}); it cannot be used.",
                ).format(
                    file=self.spec.path.name,
                    shape=vectors.shape,
                    n_texts=len(texts),
                    dimensions=self.dimensions,
                )
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out[order] = vectors / np.clip(norms, 1e-12, None)
        return out
