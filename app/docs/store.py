"""Collections, files and passages in the conversation database, and the two searches
over them: BM25 (FTS5, trigram) and vectors (NumPy, see ``app.docs.vectors``).

The store opens its own connection to the database file (WAL: the window, the CLI and
the server may have it open at once) and runs the schema's migrations like every other
opener. Every change to a collection's passages happens in one transaction, so a crash
or a full disk leaves each file either as it was or fully re-indexed.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import ConfigError, StorageError
from app.core.i18n import translate
from app.core.private import make_private
from app.docs.chunking import Chunk
from app.docs.vectors import VectorMatrix, pack
from app.storage.health import is_corruption
from app.storage.schema import migrate
from app.storage.session import SqliteSession, doing_words

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# Words that carry no meaning for keyword search (BM25 gives them little weight anyway,
# but with OR queries they would let every passage match).
_STOP_WORDS = frozenset(
    (
        "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her",
        "was", "one", "our", "out", "has", "his", "how", "its", "may", "new", "now", "who",
        "did", "get", "let", "say", "she", "too", "use", "what", "when", "where", "which",
        "while", "with", "would", "about", "does", "this", "that", "there", "their",
        "them", "they", "then", "than", "from", "have", "into", "more", "some", "such",
        "will", "your", "yours", "been", "being", "were", "also", "just", "only", "other",
        "over", "very",
    )
)  # fmt: skip
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
_NAME_LIMIT = 100


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    embedding_model: str
    dimensions: int
    created_at: float
    updated_at: float
    version: int


@dataclass(frozen=True)
class CollectionSummary:
    """A collection with its counts, as ``hearth docs ls`` shows it."""

    collection: Collection
    files: int
    indexed: int
    no_text: int
    errors: int
    chunks: int
    pages: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class FileRecord:
    id: int
    collection_id: int
    path: str
    content_hash: str | None
    size: int | None
    mtime: float | None
    status: str
    error: str | None
    pages: int | None
    chunks: int


@dataclass(frozen=True)
class StoredChunk:
    """A passage as search returns it."""

    id: int
    path: str
    page: int | None
    heading: str
    text: str
    ordinal: int
    collection: str = ""  # the name of the collection it belongs to


def query_terms(query: str) -> list[str]:
    """Keyword search terms: words of three or more characters (the trigram tokenizer
    matches nothing shorter) less stop words; a run of Chinese characters gives its
    overlapping three-character windows, since Chinese puts no spaces between words."""
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        if _has_cjk(word):
            terms.extend(word[i : i + 3] for i in range(max(1, len(word) - 2)) if len(word) >= 3)
        elif len(word) >= 3 and word not in _STOP_WORDS:
            terms.append(word)
    return list(dict.fromkeys(terms))


def cjk_bigrams(query: str) -> list[str]:
    """Every two-character window of the query's Chinese runs: most Chinese words are two
    characters, which the trigram index cannot match."""
    grams: list[str] = []
    for run in _CJK_RUN.findall(query):
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return list(dict.fromkeys(grams))


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)


def check_name(name: str) -> str:
    """A collection name as typed, trimmed; ConfigError for an empty or absurd one."""
    name = " ".join(name.split())
    if not name:
        raise ConfigError(
            translate("Documents", "A collection needs a name; give one with --collection NAME.")
        )
    if len(name) > _NAME_LIMIT:
        raise ConfigError(
            translate("Documents", "A collection name has at most {name_limit} characters.").format(
                name_limit=_NAME_LIMIT
            )
        )
    return name


class DocStore(SqliteSession):
    """The documents' side of the conversation database (close, context manager and
    transactions: ``app.storage.session``)."""

    def _closed_message(self) -> str:
        return translate("Documents", "The document index is closed.")

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._vectors: dict[int, tuple[int, VectorMatrix]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            for file in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                make_private(file)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn)  # the documents' tables are schema version 4
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                translate(
                    "Storage",
                    "Could not open the document index in {path} ({exc}); start Hearth once to "
                    "check the database, then try again.",
                ).format(path=self.path, exc=exc)
            ) from exc
        self._conn: sqlite3.Connection | None = conn

    def _storage_error(self, exc: sqlite3.Error, doing: str) -> StorageError:
        return _error(exc, doing)

    # -- collections ---------------------------------------------------------------------

    def create_collection(self, name: str, embedding_model: str, dimensions: int) -> Collection:
        name = check_name(name)
        now = time.time()
        with self._write() as conn:
            if _collection_row(conn, name) is not None:
                raise ConfigError(
                    translate("Documents", "A collection named {name} already exists.").format(
                        name=repr(name)
                    )
                )
            conn.execute(
                "INSERT INTO doc_collections (name, created_at, updated_at, embedding_model,"
                " dimensions) VALUES (?, ?, ?, ?, ?)",
                (name, now, now, embedding_model, dimensions),
            )
            row = _collection_row(conn, name)
        assert row is not None
        return _collection(row)

    def get_collection(self, name: str) -> Collection | None:
        with self._read() as conn:
            row = _collection_row(conn, " ".join(name.split()))
        return _collection(row) if row is not None else None

    def collection(self, name: str) -> Collection:
        """The collection named ``name``; ConfigError naming the ones there are."""
        found = self.get_collection(name)
        if found is None:
            names = [c.name for c in self.collections()]
            known = f" (there are: {', '.join(names)})" if names else " (there are none yet)"
            raise ConfigError(
                translate(
                    "Documents",
                    "No document collection is named {name}{known}; create one with hearth docs "
                    "add PATH --collection NAME.",
                ).format(name=repr(name), known=known)
            )
        return found

    def collections(self) -> list[Collection]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM doc_collections ORDER BY name").fetchall()
        return [_collection(r) for r in rows]

    def private_collection_ids(self) -> set[int]:
        """The collections of files dropped into one conversation (hidden from the
        Documents page; deleted with their conversation)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id FROM doc_collections WHERE conversation_id IS NOT NULL"
            ).fetchall()
        return {int(r[0]) for r in rows}

    def summaries(self) -> list[CollectionSummary]:
        with self._read() as conn:
            out: list[CollectionSummary] = []
            for row in conn.execute("SELECT * FROM doc_collections ORDER BY name").fetchall():
                counts = conn.execute(
                    "SELECT count(*), "
                    " coalesce(sum(status = 'indexed'), 0), coalesce(sum(status = 'no_text'), 0),"
                    " coalesce(sum(status = 'error'), 0), coalesce(sum(chunks), 0),"
                    " coalesce(sum(pages), 0) FROM doc_files WHERE collection_id = ?",
                    (row["id"],),
                ).fetchone()
                sources = conn.execute(
                    "SELECT path FROM doc_sources WHERE collection_id = ? ORDER BY id",
                    (row["id"],),
                ).fetchall()
                files, indexed, no_text, errors, chunks, pages = (int(v) for v in counts)
                paths = tuple(str(s[0]) for s in sources)
                summary = CollectionSummary(
                    _collection(row), files, indexed, no_text, errors, chunks, pages, paths
                )
                out.append(summary)
        return out

    def remove_collection(self, name: str) -> bool:
        """Forget the collection, its files and passages (the files stay on disk)."""
        with self._write() as conn:
            row = _collection_row(conn, " ".join(name.split()))
            if row is None:
                return False
            conn.execute("DELETE FROM doc_collections WHERE id = ?", (row["id"],))
        self._vectors.pop(int(row["id"]), None)
        return True

    def replace_collection(self, old: Collection, new: Collection) -> Collection:
        """Put ``new`` (a complete re-index) in ``old``'s place under ``old``'s name, in
        one transaction: searches see the old index until the new one is whole."""
        with self._write() as conn:
            # The conversations reading the old index read the new one (and a private
            # collection stays its conversation's).
            conn.execute(
                "INSERT OR IGNORE INTO conversation_collections (conversation_id, collection_id)"
                " SELECT conversation_id, ? FROM conversation_collections WHERE collection_id = ?",
                (new.id, old.id),
            )
            conn.execute(
                "UPDATE doc_collections SET conversation_id ="
                " (SELECT conversation_id FROM doc_collections WHERE id = ?) WHERE id = ?",
                (old.id, new.id),
            )
            conn.execute("DELETE FROM doc_collections WHERE id = ?", (old.id,))
            conn.execute(
                "UPDATE doc_collections SET name = ?, created_at = ? WHERE id = ?",
                (old.name, old.created_at, new.id),
            )
            row = _collection_row(conn, old.name)
        self._vectors.pop(old.id, None)
        assert row is not None
        return _collection(row)

    # -- sources and files ---------------------------------------------------------------

    def add_source(self, collection_id: int, path: Path, *, is_folder: bool) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO doc_sources (collection_id, path, is_folder, added_at)"
                " VALUES (?, ?, ?, ?)",
                (collection_id, str(path), int(is_folder), time.time()),
            )

    def sources(self, collection_id: int) -> list[tuple[Path, bool]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT path, is_folder FROM doc_sources WHERE collection_id = ? ORDER BY id",
                (collection_id,),
            ).fetchall()
        return [(Path(r[0]), bool(r[1])) for r in rows]

    def files(self, collection_id: int) -> list[FileRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM doc_files WHERE collection_id = ? ORDER BY path", (collection_id,)
            ).fetchall()
        return [_file(r) for r in rows]

    def file(self, collection_id: int, path: str) -> FileRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM doc_files WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            ).fetchone()
        return _file(row) if row is not None else None

    def save_file(
        self,
        collection_id: int,
        path: str,
        *,
        status: str,
        content_hash: str | None = None,
        size: int | None = None,
        mtime: float | None = None,
        error: str | None = None,
        pages: int | None = None,
        chunks: Sequence[Chunk] = (),
        vectors: NDArray[np.float32] | None = None,
    ) -> FileRecord:
        """Record a file and replace its passages, all in one transaction."""
        if vectors is not None and len(vectors) != len(chunks):
            raise ValueError("one vector per passage")
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO doc_files (collection_id, path, content_hash, size, mtime, status,"
                " error, pages, chunks, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (collection_id, path) DO UPDATE SET"
                " content_hash = excluded.content_hash, size = excluded.size,"
                " mtime = excluded.mtime, status = excluded.status, error = excluded.error,"
                " pages = excluded.pages, chunks = excluded.chunks,"
                " indexed_at = excluded.indexed_at",
                (collection_id, path, content_hash, size, mtime, status, error, pages,
                 len(chunks), now),
            )  # fmt: skip
            row = conn.execute(
                "SELECT * FROM doc_files WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            ).fetchone()
            conn.execute("DELETE FROM doc_chunks WHERE file_id = ?", (row["id"],))
            conn.executemany(
                "INSERT INTO doc_chunks (file_id, ordinal, page, heading, text, tokens,"
                " embedding) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (row["id"], c.ordinal, c.page, c.heading, c.text, c.tokens,
                     pack(vectors[i]) if vectors is not None else None)
                    for i, c in enumerate(chunks)
                ],
            )  # fmt: skip
            _bump(conn, collection_id, now)
        return _file(row)

    def touch_file(self, file_id: int, size: int, mtime: float) -> None:
        """An unchanged file with a new mtime (copied, touched): remember the new stamp."""
        with self._write() as conn:
            conn.execute(
                "UPDATE doc_files SET size = ?, mtime = ? WHERE id = ?", (size, mtime, file_id)
            )

    def move_file(self, file_id: int, new_path: str, size: int, mtime: float) -> None:
        """A renamed file: the same passages under its new path."""
        with self._write() as conn:
            conn.execute(
                "UPDATE doc_files SET path = ?, size = ?, mtime = ? WHERE id = ?",
                (new_path, size, mtime, file_id),
            )
            row = conn.execute(
                "SELECT collection_id FROM doc_files WHERE id = ?", (file_id,)
            ).fetchone()
            _bump(conn, int(row[0]), time.time())

    def remove_file(self, file_id: int) -> None:
        with self._write() as conn:
            row = conn.execute(
                "SELECT collection_id FROM doc_files WHERE id = ?", (file_id,)
            ).fetchone()
            if row is None:
                return
            conn.execute("DELETE FROM doc_files WHERE id = ?", (file_id,))
            _bump(conn, int(row[0]), time.time())

    # -- search --------------------------------------------------------------------------

    def keyword_search(
        self, query: str, collection_ids: Sequence[int], limit: int
    ) -> list[tuple[int, float]]:
        """``(passage id, BM25 score)`` best first (a higher score is better)."""
        terms = query_terms(query)
        if not terms or not collection_ids:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        marks = ", ".join("?" for _ in collection_ids)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT doc_chunks_fts.rowid, bm25(doc_chunks_fts, 0.5, 1.0) AS rank"
                " FROM doc_chunks_fts"
                " JOIN doc_chunks ON doc_chunks.id = doc_chunks_fts.rowid"
                " JOIN doc_files ON doc_files.id = doc_chunks.file_id"
                f" WHERE doc_chunks_fts MATCH ? AND doc_files.collection_id IN ({marks})"
                " ORDER BY rank LIMIT ?",
                (match, *collection_ids, limit),
            ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def bigram_search(
        self, query: str, collection_ids: Sequence[int], limit: int
    ) -> list[tuple[int, float]]:
        """Chinese: passages ranked by how many of the query's two-character windows they
        contain (a scan of the collection's passages; the trigram index cannot help)."""
        grams = cjk_bigrams(query)[:32]
        if not grams or not collection_ids:
            return []
        hits = " + ".join("(instr(doc_chunks.text, ?) > 0)" for _ in grams)
        marks = ", ".join("?" for _ in collection_ids)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, hits FROM (SELECT doc_chunks.id AS id, {hits} AS hits"
                " FROM doc_chunks JOIN doc_files ON doc_files.id = doc_chunks.file_id"
                f" WHERE doc_files.collection_id IN ({marks}))"
                " WHERE hits > 0 ORDER BY hits DESC, id LIMIT ?",
                (*grams, *collection_ids, limit),
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def vector_matrix(self, collection: Collection) -> VectorMatrix:
        """The collection's passage vectors, cached until its passages change."""
        cached = self._vectors.get(collection.id)
        version = self._version(collection.id)
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._read() as conn:
            rows = conn.execute(
                "SELECT doc_chunks.id, doc_chunks.embedding FROM doc_chunks"
                " JOIN doc_files ON doc_files.id = doc_chunks.file_id"
                " WHERE doc_files.collection_id = ? AND doc_chunks.embedding IS NOT NULL",
                (collection.id,),
            ).fetchall()
        matrix = VectorMatrix.build([(int(r[0]), bytes(r[1])) for r in rows], collection.dimensions)
        self._vectors[collection.id] = (version, matrix)
        return matrix

    def _version(self, collection_id: int) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT version FROM doc_collections WHERE id = ?", (collection_id,)
            ).fetchone()
        return int(row[0]) if row is not None else -1

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT doc_chunks.id, doc_files.path, doc_chunks.page, doc_chunks.heading,"
                " doc_chunks.text, doc_chunks.ordinal, doc_collections.name FROM doc_chunks"
                " JOIN doc_files ON doc_files.id = doc_chunks.file_id"
                " JOIN doc_collections ON doc_collections.id = doc_files.collection_id"
                f" WHERE doc_chunks.id IN ({marks})",
                tuple(ids),
            ).fetchall()
        return {
            int(r[0]): StoredChunk(
                int(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]), int(r[5]), str(r[6])
            )
            for r in rows
        }


