"""Bring a collection up to date with its files: new and changed files are read, cut
into passages and embedded; unchanged ones are skipped (same size and mtime, or the same
content hash); renamed ones keep their passages; deleted ones are forgotten.

Each file is saved in its own transaction, so an error, a cancel or a full disk costs
at most the file being indexed. A file that cannot be read gets a one-sentence error and
the rest of the collection is indexed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.errors import CancelledError, ConfigError, DocumentError
from app.core.i18n import english, translate
from app.docs.chunking import (
    DEFAULT_OVERLAP_TOKENS,
    DEFAULT_TARGET_TOKENS,
    chunk_sections,
    embedding_text,
)
from app.docs.embedder import Embedder
from app.docs.parse import kind_of, moved_message, parse_file, size_problem, unreadable_message
from app.docs.store import Collection, DocStore, FileRecord

INDEXED, UNCHANGED, MOVED, NO_TEXT, ERROR, REMOVED = (
    "indexed",
    "unchanged",
    "moved",
    "no_text",
    "error",
    "removed",
)
DRAFT_SUFFIX = " (re-indexing)"  # a re-index in progress, beside the collection it replaces
EMBED_BATCH = 64  # passages per embedding call: the unit of progress and of cancelling
PAUSE_POLL_S = 0.1  # how often a paused indexer looks whether it may go on


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file (or to a folder that could not be read)."""

    path: str
    status: str  # one of INDEXED, UNCHANGED, MOVED, NO_TEXT, ERROR, REMOVED
    message: str = ""
    pages: int | None = None
    chunks: int = 0


@dataclass(frozen=True)
class IndexProgress:
    files_done: int
    files_total: int
    path: str  # the file just finished
    pages_done: int
    elapsed_s: float


@dataclass
class IndexReport:
    collection: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def pages(self) -> int:
        return sum(o.pages or 0 for o in self.outcomes if o.status == INDEXED)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status == INDEXED)

    @property
    def problems(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status in (ERROR, NO_TEXT)]


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _no_text_message(path: Path, kind: str | None, pages: int | None) -> str:
    if kind == "pdf":
        return translate(
            "Documents",
            "{name} has no text layer on any of its {pages} pages (a scan?); Hearth cannot read "
            "scanned pages yet.",
        ).format(name=path.name, pages=pages or 0)
    return translate("Documents", "{name} holds no text.").format(name=path.name)


