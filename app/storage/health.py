"""Open-time checks of the conversation database, and repair of what can be rebuilt.

Damage is told apart by where it lies:

- in the messages, conversations or presets, the images in conversations, or in the
  document collections, their files and passages (their tables or their indexes): it
  cannot be repaired in place, so the caller sets the file aside and salvages what it
  can read (``app.storage.salvage``);
- in the search index (the FTS5 table's shadow tables): the index is rebuilt from the
  messages (the documents' index from their passages), losing nothing. When the damaged
  shadow tables cannot even be rewritten, the index is dropped from the schema and
  created afresh, and the file is compacted (VACUUM) so the orphaned pages go;
- anywhere else (pages no table uses, the free list): VACUUM rewrites the file without it.

``PRAGMA quick_check`` finds page-level damage in well under a second for a large
history; FTS5's own ``integrity-check`` (seconds for tens of thousands of messages) only
runs once quick_check has found something.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from app.storage.schema import (
    DOC_INDEX_SHADOWS,
    DOC_INDEX_SQL,
    DOC_INDEX_TABLE,
    DOC_INDEX_TRIGGERS,
    SEARCH_INDEX_SHADOWS,
    SEARCH_INDEX_SQL,
    SEARCH_INDEX_TABLE,
    SEARCH_INDEX_TRIGGER_SQL,
    SEARCH_INDEX_TRIGGERS,
)

log = logging.getLogger(__name__)

# The tables holding the user's data: damage to any of these sets the file aside (and
# the salvage reads back what it can, documents included: app.storage.salvage_docs).
CORE_TABLES: tuple[str, ...] = (
    "conversations",
    "messages",
    "presets",
    "sqlite_sequence",
    "doc_collections",
    "doc_sources",
    "doc_files",
    "doc_chunks",
    "conversation_collections",
    "images",
    "message_images",
)

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


class CoreDamage(Exception):
    """Internal: the tables holding conversations or messages are damaged."""


def is_corruption(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error means the file is damaged (not locked, full, read-only)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def problems(conn: sqlite3.Connection, table: str | None = None) -> list[str]:
    """``PRAGMA quick_check``'s findings for the whole file, or for one table and its
    indexes; empty when sound. A check that fails on the damage counts as a finding."""
    sql = "PRAGMA quick_check" if table is None else f'PRAGMA quick_check("{table}")'
    try:
        rows = [str(r[0]) for r in conn.execute(sql).fetchall()]
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def _present(conn: sqlite3.Connection, names: tuple[str, ...]) -> list[str]:
    marks = ", ".join("?" for _ in names)
    rows = conn.execute(f"SELECT name FROM sqlite_schema WHERE name IN ({marks})", names).fetchall()
    return [str(r[0]) for r in rows]


def core_findings(conn: sqlite3.Connection) -> list[str]:
    """Damage in the schema or in the tables that hold the user's data (empty if none)."""
    try:
        tables = _present(conn, CORE_TABLES)
    except sqlite3.DatabaseError as exc:
        return [f"the schema cannot be read ({exc})"]
    return [f"{table}: {p}" for table in tables for p in problems(conn, table)[:3]]


def search_index_sound(
    conn: sqlite3.Connection,
    table: str = SEARCH_INDEX_TABLE,
    shadows: tuple[str, ...] = SEARCH_INDEX_SHADOWS,
    triggers: tuple[str, ...] = SEARCH_INDEX_TRIGGERS,
) -> bool:
    """Whether an FTS5 index (the messages' unless told), its shadow tables and its
    triggers are all there and sound."""
    try:
        present = set(_present(conn, (table, *triggers)))
        if present != {table, *triggers}:
            return False
        if any(problems(conn, t) for t in _present(conn, shadows)):
            return False
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
    except sqlite3.DatabaseError:
        return False
    return True


def doc_index_sound(conn: sqlite3.Connection) -> bool:
    """Whether the documents' keyword index is sound (a file without documents' tables,
    from before schema 4, has nothing to check)."""
    try:
        if not _present(conn, ("doc_chunks",)):
            return True
    except sqlite3.DatabaseError:
        return False
    return search_index_sound(conn, DOC_INDEX_TABLE, DOC_INDEX_SHADOWS, DOC_INDEX_TRIGGERS)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back on corruption
            conn.execute("ROLLBACK")
        raise


def _index_from_messages(conn: sqlite3.Connection) -> None:
    """Fill the (empty or stale) index from the messages, streaming replies left out."""
    conn.execute(f"INSERT INTO {SEARCH_INDEX_TABLE} ({SEARCH_INDEX_TABLE}) VALUES ('rebuild')")
    # 'rebuild' indexes every row; streaming ones are kept out, as the triggers do.
    conn.executemany(
        f"INSERT INTO {SEARCH_INDEX_TABLE} ({SEARCH_INDEX_TABLE}, rowid, content)"
        " VALUES ('delete', ?, ?)",
        conn.execute("SELECT id, content FROM messages WHERE status = 'streaming'").fetchall(),
    )


def _create_index(conn: sqlite3.Connection) -> None:
    for statement in SEARCH_INDEX_SQL:
        conn.execute(statement)
    _index_from_messages(conn)


def _drop_index(conn: sqlite3.Connection) -> None:
    for trigger in SEARCH_INDEX_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute(f"DROP TABLE IF EXISTS {SEARCH_INDEX_TABLE}")


