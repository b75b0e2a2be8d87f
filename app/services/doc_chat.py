"""Documents in a conversation: the collections it reads, its questions grounded in
them off the GUI thread, and files dropped into it indexed into a collection of its own.

The index comes from the window's document service (``DocumentService``: one
``Documents`` and its indexing queue) or, where there is none, from a ``Documents``
used directly on pool threads (``use_documents``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal

from app.core.errors import HearthError
from app.core.i18n import localize, translate
from app.services.background import run_in_background
from app.storage import ConversationStore
from app.storage.conversations import AttachedCollection

if TYPE_CHECKING:
    from app.docs.documents import Documents
    from app.docs.grounding import Grounded

log = logging.getLogger(__name__)

DRAFT_SUFFIX = " (re-indexing)"  # app.docs.indexer's mark of a re-index in progress


class DocumentSource(Protocol):
    """What the window's document service offers this one."""

    @property
    def documents(self) -> Documents: ...

    def add(self, name: str, paths: Sequence[Path]) -> Any: ...


def private_name(uid: str) -> str:
    """The name of the collection of files dropped into the conversation ``uid``."""
    return f"Dropped files · {uid[:8]}"


class ConversationDocuments(QObject):
    """Which collections each conversation reads, and searching them for its questions."""

    changed = Signal(int)  # a conversation id: its collections changed
    indexing = Signal(int, str)  # conversation id, dropped files being indexed ("" when done)
    failed = Signal(str)  # one sentence for the user

    def __init__(self, store: ConversationStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._service: DocumentSource | None = None
        self._documents: Documents | None = None
        self._indexing: dict[str, int] = {}  # private collection name -> conversation id
        self._lock = threading.Lock()

    # -- the index -----------------------------------------------------------------------
    def use(self, service: DocumentSource) -> None:
        """Search and index through the window's document service."""
        self._service = service

    def use_documents(self, documents: Documents) -> None:
        """Search and index with ``documents`` directly (no document service)."""
        self._documents = documents

    @property
    def documents(self) -> Documents | None:
        if self._service is not None:
            return self._service.documents
        return self._documents

    # -- collections ---------------------------------------------------------------------
    def attached(self, conversation_id: int) -> list[AttachedCollection]:
        if not conversation_id:
            return []
        try:
            return self.store.attached_collections(conversation_id)
        except HearthError as exc:
            log.warning("cannot read the conversation's collections: %s", exc)
            return []

    def names(self, conversation_id: int) -> list[str]:
        """The names of the collections the conversation reads (a re-index in progress
        is read under its collection's name once it is complete)."""
        return [c.name for c in self.attached(conversation_id) if not _is_draft(c.name)]

    def choices(self) -> list[AttachedCollection]:
        """The user's collections a conversation may attach."""
        try:
            return [c for c in self.store.shared_collections() if not _is_draft(c.name)]
        except HearthError as exc:
            log.warning("cannot list the document collections: %s", exc)
            return []

    def attach(self, conversation_id: int, collection_id: int) -> None:
        try:
            self.store.attach_collection(conversation_id, collection_id)
        except HearthError as exc:
            self.failed.emit(str(exc))
            return
        self.changed.emit(conversation_id)

    def detach(self, conversation_id: int, collection_id: int) -> None:
        try:
            self.store.detach_collection(conversation_id, collection_id)
        except HearthError as exc:
            self.failed.emit(str(exc))
            return
        self.changed.emit(conversation_id)

    # -- grounding -----------------------------------------------------------------------
    def ground(
        self,
        question: str,
        names: Sequence[str],
        on_done: Callable[[Grounded], None],
        on_error: Callable[[HearthError], None],
    ) -> None:
        """Search ``names`` for ``question`` on a pool thread; the callbacks run on the
        GUI thread."""
        names = list(names)
        run_in_background(lambda: self.ground_now(question, names), on_done, on_error)

    def ground_now(self, question: str, names: Sequence[str]) -> Grounded:
        """The grounded question, searched on the calling thread (never the GUI's)."""
        documents = self.documents
        if documents is None:
            raise HearthError(
                translate(
                    "DocChat",
                    "The documents are not available in this window; restart Hearth to use them.",
                )
            )
        return documents.ground(question, names)

    # -- files dropped into a conversation -----------------------------------------------
    def drop_files(self, conversation_id: int, paths: Sequence[Path]) -> None:
        """Index ``paths`` into the conversation's own collection (made and attached on
        the first drop); progress comes as ``indexing``."""
        documents = self.documents
        if documents is None or not paths:
            self.failed.emit(
                translate(
                    "DocChat",
                    "Files can be added to a conversation once the documents are available; "
                    "restart Hearth and drop them again.",
                )
            )
            return
        try:
            own = self.store.private_collection(conversation_id)
            name = (
                own.name if own else private_name(self.store.get_conversation(conversation_id).uid)
            )
        except HearthError as exc:
            self.failed.emit(str(exc))
            return
        paths = list(paths)
        with self._lock:
            self._indexing[name] = conversation_id
        self.indexing.emit(conversation_id, _indexing_line(len(paths)))

        def prepare() -> None:
            # Made and owned before any file is indexed, so it never shows as one of
            # the user's collections; the embedding model (loaded here, off the GUI
            # thread) fixes its dimensions.
            if documents.store.get_collection(name) is None:
                embedder = documents.embedder
                documents.store.create_collection(name, embedder.model_id, embedder.dimensions)
            collection = documents.store.collection(name)
            self.store.own_collection(conversation_id, collection.id)

        def prepared(_: object) -> None:
            self.changed.emit(conversation_id)
            if self._service is not None:
                self._service.add(name, paths)  # its finished signal reaches index_finished
            else:
                run_in_background(
                    lambda: documents.add(name, paths),
                    lambda report: self.index_finished(name, report),
                    lambda exc: self.index_failed(name, str(exc)),
                )

        run_in_background(prepare, prepared, lambda exc: self.index_failed(name, str(exc)))

    def index_progress(self, name: str, progress: Any) -> None:
        """Dropped files being indexed (connect the document service's ``progress``)."""
        with self._lock:
            conversation_id = self._indexing.get(name)
        if conversation_id is None:
            return
        done, total = getattr(progress, "files_done", 0), getattr(progress, "files_total", 0)
        current = Path(str(getattr(progress, "path", "") or "")).name
        line = (
            translate("DocChat", "Indexing dropped files: {done} of {total} ({current})…").format(
                done=done, total=total, current=current
            )
            if current
            else ""
        )
        line = line or _indexing_line(total)
        self.indexing.emit(conversation_id, line)

    def index_finished(self, name: str, report: Any = None) -> None:
        """A collection was indexed (connect the document service's ``finished``)."""
        with self._lock:
            conversation_id = self._indexing.pop(name, None)
        if conversation_id is None:
            return
        for outcome in getattr(report, "problems", []):  # unreadable, scanned, missing
            self.failed.emit(
                translate("DocChat", "{name}: {problem}").format(
                    name=Path(outcome.path).name, problem=localize(outcome.message)
                )
            )
        self.indexing.emit(conversation_id, "")
        self.changed.emit(conversation_id)

    def index_failed(self, name: str, message: str) -> None:
        """Indexing a collection failed (connect the document service's ``failed``)."""
        with self._lock:
            conversation_id = self._indexing.pop(name, None)
        if conversation_id is None:
            return
        self.indexing.emit(conversation_id, "")
        self.failed.emit(localize(message))


def _is_draft(name: str) -> bool:
    return name.endswith(DRAFT_SUFFIX)


def _indexing_line(files: int) -> str:
    if files == 1:
        return translate("DocChat", "Indexing 1 file for this conversation…")
    return translate("DocChat", "Indexing {files} files for this conversation…").format(files=files)
