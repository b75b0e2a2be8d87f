"""Chat models the API has resolved by name, kept while nothing they came from changed.

Resolving a name reads the library file and scans the models folders (a fraction of a
millisecond, more with a large library), so the server does it in a worker thread; the
hop to that thread and back costs about a millisecond more on a 2-core machine, all of
it before the request reaches the engine (time to first token). A name asked for again
is answered from here, on the event loop, after a few ``stat`` calls show that the
library file, the model file and its projector are as they were when it was resolved.
A name never kept here, or kept longer than ``max_age_s``, is resolved in full.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.catalog.library import ModelEntry

Signature = tuple[tuple[int, int, int] | None, ...]


def _stat(path: str | Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


class ResolvedModels:
    """``resolve(name)``'s answers by name (``None``: the default model), with a check
    cheap enough for the event loop (:meth:`cached`)."""

    def __init__(
        self,
        resolve: Callable[[str | None], ModelEntry],
        library_file: Path,
        *,
        max_age_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self._library_file = library_file
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[str | None, tuple[float, Signature, ModelEntry]] = {}

    def _signature(self, entry: ModelEntry) -> Signature:
        return _stat(self._library_file), _stat(entry.path), _stat(entry.mmproj)

    def cached(self, name: str | None) -> ModelEntry | None:
        """The entry resolved for ``name`` if nothing it came from changed; else None."""
        with self._lock:
            kept = self._kept.get(name)
        if kept is None:
            return None
        at, signature, entry = kept
        if self._clock() - at > self._max_age_s or self._signature(entry) != signature:
            with self._lock:
                self._kept.pop(name, None)
            return None
        return entry

    def resolve(self, name: str | None) -> ModelEntry:
        """Resolve ``name`` in full (file I/O: not on the event loop) and keep the answer.
        Errors (no such model) are raised and not kept."""
        before = _stat(self._library_file)
        entry = self._resolve(name)
        signature = self._signature(entry)
        # The library changed while it was read: answer, but keep nothing half-read.
        if signature[0] == before:
            with self._lock:
                self._kept[name] = (self._clock(), signature, entry)
        return entry
