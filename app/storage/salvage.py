"""Salvage: copy what can still be read from a damaged conversation database, row by row.

Python's sqlite3 has no ``.recover`` (that is a feature of the sqlite3 shell), so each
table is walked by rowid: in batches while its B-tree reads, one row at a time near
damage, and past a damaged page by searching for the first rowid that can be sought
again (a seek into a damaged page fails, a seek past it lands on the next good one).
A row whose own data is damaged (an overflow page) is skipped alone. Text that is not
valid UTF-8 is kept with U+FFFD in place of the bad bytes.

Rows go into the new database with their ids, so an id the window still holds means the
same message. Messages whose conversation row was lost get a "Recovered conversation".
The damaged file is never written to: a copy of it (with its ``-wal``, which may hold the
latest commits) in a temporary folder beside it is what gets read.

Images come back with the messages that list them, one at a time (a damaged image is
skipped alone, and is known by its bytes no longer matching its SHA-256); images no
salvaged message lists are left behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage.salvage_docs import SalvagedDocuments, salvage_documents

log = logging.getLogger(__name__)

_BATCH = 256
_MAX_ROWID = 2**63 - 1
_DAMAGED = -1  # rowids of these tables are positive
_ROLES = frozenset({"system", "user", "assistant"})
_STATUSES = frozenset({"complete", "stopped", "error"})
PLACEHOLDER_TITLE = "Recovered conversation"
# Tables whose AUTOINCREMENT counter is carried over (an id is never given twice).
_SEQUENCED = frozenset(
    {"conversations", "messages", "doc_collections", "doc_sources", "doc_files", "doc_chunks"}
)

_CONVERSATION_COLUMNS = (
    "id",
    "title",
    "created_at",
    "updated_at",
    "pinned",
    "model",
    "system_prompt",
    "settings_json",
    "uid",
)
_MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "role",
    "content",
    "created_at",
    "status",
    "model",
    "stats_json",
    "params_json",
    "reasoning",
    "tools",
    "sources",
)


@dataclass
class Salvaged:
    """What was copied into the new database."""

    conversations: int = 0
    messages: int = 0
    presets: int = 0
    placeholders: int = 0  # conversations recreated for messages whose own row was lost
    skipped_rows: int = 0  # rows found but unreadable or invalid
    images: int = 0  # images kept with the salvaged messages
    documents: SalvagedDocuments = field(default_factory=SalvagedDocuments)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _json_list(value: Any) -> str | None:
    """The JSON text if it holds a list of objects, else None (a damaged value is dropped)."""
    if not isinstance(value, str):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    ok = isinstance(items, list) and all(isinstance(item, dict) for item in items)
    return value if ok else None


def _json_object(value: Any) -> str | None:
    """The JSON text if it holds an object, else None (a damaged value is dropped)."""
    if not isinstance(value, str):
        return None
    try:
        return value if isinstance(json.loads(value), dict) else None
    except ValueError:
        return None


class _Reader:
    """Rows of a damaged file, read around the damage."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.unreadable = 0
        self.damaged: set[str] = set()  # tables where some rows could not be reached

    def columns(self, table: str, wanted: tuple[str, ...]) -> tuple[str, ...]:
        """The ``wanted`` columns ``table`` has; empty if its schema cannot be read."""
        try:
            have = {str(r[1]) for r in self.conn.execute(f"PRAGMA table_info({table})")}
        except sqlite3.DatabaseError as exc:
            log.warning("salvage: the schema of %s cannot be read: %s", table, exc)
            have = set()
        if not have:
            self.damaged.add(table)
        return tuple(c for c in wanted if c in have)

    def rows(self, table: str, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        """Every readable row of ``table`` in rowid order, as ``{column: value}``."""
        if not columns:
            return
        select = f"SELECT {', '.join(columns)} FROM {table}"
        batches = f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ?"
        last = 0  # AUTOINCREMENT ids start at 1
        while True:
            try:
                batch = self.conn.execute(
                    f"{batches} ORDER BY rowid LIMIT ?", (last, _BATCH)
                ).fetchall()
            except sqlite3.DatabaseError:
                batch = None
            if batch is not None:
                if not batch:
                    return
                for row in batch:
                    yield dict(zip(columns, row[1:], strict=True))
                last = int(batch[-1][0])
                continue
            next_id = self._next_rowid(table, last)
            if next_id is None:
                return
            if next_id == _DAMAGED:
                # A damaged page: carry on after it. The first rowid a seek reaches again
                # is sought directly too: "rowid > it" starts past it.
                self.damaged.add(table)
                next_id = self._past_damage(table, last)
                if next_id >= _MAX_ROWID:
                    return
            try:
                row = self.conn.execute(f"{select} WHERE rowid = ?", (next_id,)).fetchone()
            except sqlite3.DatabaseError as exc:
                log.warning("salvage: %s row %d is unreadable: %s", table, next_id, exc)
                self.unreadable += 1
                self.damaged.add(table)
                row = None
            if row is not None:
                yield dict(zip(columns, row, strict=True))
            last = next_id

    def _seek_ok(self, table: str, after: int) -> bool:
        try:
            self._next(table, after)
        except sqlite3.DatabaseError:
            return False
        return True

    def _next(self, table: str, after: int) -> int | None:
        row = self.conn.execute(
            f"SELECT rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1", (after,)
        ).fetchone()
        return None if row is None else int(row[0])

    def _next_rowid(self, table: str, after: int) -> int | None:
        """The next rowid (reading no row data), None at the end, ``_DAMAGED`` when the
        seek runs into a damaged page."""
        try:
            return self._next(table, after)
        except sqlite3.DatabaseError:
            return _DAMAGED

    def _past_damage(self, table: str, bad: int) -> int:
        """The smallest ``x > bad`` from which rows can be sought again: rows between
        ``bad`` and ``x`` (both excluded) lie on the damaged page. ``_MAX_ROWID`` when
        no seek past ``bad`` works."""
        start, step = bad, 1
        good = bad + step
        while not self._seek_ok(table, good):
            bad = good
            step *= 2
            good = bad + step
            if good >= _MAX_ROWID:
                return _MAX_ROWID
        while good - bad > 1:
            middle = (bad + good) // 2
            if self._seek_ok(table, middle):
                good = middle
            else:
                bad = middle
        log.warning("salvage: %s rows %d..%d lie on a damaged page", table, start + 1, good - 1)
        return good


@contextmanager
def _readable_copy(source: Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """A connection to a copy of ``source`` (with its -wal, checkpointed into it) that
    SQLite may write to, and the copy's path; ``source`` itself, opened so that nothing
    is written, when there is no room for a copy."""
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix=".salvage-", dir=source.parent))
        copy = folder / source.name
        shutil.copyfile(source, copy)
        wal = Path(f"{source}-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(f"{copy}-wal"))
        conn = sqlite3.connect(copy, isolation_level=None)
        try:  # the page scan reads the file itself: the WAL's pages go into it first
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError as exc:
            log.warning("salvage: checkpoint of the copy failed: %s", exc)
    except OSError as exc:
        log.warning("salvage: no copy of %s (%s); reading it in place", source, exc)
        # immutable: no lock, no journal, no WAL; the file is read and never written.
        copy = source
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?immutable=1", uri=True)
    conn.text_factory = lambda data: data.decode("utf-8", "replace")
    try:
        yield conn, copy
    finally:
        conn.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


class _Writer:
    """Rows into the new database, each conversation and message once."""

    def __init__(self, target: sqlite3.Connection) -> None:
        self.target = target
        self.conversations: set[int] = set()
        self.placeholders: set[int] = set()
        self.messages: set[int] = set()
        self.skipped = 0

    def conversation(self, row: dict[str, Any]) -> None:
        cid = row.get("id")
        if cid in self.placeholders:  # its real row turned up after its messages
            if _update_placeholder(self.target, row):
                self.placeholders.discard(int(row["id"]))
            return
        if cid in self.conversations:
            return
        if _insert_conversation(self.target, row):
            self.conversations.add(int(row["id"]))
        else:
            self.skipped += 1

    def message(self, row: dict[str, Any]) -> None:
        if row.get("id") in self.messages:
            return
        owner = row.get("conversation_id")
        if (
            isinstance(owner, int)
            and owner not in self.conversations
            and _insert_placeholder(self.target, owner, _time(row.get("created_at")))
        ):
            self.conversations.add(owner)
            self.placeholders.add(owner)
        if _insert_message(self.target, row):
            self.messages.add(int(row["id"]))
        else:
            self.skipped += 1


def _shape(values: list[Any], columns: tuple[str, ...], rowid: int) -> dict[str, Any]:
    row = dict(zip(columns, values, strict=False))
    row["id"] = rowid  # an INTEGER PRIMARY KEY is the rowid; the record holds NULL
    return row


def _scanned(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Conversation and message rows on the file's leaf pages, told apart by shape.

    The shapes are the tables' columns in the latest schema (a migration that changes
    those tables must change these checks too).
    """
    from app.storage.pagescan import table_leaf_rows

    lengths = (len(_CONVERSATION_COLUMNS) - 1, len(_CONVERSATION_COLUMNS))
    # Messages written before the reasoning and tools columns (schema 3) have three
    # values fewer, those written before the sources column (schema 5) one fewer.
    message_lengths = (len(_MESSAGE_COLUMNS) - 3, len(_MESSAGE_COLUMNS) - 1, len(_MESSAGE_COLUMNS))
    for found in table_leaf_rows(path):
        v = found.values
        if not v or v[0] is not None:
            continue
        if (
            len(v) in message_lengths
            and isinstance(v[1], int)
            and v[2] in _ROLES
            and isinstance(v[3], str)
        ):
            yield "messages", _shape(v, _MESSAGE_COLUMNS, found.rowid)
        # Rows written before the uid column was added have one value fewer.
        elif (
            len(v) in lengths
            and isinstance(v[1], str)
            and _time(v[2]) is not None
            and v[4] in (0, 1)
        ):
            yield "conversations", _shape(v, _CONVERSATION_COLUMNS, found.rowid)


def salvage(source: Path, target: sqlite3.Connection) -> Salvaged:
    """Copy every readable conversation, message and user preset of the damaged file
    ``source`` into ``target``, a freshly created database inside an open transaction.

    Rows come through SQL first; when that meets damage in the conversations or the
    messages, the file's pages are scanned too for rows cut off from their table.
    """
    writer = _Writer(target)
    result = Salvaged()
    with _readable_copy(source) as (conn, copy):
        reader = _Reader(conn)
        columns = reader.columns("conversations", _CONVERSATION_COLUMNS)
        for row in reader.rows("conversations", columns):
            writer.conversation(row)
        columns = reader.columns("messages", _MESSAGE_COLUMNS)
        for row in reader.rows("messages", columns):
            writer.message(row)
        if reader.damaged & {"conversations", "messages"}:
            found = len(writer.messages)
            for table, row in _scanned(copy):
                if table == "conversations":
                    writer.conversation(row)
                else:
                    writer.message(row)
            log.warning(
                "salvage: the page scan found %d more messages", len(writer.messages) - found
            )
        _fit_placeholders(target, writer.placeholders)
        result.images = _salvage_images(reader, target, writer.messages)
        columns = reader.columns("presets", ("name", "system_prompt", "builtin"))
        for row in reader.rows("presets", columns):
            if row.get("builtin") == 0 and _insert_preset(target, row):
                result.presets += 1
        result.documents = salvage_documents(reader, target, writer.conversations)
        columns = reader.columns("sqlite_sequence", ("name", "seq"))
        _keep_sequences(target, list(reader.rows("sqlite_sequence", columns)))
    result.conversations = len(writer.conversations)
    result.messages = len(writer.messages)
    result.placeholders = len(writer.placeholders)
    result.skipped_rows = writer.skipped + reader.unreadable
    log.warning("salvage of %s: %s", source, result)
    return result


def _insert_conversation(target: sqlite3.Connection, row: dict[str, Any]) -> bool:
    created = _time(row.get("created_at"))
    if not isinstance(row.get("id"), int) or created is None:
        return False
    uid = _text(row.get("uid")) or uuid.uuid4().hex
    try:
        target.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, pinned, model,"
            " system_prompt, settings_json, uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["id"],
                _text(row.get("title")) or "",
                created,
                _time(row.get("updated_at")) or created,
                1 if row.get("pinned") == 1 else 0,
                _text(row.get("model")),
                _text(row.get("system_prompt")),
                _json_object(row.get("settings_json")) or "{}",
                uid,
            ),
        )
    except sqlite3.IntegrityError as exc:
        log.warning("salvage: conversation %s skipped: %s", row.get("id"), exc)
        return False
    return True


def _insert_placeholder(target: sqlite3.Connection, owner: int, when: float | None) -> bool:
    now = when if when is not None else 0.0
    try:
        target.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, uid)"
            " VALUES (?, ?, ?, ?, ?)",
            (owner, PLACEHOLDER_TITLE, now, now, uuid.uuid4().hex),
        )
    except sqlite3.IntegrityError:
        return False
    return True


def _update_placeholder(target: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """Give a recreated conversation the fields of its real row, found later."""
    created = _time(row.get("created_at"))
    if created is None:
        return False
    target.execute(
        "UPDATE conversations SET title = ?, created_at = ?, updated_at = ?, pinned = ?,"
        " model = ?, system_prompt = ?, settings_json = ?, uid = coalesce(?, uid)"
        " WHERE id = ?",
        (
            _text(row.get("title")) or "",
            created,
            _time(row.get("updated_at")) or created,
            1 if row.get("pinned") == 1 else 0,
            _text(row.get("model")),
            _text(row.get("system_prompt")),
            _json_object(row.get("settings_json")) or "{}",
            _text(row.get("uid")),
            row["id"],
        ),
    )
    return True


def _fit_placeholders(target: sqlite3.Connection, placeholders: set[int]) -> None:
    """Give recreated conversations the times of the messages they hold."""
    for owner in placeholders:
        target.execute(
            "UPDATE conversations SET"
            " created_at = (SELECT min(created_at) FROM messages WHERE conversation_id = ?),"
            " updated_at = (SELECT max(created_at) FROM messages WHERE conversation_id = ?)"
            " WHERE id = ? AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?)",
            (owner, owner, owner, owner),
        )


def _insert_message(target: sqlite3.Connection, row: dict[str, Any]) -> bool:
    created = _time(row.get("created_at"))
    content = row.get("content")
    if (
        not isinstance(row.get("id"), int)
        or not isinstance(row.get("conversation_id"), int)
        or row.get("role") not in _ROLES
        or not isinstance(content, str)
        or created is None
    ):
        return False
    status = row.get("status")
    # A reply that was streaming is finished now: nobody is writing it any more.
    status = status if status in _STATUSES else "stopped"
    try:
        target.execute(
            "INSERT INTO messages (id, conversation_id, role, content, created_at, status,"
            " model, stats_json, params_json, reasoning, tools, sources)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["id"],
                row["conversation_id"],
                row["role"],
                content,
                created,
                status,
                _text(row.get("model")),
                _json_object(row.get("stats_json")),
                _json_object(row.get("params_json")),
                _text(row.get("reasoning")),
                _json_list(row.get("tools")),
                _json_list(row.get("sources")),
            ),
        )
    except sqlite3.IntegrityError as exc:
        log.warning("salvage: message %s skipped: %s", row.get("id"), exc)
        return False
    return True


_IMAGE_COLUMNS = ("sha256", "mime", "width", "height", "name", "data", "created_at")
_MIMES = frozenset({"image/png", "image/jpeg"})


def _salvage_images(reader: _Reader, target: sqlite3.Connection, messages: set[int]) -> int:
    """Copy the images of the salvaged messages and their order; returns how many."""
    kept: set[str] = set()
    ids = reader.columns("images", ("id",))
    wanted = reader.columns("images", _IMAGE_COLUMNS)
    if len(wanted) == len(_IMAGE_COLUMNS):
        select = f"SELECT {', '.join(wanted)} FROM images WHERE id = ?"
        # One row at a time: images are large, a batch of them would take the memory.
        for found in reader.rows("images", ids):
            try:
                row = reader.conn.execute(select, (found["id"],)).fetchone()
            except sqlite3.DatabaseError as exc:
                log.warning("salvage: image %s is unreadable: %s", found["id"], exc)
                reader.unreadable += 1
                continue
            if row is not None and _insert_image(target, dict(zip(wanted, row, strict=True))):
                kept.add(str(row[0]))
    columns = reader.columns("message_images", ("message_id", "position", "sha256"))
    for link in reader.rows("message_images", columns):
        if link.get("message_id") in messages and link.get("sha256") in kept:
            target.execute(
                "INSERT OR IGNORE INTO message_images (message_id, position, sha256)"
                " VALUES (?, ?, ?)",
                (link["message_id"], link["position"], link["sha256"]),
            )
    # Images whose messages were lost go too (the trigger only acts on deleted links).
    cur = target.execute(
        "DELETE FROM images WHERE NOT EXISTS"
        " (SELECT 1 FROM message_images l WHERE l.sha256 = images.sha256)"
    )
    return len(kept) - cur.rowcount


def _insert_image(target: sqlite3.Connection, row: dict[str, Any]) -> bool:
    data, sha256 = row.get("data"), row.get("sha256")
    if not isinstance(data, bytes) or hashlib.sha256(data).hexdigest() != sha256:
        log.warning("salvage: image %.12s is damaged (its bytes no longer match)", sha256)
        return False
    width, height = row.get("width"), row.get("height")
    if row.get("mime") not in _MIMES or not all(
        isinstance(n, int) and n > 0 for n in (width, height)
    ):
        return False
    cur = target.execute(
        "INSERT OR IGNORE INTO images (sha256, mime, width, height, name, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            sha256,
            row["mime"],
            width,
            height,
            _text(row.get("name")),
            data,
            _time(row.get("created_at")) or 0.0,
        ),
    )
    return cur.rowcount > 0


def _insert_preset(target: sqlite3.Connection, row: dict[str, Any]) -> bool:
    name, prompt = _text(row.get("name")), _text(row.get("system_prompt"))
    if not name or prompt is None:
        return False
    cur = target.execute(
        "INSERT OR IGNORE INTO presets (name, system_prompt) VALUES (?, ?)", (name, prompt)
    )
    return cur.rowcount > 0


def _keep_sequences(target: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Carry the AUTOINCREMENT counters over, so no id of the old file is given again."""
    for row in rows:
        name, seq = row.get("name"), row.get("seq")
        if name not in _SEQUENCED or not isinstance(seq, int):
            continue
        cur = target.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name)
        )
        if cur.rowcount == 0:
            target.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
