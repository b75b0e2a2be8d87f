"""DocumentService: the user's document collections for the window, indexed in the
background with progress as GUI-thread signals.

Every slow step (reading, embedding, removing a big collection) runs on the indexing
queue's worker thread (``app.services.index_jobs``); search runs on a pool thread. At
start the service brings every collection up to date with its files (they may have
changed while Hearth was closed) and then follows its folders as they change.

The index (and NumPy with it) opens on first use, not while the window starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

from app.core.errors import HearthError
from app.core.i18n import localize
from app.services.background import run_in_background
from app.services.index_jobs import (
    IndexJob,
    IndexQueue,
    JobEvent,
    JobFailed,
    JobFinished,
    JobProgress,
    JobStarted,
)

if TYPE_CHECKING:
    from app.docs.documents import Documents
    from app.docs.search import Passage
    from app.docs.store import CollectionSummary, FileRecord
    from app.docs.watch import FolderWatcher

log = logging.getLogger(__name__)
# app.docs.indexer.DRAFT_SUFFIX (a test checks they agree): importing the indexer would
# bring NumPy into the window's start-up.
DRAFT_SUFFIX = " (re-indexing)"
COUNTS_EVERY_S = 0.2  # how often the counts follow the progress (the page re-reads them)


class DocumentService(QObject):
    """One :class:`Documents` and the queue that indexes into it."""

    collections_changed = Signal()
    progress = Signal(str, object)  # collection name, IndexProgress
    finished = Signal(str, object)  # collection name, IndexReport (None after a removal)
    failed = Signal(str, str)  # collection name, one-sentence message
    # Collection name, "queued" / "indexing" / "paused", or "" once nothing is left to do.
    state_changed = Signal(str, str)
    _event = Signal(object)  # JobEvent from the worker thread, carried to the GUI thread
    _changed_on_disk = Signal(str)  # from the folder watcher's thread

    def __init__(
        self,
        documents: Documents | Callable[[], Documents],
        *,
        embedding_model: Callable[[], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``documents``: the index, or a function that opens it on first use."""
        super().__init__(parent)
        self._open = documents if callable(documents) else (lambda: documents)
        self._documents: Documents | None = None
        self._lock = threading.Lock()
        self._embedding_model = embedding_model
        self._watcher: FolderWatcher | None = None
        self._counts_shown = 0.0
        self._event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._changed_on_disk.connect(self._queue_update, Qt.ConnectionType.QueuedConnection)
        self._queue = IndexQueue(lambda: self.documents, self._event.emit)

    @classmethod
    def open(
        cls, database: Path, *, out_of_process: bool = True, parent: QObject | None = None
    ) -> DocumentService:
        """The documents in the conversation database ``database`` (opened on first
        use); the embedding model runs in a child process, so the window never runs it."""

        def documents() -> Documents:
            from app.docs.documents import Documents

            return Documents.open(database, out_of_process=out_of_process)

        return cls(documents, parent=parent)

    @property
    def documents(self) -> Documents:
        """The index every front end uses (search, ground, the collections)."""
        with self._lock:
            if self._documents is None:
                self._documents = self._open()
            return self._documents

    # -- collections ---------------------------------------------------------------------

    def summaries(self) -> list[CollectionSummary]:
        """The user's collections: not a re-index in progress beside its collection, nor
        the private collection of files dropped into one conversation."""
        private = self.documents.store.private_collection_ids()
        return [
            s
            for s in self.documents.summaries()
            if not _is_draft(s.collection.name) and s.collection.id not in private
        ]

    def names(self) -> list[str]:
        return [s.collection.name for s in self.summaries()]

    @staticmethod
    def shown_problem(stored: str) -> str:
        """A file's stored (English) problem in the window's language (app.docs.problems)."""
        from app.docs.problems import shown_problem

        return shown_problem(stored)

    def problems(self, name: str) -> list[FileRecord]:
        """The collection's files that could not be indexed, with their messages."""
        store = self.documents.store
        collection = store.get_collection(name)
        if collection is None:
            return []
        return [f for f in store.files(collection.id) if f.status in ("error", "no_text")]

    def current_embedding_model(self) -> str:
        """The embedding model new indexes are made with (the settings' choice, read
        without loading it)."""
        if self._embedding_model is not None:
            return self._embedding_model()
        return self.documents.embedding_model_id

    def is_stale(self, summary: CollectionSummary) -> bool:
        """Indexed with another embedding model than the current one: offer a re-index
        (search keeps using the old vectors until the new index is complete)."""
        from app.docs.embedding_models import is_stale

        return is_stale(summary.collection.embedding_model, self.current_embedding_model())

    def unfinished_reindex(self, name: str) -> bool:
        """A re-index of ``name`` was stopped half-way (the next one goes on from there)."""
        return self.documents.store.get_collection(name + DRAFT_SUFFIX) is not None

    # -- jobs ----------------------------------------------------------------------------

    def add(self, name: str, paths: Sequence[Path]) -> IndexJob:
        """Add files and folders to ``name`` (made when new) and index them."""
        return self._submit(name, "add", paths)

    def update(self, name: str) -> IndexJob:
        """Index what changed in the collection's files since last time."""
        return self._submit(name, "update")

    def reindex(self, name: str) -> IndexJob:
        """Index ``name`` again with the current embedding model, beside the old index."""
        return self._submit(name, "reindex")

    def remove(self, name: str) -> IndexJob:
        """Stop indexing ``name`` and forget it (the files stay on disk)."""
        return self._submit(name, "remove")

    def pause(self, name: str) -> None:
        """Hold ``name``'s indexing before its next file or batch (also before it starts)."""
        if self._queue.pause(name):
            job = self._queue.job(name)
            self.state_changed.emit(name, job.state if job else "")

    def resume(self, name: str) -> None:
        if self._queue.resume(name):
            job = self._queue.job(name)
            self.state_changed.emit(name, job.state if job else "")

    def cancel(self, name: str) -> None:
        """Stop indexing ``name``; what was indexed so far is kept."""
        self._queue.cancel(name)

    def job(self, name: str) -> IndexJob | None:
        """The running or next queued job of ``name`` (progress, time left, paused)."""
        return self._queue.job(name)

    def jobs(self) -> list[IndexJob]:
        return self._queue.jobs()

    def busy(self) -> bool:
        return not self._queue.idle()

    def catch_up(self) -> list[str]:
        """Queue an update of every collection whose files may have changed while
        Hearth was closed; a re-index that was stopped goes on. Collections indexed with
        another embedding model wait for the user's re-index. Returns the names queued."""
        queued: list[str] = []
        everyone = self.documents.summaries()  # a conversation's own files too
        for summary in (s for s in everyone if not _is_draft(s.collection.name)):
            name = summary.collection.name
            if self.unfinished_reindex(name):
                self.reindex(name)
            elif not self.is_stale(summary):
                self.update(name)
            else:
                continue
            queued.append(name)
        return queued

    def _submit(self, name: str, kind: Any, paths: Sequence[Path] = ()) -> IndexJob:
        job = self._queue.submit(name, kind, paths)
        if job.started_at is None:
            self.state_changed.emit(name, job.state)
        return job

    # -- search --------------------------------------------------------------------------

    def search(
        self,
        query: str,
        names: Sequence[str] | None,
        on_done: Callable[[list[Passage]], None],
        on_error: Callable[[HearthError], None],
        *,
        top_k: int = 5,
    ) -> None:
        """The best passages for ``query`` in ``names`` (all when None), found on a pool
        thread; ``on_done`` runs on the GUI thread."""
        names = list(names) if names is not None else None
        run_in_background(
            lambda: self.documents.search(query, names, top_k=top_k), on_done, on_error
        )

    # -- watching and start-up -------------------------------------------------------------

    def start(self) -> None:
        """Catch up with the changes made while Hearth was closed, then watch the
        collections' folders. An index that cannot be opened is reported by ``failed``
        (with an empty name); the window goes on without documents."""
        try:
            self.catch_up()
            self._start_watching()
        except HearthError as exc:
            log.warning("documents not started: %s", exc)
            self.failed.emit("", localize(str(exc)))

    def _start_watching(self) -> None:
        """Follow the folders as they change: each burst of changes queues an update of
        its collection on the indexing queue."""
        from app.docs.watch import FolderWatcher

        self._watcher = FolderWatcher(self.documents, self._changed_on_disk.emit)
        self._watcher.start()
        for problem in self._watcher.problems:
            log.warning("%s", problem)

    def watch_problems(self) -> list[str]:
        """Folders whose changes are not followed (read at the next start), one sentence each."""
        return list(self._watcher.problems) if self._watcher is not None else []

    def _queue_update(self, name: str) -> None:
        if self.documents.store.get_collection(name) is not None:  # not removed since
            self._submit(name, "update")

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop watching and indexing (the files indexed so far are kept), then close."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if not self._queue.close(timeout):
            log.warning("indexing did not stop within %.0f s", timeout)
            return  # the worker still uses the index: leave it open, the process ends
        # Events the worker posted that nobody will read: dropped now, while Python runs
        # (left for Qt's teardown, their Python arguments crashed the interpreter's exit).
        QCoreApplication.removePostedEvents(self)
        with self._lock:
            documents, self._documents = self._documents, None
        if documents is not None:
            documents.close()

    # -- events ---------------------------------------------------------------------------

    def _on_event(self, event: JobEvent) -> None:
        name = event.job.name
        if isinstance(event, JobStarted):
            self.state_changed.emit(name, event.job.state)
            if event.job.kind in ("add", "reindex"):
                self.collections_changed.emit()
        elif isinstance(event, JobProgress):
            self.progress.emit(name, event.progress)
            # The counts grow as files are indexed (a new collection appears with its
            # first file): shown at most every COUNTS_EVERY_S.
            now = time.monotonic()
            if now - self._counts_shown >= COUNTS_EVERY_S or event.progress.files_done == 1:
                self._counts_shown = now
                self.collections_changed.emit()
        elif isinstance(event, JobFinished):
            if self._watcher is not None and event.job.kind in ("add", "remove", "reindex"):
                self._watcher.refresh()  # follow the collection's new folders, or no more
            self._job_ended(name)
            self.finished.emit(name, event.report)
            self.collections_changed.emit()
        elif isinstance(event, JobFailed):
            self._job_ended(name)
            self.failed.emit(name, localize(event.message))
            self.collections_changed.emit()

    def _job_ended(self, name: str) -> None:
        following = self._queue.job(name)
        self.state_changed.emit(name, following.state if following is not None else "")


def _is_draft(name: str) -> bool:
    return name.endswith(DRAFT_SUFFIX)
