"""Vector search with NumPy over float32 vectors kept as BLOBs in SQLite.

sqlite-vec was the first choice, but it is a loadable extension and Python's ``sqlite3``
can only load one when the interpreter was built with
``--enable-loadable-sqlite-extensions``: the pyenv Python here is not (its connections
have no ``enable_load_extension``), nor are several distributions' builds. Its vec0
tables are exact (brute-force) search too, so NumPy over the same float32 bytes gives the
same results on every Python: one matrix product over unit vectors is the cosine
similarity of every passage (10,000 passages x 384 dimensions is 15 MB and ~2 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray


def pack(vector: NDArray[np.float32]) -> bytes:
    """Little-endian float32 bytes (the same on every machine)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def unpack(blob: bytes, dimensions: int) -> NDArray[np.float32]:
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.size != dimensions:
        raise ValueError(f"a stored vector has {vector.size} dimensions, not {dimensions}")
    return vector.astype(np.float32, copy=False)


@dataclass(frozen=True)
class VectorMatrix:
    """Passage ids and their vectors, one row each."""

    ids: NDArray[np.int64]
    matrix: NDArray[np.float32]

    @classmethod
    def build(cls, rows: list[tuple[int, bytes]], dimensions: int) -> VectorMatrix:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        data = b"".join(r[1] for r in rows)
        matrix = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if matrix.size != len(rows) * dimensions:
            raise ValueError("stored vectors do not all have the collection's dimensions")
        return cls(ids, matrix.reshape(len(rows), dimensions))

    def nearest(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The ``k`` passages most similar to ``query`` (unit length): ``(id, cosine)``,
        best first."""
        if k <= 0 or self.ids.size == 0:
            return []
        scores = self.matrix @ np.asarray(query, dtype=np.float32)
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]
