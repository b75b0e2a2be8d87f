"""Salvage of the documents' tables: collections, their sources, files and passages (with
their vectors), and the collections conversations read, copied out of a damaged file.

Documents are never lost silently. What is read back keeps its ids; a file whose
passages were not all readable is left out whole (its row and the passages that were
read), so the next update of its collection finds it new and indexes it again; so is
a file whose own row was lost. A collection whose own row was lost cannot be named
again: its files are counted as lost, to be added again by the user.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.storage.salvage import _Reader

log = logging.getLogger(__name__)

_COLLECTION_COLUMNS = (
    "id",
    "name",
    "created_at",
    "updated_at",
    "embedding_model",
    "dimensions",
    "version",
    "conversation_id",
)
_SOURCE_COLUMNS = ("id", "collection_id", "path", "is_folder", "added_at")
_FILE_COLUMNS = (
    "id",
    "collection_id",
    "path",
    "content_hash",
    "size",
    "mtime",
    "status",
    "error",
    "pages",
    "chunks",
    "indexed_at",
)
_CHUNK_COLUMNS = ("id", "file_id", "ordinal", "page", "heading", "text", "tokens", "embedding")


@dataclass
class SalvagedDocuments:
    """What came back of the documents."""

    collections: int = 0
    files: int = 0
    passages: int = 0
    to_reindex: int = 0  # files left out whole, indexed again at their collection's update
    lost_collections: int = 0  # collections whose own row was unreadable


def _insert(target: sqlite3.Connection, table: str, row: dict[str, Any]) -> bool:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    try:
        target.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
    except sqlite3.Error as exc:  # a damaged value breaks a constraint: the row is left out
        log.warning("salvage: %s row %s skipped: %s", table, row.get("id"), exc)
        return False
    return True


def salvage_documents(
    reader: _Reader, target: sqlite3.Connection, conversations: set[int]
) -> SalvagedDocuments:
    """Copy the documents' rows ``reader`` can read into ``target`` (inside the salvage's
    transaction); ``conversations`` are the ids of the conversations salvaged."""
    result = SalvagedDocuments()
    collections: set[int] = set()
    columns = reader.columns("doc_collections", _COLLECTION_COLUMNS)
    for row in reader.rows("doc_collections", columns):
        owner = row.get("conversation_id")
        if owner is not None and owner not in conversations:
            continue  # a conversation's private collection goes with its conversation
        if _insert(target, "doc_collections", row):
            collections.add(int(row["id"]))
    columns = reader.columns("doc_sources", _SOURCE_COLUMNS)
    for row in reader.rows("doc_sources", columns):
        if row.get("collection_id") in collections:
            _insert(target, "doc_sources", row)

    files: dict[int, dict[str, Any]] = {}
    orphans: set[Any] = set()
    columns = reader.columns("doc_files", _FILE_COLUMNS)
    for row in reader.rows("doc_files", columns):
        if row.get("collection_id") in collections:
            files[int(row["id"])] = row
        else:
            orphans.add(row.get("collection_id"))
    chunks: dict[int, list[dict[str, Any]]] = {}
    files_without_row: set[Any] = set()
    columns = reader.columns("doc_chunks", _CHUNK_COLUMNS)
    for row in reader.rows("doc_chunks", columns):
        file_id = row.get("file_id")
        if file_id in files:
            chunks.setdefault(int(file_id), []).append(row)
        else:
            files_without_row.add(file_id)

    for file_id, row in files.items():
        found = chunks.get(file_id, [])
        if row.get("status") == "indexed" and len(found) != row.get("chunks"):
            result.to_reindex += 1  # some passages unreadable: indexed again, whole
            continue
        if not _insert(target, "doc_files", row):
            result.to_reindex += 1
            continue
        result.files += 1
        for chunk in found:
            result.passages += _insert(target, "doc_chunks", chunk)
    # Passages whose file row was lost: the file is found again by the next update.
    result.to_reindex += len(files_without_row)
    result.collections = len(collections)
    result.lost_collections = len({o for o in orphans if o is not None})

    columns = reader.columns("conversation_collections", ("conversation_id", "collection_id"))
    for row in reader.rows("conversation_collections", columns):
        if row.get("conversation_id") in conversations and row.get("collection_id") in collections:
            _insert(target, "conversation_collections", row)
    statuses = Counter(str(r.get("status")) for r in files.values())
    log.warning("salvage of the documents: %s (files by status: %s)", result, dict(statuses))
    return result