class Indexer:
    """Indexes files into a store with one embedding model."""

    def __init__(
        self,
        store: DocStore,
        embedder: Embedder,
        *,
        target_tokens: int = DEFAULT_TARGET_TOKENS,
        overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
        cancel: threading.Event | None = None,
        on_progress: Callable[[IndexProgress], None] | None = None,
        pause: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.target_tokens = min(target_tokens, embedder.max_tokens - 16)
        self.overlap_tokens = overlap_tokens
        self.cancel = cancel or threading.Event()
        self.on_progress = on_progress
        # Set: wait before the next file or batch until cleared (or cancelled).
        self.pause = pause or threading.Event()
        self.paused_s = 0.0  # time spent paused, left out of the progress' elapsed time

    def _checkpoint(self) -> None:
        """Between files and batches: wait while paused, stop when cancelled."""
        if self.pause.is_set() and not self.cancel.is_set():
            started = time.perf_counter()
            while self.pause.is_set() and not self.cancel.is_set():
                self.cancel.wait(PAUSE_POLL_S)  # wakes at once on cancel
            self.paused_s += time.perf_counter() - started
        if self.cancel.is_set():
            raise CancelledError(
                translate("Documents", "Indexing was stopped; the files indexed so far are kept.")
            )

    def add(self, name: str, paths: Sequence[Path]) -> IndexReport:
        """Add files and folders to the collection ``name`` (made when missing) and bring
        it up to date. A path that does not exist is reported, the others are added."""
        collection = self.store.get_collection(name) or self.store.create_collection(
            name, self.embedder.model_id, self.embedder.dimensions
        )
        self._check_model(collection)
        missing: list[FileOutcome] = []
        for raw in paths:
            path = Path(raw).expanduser().absolute()
            if path.is_dir():
                self.store.add_source(collection.id, path, is_folder=True)
            elif path.is_file():
                self.store.add_source(collection.id, path, is_folder=False)
            else:
                missing.append(
                    FileOutcome(
                        str(path),
                        ERROR,
                        translate("Documents", "{path} does not exist.").format(path=path),
                    )
                )
        report = self.update(collection)
        report.outcomes[:0] = missing
        return report

    def _check_model(self, collection: Collection) -> None:
        if collection.embedding_model != self.embedder.model_id:
            raise ConfigError(
                translate(
                    "Documents",
                    "The collection {name} was indexed with the embedding model {model}, not "
                    "{wanted}; re-index it with hearth docs reindex {name} (its index stays "
                    "usable until the new one is complete).",
                ).format(
                    name=repr(collection.name),
                    model=collection.embedding_model,
                    wanted=self.embedder.model_id,
                )
            )

    def reindex(self, name: str) -> IndexReport:
        """Index the collection's files again with this embedder's model, beside the old
        index, which is replaced only once the new one is complete. Stopped half-way
        (cancel, crash), the next call goes on where it stopped."""
        old = self.store.collection(name)
        draft_name = old.name + DRAFT_SUFFIX
        draft = self.store.get_collection(draft_name)
        if draft is not None and draft.embedding_model != self.embedder.model_id:
            self.store.remove_collection(draft_name)  # a draft for yet another model
            draft = None
        if draft is None:
            draft = self.store.create_collection(
                draft_name, self.embedder.model_id, self.embedder.dimensions
            )
        for path, is_folder in self.store.sources(old.id):
            self.store.add_source(draft.id, path, is_folder=is_folder)
        report = self.update(draft)
        self.store.replace_collection(old, draft)
        report.collection = old.name
        return report

    def update(self, collection: Collection) -> IndexReport:
        """Re-read what changed in the collection's sources since the last update."""
        self._check_model(collection)
        started = time.perf_counter()
        self.paused_s = 0.0
        report = IndexReport(collection.name)
        found, unreadable = self._scan(self.store.sources(collection.id))
        report.outcomes.extend(unreadable)
        known = {r.path: r for r in self.store.files(collection.id)}
        gone = {p: r for p, r in known.items() if p not in found}
        pages_done = 0
        for done, path in enumerate(sorted(found), start=1):
            self._checkpoint()
            outcome = self._index_file(collection, Path(path), known.get(path), gone)
            report.outcomes.append(outcome)
            if outcome.status == INDEXED:
                pages_done += outcome.pages or 0
            if self.on_progress is not None:
                elapsed = time.perf_counter() - started - self.paused_s
                self.on_progress(IndexProgress(done, len(found), path, pages_done, elapsed))
        for path, record in gone.items():
            self.store.remove_file(record.id)
            report.outcomes.append(
                FileOutcome(
                    path,
                    REMOVED,
                    translate("Documents", "{name} is gone.").format(name=Path(path).name),
                )
            )
        report.elapsed_s = time.perf_counter() - started - self.paused_s
        return report

    def _scan(self, sources: Iterable[tuple[Path, bool]]) -> tuple[set[str], list[FileOutcome]]:
        """Every readable file under the sources, and the folders that could not be read."""
        found: set[str] = set()
        problems: list[FileOutcome] = []
        for source, is_folder in sources:
            if not is_folder:
                if source.is_file():
                    found.add(str(source))
                continue
            if not source.is_dir():
                problems.append(
                    FileOutcome(
                        str(source),
                        ERROR,
                        translate("Documents", "The folder {folder} is gone.").format(
                            folder=source
                        ),
                    )
                )
                continue

            def failed(exc: OSError, source: Path = source) -> None:
                where = exc.filename or source
                problems.append(
                    FileOutcome(
                        str(where),
                        ERROR,
                        translate(
                            "Documents", "The folder {folder} cannot be read ({reason})."
                        ).format(folder=where, reason=exc.strerror),
                    )
                )

            for root, dirs, files in os.walk(source, onerror=failed):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if not name.startswith(".") and kind_of(Path(name)) is not None:
                        found.add(str(Path(root) / name))
        return found, problems

    def _index_file(
        self,
        collection: Collection,
        path: Path,
        known: FileRecord | None,
        gone: dict[str, FileRecord],
    ) -> FileOutcome:
        try:
            stat = path.stat()
            if (
                known is not None
                and known.status in (INDEXED, NO_TEXT)
                and known.size == stat.st_size
                and known.mtime == stat.st_mtime
            ):
                return FileOutcome(str(path), UNCHANGED, pages=known.pages, chunks=known.chunks)
            too_big = size_problem(path, stat.st_size)
            if too_big is not None:  # refused before a byte is read, not even hashed
                self.store.save_file(
                    collection.id, str(path), status=ERROR, error=english(too_big),
                    size=stat.st_size, mtime=stat.st_mtime,
                )  # fmt: skip
                return FileOutcome(str(path), ERROR, too_big)
            digest = file_hash(path)
        except OSError as exc:
            message = (
                moved_message(path.name)
                if isinstance(exc, FileNotFoundError)
                else unreadable_message(path.name, exc)
            )
            return self._failed(collection, path, known, message)
        if known is not None and known.content_hash == digest and known.status != ERROR:
            self.store.touch_file(known.id, stat.st_size, stat.st_mtime)
            return FileOutcome(str(path), UNCHANGED, pages=known.pages, chunks=known.chunks)
        if known is None:
            renamed = next(
                (r for r in gone.values() if r.content_hash == digest and r.status != ERROR), None
            )
            if renamed is not None:
                del gone[renamed.path]
                self.store.move_file(renamed.id, str(path), stat.st_size, stat.st_mtime)
                return FileOutcome(
                    str(path), MOVED, f"renamed from {renamed.path}", renamed.pages, renamed.chunks
                )
        try:
            document = parse_file(path)
        except DocumentError as exc:
            self.store.save_file(
                collection.id, str(path), status=ERROR, error=english(str(exc)),
                content_hash=digest, size=stat.st_size, mtime=stat.st_mtime,
            )  # fmt: skip
            return FileOutcome(str(path), ERROR, str(exc))
        if not document.has_text:
            message = _no_text_message(path, document.kind, document.pages)
            self.store.save_file(
                collection.id, str(path), status=NO_TEXT, error=english(message),
                content_hash=digest, size=stat.st_size, mtime=stat.st_mtime,
                pages=document.pages,
            )  # fmt: skip
            return FileOutcome(str(path), NO_TEXT, message, document.pages)
        chunks = chunk_sections(
            document.sections,
            self.embedder.count_tokens,
            target_tokens=self.target_tokens,
            overlap_tokens=self.overlap_tokens,
        )
        vectors = self._embed([embedding_text(c) for c in chunks])
        self.store.save_file(
            collection.id, str(path), status=INDEXED, content_hash=digest,
            size=stat.st_size, mtime=stat.st_mtime, pages=document.pages,
            chunks=chunks, vectors=vectors,
        )  # fmt: skip
        note = ""
        if document.pages_without_text:
            note = f"{document.pages_without_text} of {document.pages} pages have no text (scans?)"
        return FileOutcome(str(path), INDEXED, note, document.pages, len(chunks))

    def _failed(
        self, collection: Collection, path: Path, known: FileRecord | None, message: str
    ) -> FileOutcome:
        if known is not None and not path.exists():
            self.store.remove_file(known.id)
            return FileOutcome(str(path), REMOVED, message)
        self.store.save_file(collection.id, str(path), status=ERROR, error=english(message))
        return FileOutcome(str(path), ERROR, message)

    def _embed(self, texts: list[str]) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            self._checkpoint()
            parts.append(self.embedder.embed(texts[start : start + EMBED_BATCH], "document"))
        if not parts:
            return np.zeros((0, self.embedder.dimensions), dtype=np.float32)
        return np.concatenate(parts)
