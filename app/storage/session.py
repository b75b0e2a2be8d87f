"""One SQLite connection shared by a store's threads: the plumbing the conversation
store and the document store have in common.

A store holds one connection (``check_same_thread=False``, autocommit mode) guarded by a
re-entrant lock, so any thread may call in. Writes run in ``BEGIN IMMEDIATE``
transactions: the write lock is taken at the start, so a transaction never fails half-way
on another connection's lock (the window, the CLI and the server may share the file).
SQLite's errors leave as ``StorageError`` in the store's own words.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from app.core.errors import StorageError
from app.core.i18n import translate


def doing_words(doing: str) -> str:
    """``doing`` ("save to", "read", ...) in the window's language, for "Could not {doing}
    the ... database"; an unknown one as it is."""
    known = {
        "save to": translate("Storage", "save to"),
        "read": translate("Storage", "read"),
        "open": translate("Storage", "open"),
        "delete from": translate("Storage", "delete from"),
        "repair the search index of": translate("Storage", "repair the search index of"),
    }
    return known.get(doing, doing)


class SqliteSession:
    """Mixed into a store that sets ``_lock`` and ``_conn`` in its ``__init__``."""

    _lock: threading.RLock
    _conn: sqlite3.Connection | None

    def _closed_message(self) -> str:
        """Said when the store is used after close() (a store names what it holds)."""
        return translate("Storage", "The database is closed.")

    def _storage_error(self, exc: sqlite3.Error, doing: str) -> StorageError:
        """The StorageError for ``exc``, met while ``doing`` (e.g. "save to") the file."""
        return StorageError(
            translate("Storage", "Could not {doing} the database ({exc}).").format(
                doing=doing_words(doing), exc=exc
            )
        )

    def _before_close(self) -> None:
        """Runs under the lock just before the connection closes (write what is buffered)."""

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self._lock:
            if self._conn is None:
                return
            try:
                self._before_close()
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(self._closed_message())
        return self._conn

    @contextmanager
    def _write(self, doing: str = "save to") -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._storage_error(exc, doing) from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._connection()
            except sqlite3.Error as exc:
                raise self._storage_error(exc, "read") from exc