def _forget_index(
    conn: sqlite3.Connection,
    table: str = SEARCH_INDEX_TABLE,
    shadows: tuple[str, ...] = SEARCH_INDEX_SHADOWS,
    triggers: tuple[str, ...] = SEARCH_INDEX_TRIGGERS,
) -> None:
    """Take the index out of the schema without reading its pages.

    DROP TABLE walks the shadow tables' pages to free them and stops at the damaged one,
    so the schema rows are deleted instead (``writable_schema``, as SQLite's own recovery
    does); the pages are left unused until VACUUM. The schema version is bumped so every
    connection, in this process or another, reloads the schema.
    """
    for trigger in triggers:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    names = (table, *shadows)
    marks = ", ".join("?" for _ in names)
    version = int(conn.execute("PRAGMA schema_version").fetchone()[0])
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            f"DELETE FROM sqlite_schema WHERE name IN ({marks}) OR tbl_name IN ({marks})",
            names * 2,
        )
        # PRAGMA takes no parameters; the value is SQLite's own integer plus one.
        conn.execute(f"PRAGMA schema_version = {version + 1:d}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


def rebuild_search_index(conn: sqlite3.Connection) -> None:
    """Rebuild the full-text index from the messages, whatever state it is in.

    ``conn`` must be in autocommit mode. Each way is tried in its own transaction: an
    FTS5 'rebuild' in place; then dropping and recreating the index; then, when its
    pages are too damaged to be freed, taking it out of the schema, recreating it and
    compacting the file. Raises ``sqlite3.Error`` when none works.
    """
    try:
        with _transaction(conn):
            _index_from_messages(conn)
        return
    except sqlite3.DatabaseError as exc:
        log.warning("search index rebuild in place failed (%s); recreating it", exc)
    try:
        with _transaction(conn):
            _drop_index(conn)
            _create_index(conn)
        return
    except sqlite3.DatabaseError as exc:
        log.warning("dropping the search index failed (%s); removing it from the schema", exc)
    with _transaction(conn):
        _forget_index(conn)
        _create_index(conn)
    conn.execute("VACUUM")  # the forgotten pages are unused now; this leaves them out


def rebuild_doc_index(conn: sqlite3.Connection) -> None:
    """Rebuild the documents' keyword index from their passages, whatever state it is in
    (the same three ways as :func:`rebuild_search_index`). ``conn`` is in autocommit mode."""
    rebuild = f"INSERT INTO {DOC_INDEX_TABLE} ({DOC_INDEX_TABLE}) VALUES ('rebuild')"
    try:
        with _transaction(conn):
            conn.execute(rebuild)
        return
    except sqlite3.DatabaseError as exc:
        log.warning("document index rebuild in place failed (%s); recreating it", exc)

    def recreate() -> None:
        for statement in DOC_INDEX_SQL:
            conn.execute(statement)
        conn.execute(rebuild)

    try:
        with _transaction(conn):
            for trigger in DOC_INDEX_TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            conn.execute(f"DROP TABLE IF EXISTS {DOC_INDEX_TABLE}")
            recreate()
        return
    except sqlite3.DatabaseError as exc:
        log.warning("dropping the document index failed (%s); removing it from the schema", exc)
    with _transaction(conn):
        _forget_index(conn, DOC_INDEX_TABLE, DOC_INDEX_SHADOWS, DOC_INDEX_TRIGGERS)
        recreate()
    conn.execute("VACUUM")


@contextmanager
def indexing_in_bulk(conn: sqlite3.Connection) -> Iterator[None]:
    """Inside an open write transaction: messages inserted in the block are indexed in one
    pass at its end instead of row by row by the triggers (several times faster for a
    salvage or an import of thousands of messages). Only inserts belong in the block:
    the triggers that keep the index in step with updates and deletes are away until it
    ends (in the same transaction, so no other connection ever sees them missing)."""
    last = int(conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])
    for trigger in SEARCH_INDEX_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    yield
    # The write lock is held throughout, so every id past ``last`` is one of the block's.
    conn.execute(
        f"INSERT INTO {SEARCH_INDEX_TABLE} (rowid, content) SELECT id, content FROM messages"
        " WHERE id > ? AND status <> 'streaming'",
        (last,),
    )
    for statement in SEARCH_INDEX_TRIGGER_SQL:
        conn.execute(statement)


def repair(conn: sqlite3.Connection, *, deep: bool = False) -> str | None:
    """Check the file; repair damage outside the user's data and say where it was.

    Returns None for a sound file, else what was repaired ("search index" or "unused
    space"). ``deep`` also runs FTS5's own check when SQLite finds every page sound.
    Raises ``CoreDamage`` when the conversations, messages or presets are damaged, or
    when a repair left the file still damaged. ``conn`` is in autocommit mode.
    """
    found = problems(conn)
    if not found and not (deep and not (search_index_sound(conn) and doc_index_sound(conn))):
        return None
    log.warning("conversation database damage found: %s", "; ".join(found[:5]) or "index")
    core = core_findings(conn)
    if core:
        raise CoreDamage("; ".join(core[:3]))
    where = "unused space"
    try:
        if not search_index_sound(conn):
            where = "search index"
            rebuild_search_index(conn)
        if not doc_index_sound(conn):
            where = "documents' search index"
            rebuild_doc_index(conn)
        if problems(conn):
            conn.execute("VACUUM")
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise
        raise CoreDamage(f"the {where} could not be repaired ({exc})") from exc
    left = problems(conn)
    if left:
        raise CoreDamage(f"the {where} could not be repaired ({'; '.join(left[:3])})")
    log.warning("conversation database repaired (%s)", where)
    return where
