"""The images waiting in the message box: added from files, the clipboard or a drop,
prepared (decoded, checked, scaled) on a pool thread, kept in the order they were given.

Widgets show ``images()`` and call ``add_*``/``remove``; a slow image (a 20 MP photo)
never blocks the window, and a bad one is a ``failed`` sentence, never an exception.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.errors import HearthError
from app.services.background import run_in_background

if TYPE_CHECKING:
    from app.vision.images import PreparedImage

# What a dropped or pasted file must end with to be taken as an image (everything else
# dropped goes to the conversation's documents).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif"}
)


def is_image_path(path: Path | str) -> bool:
    """Whether a file's name says it is an image Hearth reads."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _prepare(source: Callable[[], bytes | Path], name: str | None) -> PreparedImage:
    from app.vision.images import prepare_image

    return prepare_image(source(), name=name)


class ImageAttachments(QObject):
    """The images the next message carries, in order; duplicates are kept once."""

    changed = Signal()  # the list of ready images changed
    failed = Signal(str)  # an image could not be read: the sentence to show
    pending_changed = Signal(int)  # images still being prepared

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ready: list[tuple[int, PreparedImage]] = []  # (order, image)
        self._pending: set[int] = set()
        self._order = itertools.count()
        self._generation = 0  # bumped by clear(): results prepared before it are dropped

    # -- reading -------------------------------------------------------------------------
    def images(self) -> list[PreparedImage]:
        return [image for _order, image in self._ready]

    @property
    def pending(self) -> int:
        return len(self._pending)

    def __len__(self) -> int:
        return len(self._ready)

    # -- adding --------------------------------------------------------------------------
    def add_paths(self, paths: Iterable[Path]) -> None:
        """Prepare each file on a pool thread; each arrives (or fails) on its own."""
        for path in paths:
            self._start(partial(Path, path), path.name)

    def add_data(self, data: bytes | Callable[[], bytes], name: str | None = None) -> None:
        """An image's encoded bytes (pasted or received), or a function that makes them
        (run on the pool thread too: encoding a large pasted screenshot takes a while)."""
        self._start(data if callable(data) else lambda: data, name)

    def add_prepared(self, images: Sequence[PreparedImage]) -> None:
        """Images prepared already (given back after a refusal), after the others."""
        for image in images:
            self._accept(next(self._order), self._generation, image)

    def _start(self, source: Callable[[], bytes | Path], name: str | None) -> None:
        order, generation = next(self._order), self._generation
        self._pending.add(order)
        self.pending_changed.emit(self.pending)
        run_in_background(
            lambda: _prepare(source, name),
            lambda image: self._accept(order, generation, image),
            lambda exc: self._fail(order, generation, exc),
        )

    def _accept(self, order: int, generation: int, image: PreparedImage) -> None:
        self._settle(order)
        if generation != self._generation:
            return
        if any(kept.sha256 == image.sha256 for _o, kept in self._ready):
            return  # the same picture twice is sent once
        self._ready.append((order, image))
        self._ready.sort(key=lambda pair: pair[0])  # the order they were given in
        self.changed.emit()

    def _fail(self, order: int, generation: int, exc: HearthError) -> None:
        self._settle(order)
        if generation == self._generation:
            self.failed.emit(str(exc))

    def _settle(self, order: int) -> None:
        if order in self._pending:
            self._pending.discard(order)
            self.pending_changed.emit(self.pending)

    # -- removing ------------------------------------------------------------------------
    def remove(self, index: int) -> None:
        if 0 <= index < len(self._ready):
            del self._ready[index]
            self.changed.emit()

    def take(self) -> list[PreparedImage]:
        """The images, and an empty box (those still being prepared are dropped)."""
        images = self.images()
        self.clear()
        return images

    def clear(self) -> None:
        self._generation += 1
        had = bool(self._ready)
        self._ready.clear()
        if self._pending:
            self._pending.clear()
            self.pending_changed.emit(0)
        if had:
            self.changed.emit()
