"""Folder watching: files added, changed, deleted or renamed in a collection's folders
bring the collection up to date while Hearth runs.

The file system's own notifications come through ``watchdog`` (inotify on Linux,
FSEvents on macOS, ReadDirectoryChangesW on Windows). Events are many and bursty (a
save is several writes, a copy of a folder hundreds of creations), so they are
debounced per collection: once a collection's files have been quiet for ``debounce_s``
(or have kept changing for ``max_wait_s``), ``on_change(name)`` is called once, from the
watcher's own thread. Only what the indexer reads counts: supported, non-hidden files,
and folders under a source; opening and reading files (the indexer does) never does.

The update itself is incremental (``Documents.update``: content hashes, renames keep
their passages). What changed while Hearth was closed is the caller's to catch up on
at start, with one ``update`` per collection.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from app.core.errors import HearthError
from app.core.i18n import translate
from app.docs.indexer import DRAFT_SUFFIX
from app.docs.parse import kind_of

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

    from app.docs.documents import Documents

log = logging.getLogger(__name__)

DEBOUNCE_S = 1.5  # a collection is updated once its files have been quiet this long
MAX_WAIT_S = 20.0  # ... or once they have kept changing this long
# What is worth an update: changes, never opening or reading (the indexer reads files).
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


@dataclass(frozen=True)
class _Source:
    collection: str
    path: str  # absolute, as stored
    is_folder: bool


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _hidden(path: str, folder: str) -> bool:
    """Whether ``path`` (under ``folder``) is or lies in a hidden file or folder, which
    the indexer skips."""
    relative = os.path.relpath(path, folder)
    return any(part.startswith(".") for part in Path(relative).parts if part != ".")


class FolderWatcher:
    """Watches every collection's files and folders; calls ``on_change(name)`` when a
    collection's files changed (debounced, from the watcher's thread).

    Without ``on_change`` the watcher updates the collection itself, in its thread
    (``documents.update(name)``; errors are logged). Call :meth:`refresh` after
    collections or their sources change, :meth:`stop` before closing ``documents``.
    """

    def __init__(
        self,
        documents: Documents,
        on_change: Callable[[str], None] | None = None,
        *,
        debounce_s: float = DEBOUNCE_S,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.documents = documents
        self.on_change = on_change or self._update
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self.problems: list[str] = []  # sources that could not be watched, one sentence each
        self._sources: list[_Source] = []
        self._observer: BaseObserver | None = None
        self._wake = threading.Condition()
        self._pending: dict[str, tuple[float, float]] = {}  # name -> (first, last) event
        self._running = False
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Watch the sources of every collection (a re-index in progress excluded)."""
        with self._wake:
            if self._running:
                return
            self._running = True
        self._thread = threading.Thread(target=self._run, name="docs-watcher", daemon=True)
        self._thread.start()
        self.refresh()

    def stop(self) -> None:
        """Stop watching; changes not yet handed to ``on_change`` are dropped (the next
        start's catch-up update finds them)."""
        with self._wake:
            self._running = False
            self._pending.clear()
            self._wake.notify_all()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def refresh(self) -> None:
        """Watch exactly the current collections' sources (after add, remove, rename)."""
        sources: list[_Source] = []
        store = self.documents.store
        for collection in store.collections():
            if collection.name.endswith(DRAFT_SUFFIX):
                continue
            for path, is_folder in store.sources(collection.id):
                sources.append(_Source(collection.name, str(path), is_folder))
        # A folder is watched with everything under it; a single file through its folder.
        places = sorted(
            {(s.path, True) if s.is_folder else (str(Path(s.path).parent), False) for s in sources}
        )
        with self._wake:
            if not self._running:
                return
            self._sources = sources
        observer = Observer()
        observer.start()  # first: then each watch starts (and fails) on its own
        handler = _Handler(self)
        problems: list[str] = []
        for place, recursive in places:
            if any(
                (other, r) != (place, recursive) and r and _under(place, other)
                for other, r in places
            ):
                continue  # inside another watched folder: its events arrive already
            try:
                observer.schedule(handler, place, recursive=recursive, event_filter=_EVENTS)
            except OSError as exc:  # gone, unreadable, or the system's watch limit reached
                problems.append(
                    translate(
                        "Documents",
                        "Changes in {place} are not followed ({error}); Hearth reads them at its "
                        "next start.",
                    ).format(place=place, error=exc.strerror or exc)
                )
        with self._wake:
            running = self._running
            self.problems = problems
            old, self._observer = self._observer, observer
        if not running:
            old, self._observer = observer, None
        if old is not None:
            old.stop()
            old.join()
        for problem in problems:
            log.warning("%s", problem)

    # -- events --------------------------------------------------------------------------

    def collections_for(self, path: str, is_directory: bool) -> set[str]:
        """The collections a change at ``path`` concerns."""
        names: set[str] = set()
        for source in self._sources:
            if not source.is_folder:
                if path == source.path or (is_directory and _under(source.path, path)):
                    names.add(source.collection)
            elif _under(path, source.path):
                if _hidden(path, source.path):
                    continue
                if is_directory or kind_of(Path(path)) is not None:
                    names.add(source.collection)
            elif is_directory and _under(source.path, path):
                names.add(source.collection)  # the folder itself, or one above it, moved
        return names

    def notice(self, names: set[str]) -> None:
        if not names:
            return
        now = time.monotonic()
        with self._wake:
            for name in names:
                first, _ = self._pending.get(name, (now, now))
                self._pending[name] = (first, now)
            self._wake.notify_all()

    def _due(self, now: float) -> tuple[list[str], float | None]:
        """Collections due now, and how long until the next one is."""
        due: list[str] = []
        wait: float | None = None
        for name, (first, last) in self._pending.items():
            at = min(last + self.debounce_s, first + self.max_wait_s)
            if at <= now:
                due.append(name)
            else:
                wait = at - now if wait is None else min(wait, at - now)
        return due, wait

    def _run(self) -> None:
        while True:
            with self._wake:
                while True:
                    if not self._running:
                        return
                    due, wait = self._due(time.monotonic())
                    if due:
                        for name in due:
                            del self._pending[name]
                        break
                    self._wake.wait(wait)
            for name in sorted(due):
                try:
                    self.on_change(name)
                except Exception:  # a receiver's bug must not end the watching
                    log.exception("handling changes in collection %r failed", name)

    def _update(self, name: str) -> None:
        try:
            report = self.documents.update(name)
        except HearthError as exc:
            log.warning("collection %r could not be updated: %s", name, exc)
            return
        log.info(
            "collection %r updated after changes on disk: %s",
            name,
            ", ".join(f"{o.status} {Path(o.path).name}" for o in report.outcomes[:20]),
        )


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        names: set[str] = set()
        for raw in (event.src_path, event.dest_path):
            if raw:
                path = os.fsdecode(raw)
                names |= self.watcher.collections_for(path, event.is_directory)
        self.watcher.notice(names)