def _bump(conn: sqlite3.Connection, collection_id: int, now: float) -> None:
    conn.execute(
        "UPDATE doc_collections SET version = version + 1, updated_at = ? WHERE id = ?",
        (now, collection_id),
    )


def _collection_row(conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM doc_collections WHERE name = ?", (name,)
    ).fetchone()
    return row


def _collection(row: sqlite3.Row) -> Collection:
    return Collection(
        id=int(row["id"]),
        name=str(row["name"]),
        embedding_model=str(row["embedding_model"]),
        dimensions=int(row["dimensions"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        version=int(row["version"]),
    )


def _file(row: sqlite3.Row) -> FileRecord:
    return FileRecord(
        id=int(row["id"]),
        collection_id=int(row["collection_id"]),
        path=str(row["path"]),
        content_hash=row["content_hash"],
        size=row["size"],
        mtime=row["mtime"],
        status=str(row["status"]),
        error=row["error"],
        pages=row["pages"],
        chunks=int(row["chunks"]),
    )


def _error(exc: sqlite3.Error, doing: str) -> StorageError:
    text = str(exc).lower()
    if "full" in text:
        return StorageError(
            translate(
                "Storage",
                "Could not {doing} the document index: the disk is full; free some space and add "
                "the files again (nothing indexed before was lost).",
            ).format(doing=doing_words(doing))
        )
    if is_corruption(exc):
        return StorageError(
            translate(
                "Storage",
                "Could not {doing} the document index: the database file is damaged; open "
                "Hearth's window once to repair it, keeping what can be read.",
            ).format(doing=doing_words(doing))
        )
    return StorageError(
        translate("Storage", "Could not {doing} the document index ({exc}).").format(
            doing=doing_words(doing), exc=exc
        )
    )
