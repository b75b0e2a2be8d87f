"""The conversation database's schema and its migrations.

The schema version lives in ``PRAGMA user_version``. ``MIGRATIONS[n - 1]`` holds the SQL
statements that take a database from version ``n - 1`` to ``n``; version 0 is an empty
file. Migrations are append-only: a released entry is never edited, a change is a new
entry. All pending ones run in a single transaction, so a crash half-way leaves the file
at its old version.

Search uses an FTS5 table with the ``trigram`` tokenizer: it matches any substring of
three or more characters, in any script, with no word segmentation (Chinese and Japanese
have no spaces between words, which defeats ``unicode61``). Shorter terms are matched
with ``LIKE`` by the store. The index is *external content* (it stores no copy of the
text) kept in sync by triggers, and it skips replies that are still streaming: their
text changes several times a second and re-indexing each flush would only churn
the index. A reply is indexed when it is finished, or stopped by startup recovery.
"""

from __future__ import annotations

import sqlite3

from app.core.errors import StorageError
from app.core.i18n import translate


class DatabaseTooNewError(StorageError):
    """The file was written by a newer Hearth whose schema this version cannot read."""


class DatabaseCorruptError(StorageError):
    """The file is damaged; it has been moved aside to ``moved_to`` and left there."""

    def __init__(self, message: str, moved_to: str) -> None:
        super().__init__(message)
        self.moved_to = moved_to


BUILTIN_PRESETS: tuple[tuple[str, str], ...] = (
    (
        "Assistant",
        "You are Hearth, a helpful assistant running privately on this computer. "
        "Answer clearly and accurately, and say so when you are not sure.",
    ),
    (
        "Concise",
        "Answer in as few words as the question allows. No preamble, no repetition.",
    ),
    (
        "Programmer",
        "You are an experienced programmer. Give working code in fenced code blocks "
        "that name their language, then explain briefly what it does and why.",
    ),
    (
        "Translator",
        "Translate the user's text. If the text is English, translate it into the "
        "language the user names, or French if none is named; otherwise translate it "
        "into English. Reply with the translation only.",
    ),
    (
        "Tutor",
        "You are a patient tutor. Explain step by step, check understanding with a short "
        "question, and never just hand over the answer to an exercise.",
    ),
)


def _seed_presets() -> list[str]:
    # SQL literals rather than parameters: a migration is a plain list of statements.
    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return [
        "INSERT INTO presets (name, system_prompt, builtin) "
        f"VALUES ({quote(name)}, {quote(prompt)}, 1)"
        for name, prompt in BUILTIN_PRESETS
    ]


# The search index as the latest schema defines it: ``app.storage.health`` recreates it
# from these when it is damaged. A migration that changes the index must change these
# too (and then copy the old text into the older migration, which must not change).
SEARCH_INDEX_TABLE = "messages_fts"
SEARCH_INDEX_SHADOWS: tuple[str, ...] = tuple(
    f"messages_fts_{suffix}" for suffix in ("data", "idx", "docsize", "config", "content")
)
SEARCH_INDEX_TRIGGERS: tuple[str, ...] = (
    "messages_fts_insert",
    "messages_fts_delete",
    "messages_fts_update",
)
_FTS_TABLE = """
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content, content = 'messages', content_rowid = 'id', tokenize = 'trigram'
    )
    """
# An external-content 'delete' must be given exactly the text that was indexed, hence
# the same status condition on both sides. The update is one trigger so the old text is
# un-indexed before the new is indexed (SQLite orders separate triggers by itself).
_FTS_TRIGGERS: tuple[str, ...] = (
    """
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.status <> 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END
    """,
    """
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.status <> 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
    END
    """,
    """
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content WHERE old.status <> 'streaming';
        INSERT INTO messages_fts (rowid, content)
        SELECT new.id, new.content WHERE new.status <> 'streaming';
    END
    """,
)
SEARCH_INDEX_TRIGGER_SQL: tuple[str, ...] = _FTS_TRIGGERS
SEARCH_INDEX_SQL: tuple[str, ...] = (_FTS_TABLE, *_FTS_TRIGGERS)

_V1: list[str] = [
    # AUTOINCREMENT: ids are never reused, so an id the GUI still holds (say, of a reply
    # whose conversation was just deleted) can never point at someone else's row.
    """
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        title         TEXT    NOT NULL DEFAULT '',
        created_at    REAL    NOT NULL,
        updated_at    REAL    NOT NULL,
        pinned        INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        model         TEXT,
        system_prompt TEXT,
        settings_json TEXT    NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX conversations_by_order ON conversations (pinned DESC, updated_at DESC)",
    """
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content         TEXT    NOT NULL DEFAULT '',
        created_at      REAL    NOT NULL,
        status          TEXT    NOT NULL DEFAULT 'complete'
                        CHECK (status IN ('complete', 'streaming', 'stopped', 'error')),
        model           TEXT,
        stats_json      TEXT,
        params_json     TEXT
    )
    """,
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
    # Startup recovery looks for interrupted replies; a partial index keeps that instant.
    "CREATE INDEX messages_streaming ON messages (id) WHERE status = 'streaming'",
    """
    CREATE TABLE presets (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        system_prompt TEXT    NOT NULL,
        builtin       INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1))
    )
    """,
    _FTS_TABLE,
    *_FTS_TRIGGERS,
    *_seed_presets(),
]

# Every conversation gets a random identity that travels with its exports, so importing
# the same file twice adds nothing the second time (see app.storage.transfer).
_V2: list[str] = [
    "ALTER TABLE conversations ADD COLUMN uid TEXT",
    "UPDATE conversations SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL",
    "CREATE UNIQUE INDEX conversations_by_uid ON conversations (uid)",
]

# An assistant message may carry the model's thinking apart from its answer
# (``reasoning``) and the tool calls made on the way to it (``tools``: a JSON list of
# ``{"id", "name", "arguments", "result", "ok", "elapsed_s", "status"}``). Both stay
# NULL for every other message; neither is searched.
_V3: list[str] = [
    "ALTER TABLE messages ADD COLUMN reasoning TEXT",
    "ALTER TABLE messages ADD COLUMN tools TEXT",
]

# The user's documents (app.docs), beside the conversations: one file, one backup.
# Collections record the embedding model their vectors come from (never compared across
# models) and a ``version`` that every change to their passages raises (caches key on
# it). ``doc_sources`` are the files and folders the user added; ``doc_files`` one row
# per file found, with its content hash, size and mtime (unchanged files are skipped),
# status and one-sentence error; ``doc_chunks`` the passages, with page, heading trail,
# tokens and the embedding as little-endian float32 bytes. ``doc_chunks_fts`` indexes
# heading and text with the trigram tokenizer, external content synced by triggers.
_V4: list[str] = [
    """
    CREATE TABLE doc_collections (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        created_at      REAL    NOT NULL,
        updated_at      REAL    NOT NULL,
        embedding_model TEXT    NOT NULL,
        dimensions      INTEGER NOT NULL CHECK (dimensions > 0),
        version         INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE doc_sources (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        collection_id INTEGER NOT NULL REFERENCES doc_collections (id) ON DELETE CASCADE,
        path          TEXT    NOT NULL,
        is_folder     INTEGER NOT NULL CHECK (is_folder IN (0, 1)),
        added_at      REAL    NOT NULL,
        UNIQUE (collection_id, path)
    )
    """,
    """
    CREATE TABLE doc_files (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        collection_id INTEGER NOT NULL REFERENCES doc_collections (id) ON DELETE CASCADE,
        path          TEXT    NOT NULL,
        content_hash  TEXT,
        size          INTEGER,
        mtime         REAL,
        status        TEXT    NOT NULL CHECK (status IN ('indexed', 'no_text', 'error')),
        error         TEXT,
        pages         INTEGER,
        chunks        INTEGER NOT NULL DEFAULT 0,
        indexed_at    REAL    NOT NULL,
        UNIQUE (collection_id, path)
    )
    """,
    """
    CREATE TABLE doc_chunks (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id   INTEGER NOT NULL REFERENCES doc_files (id) ON DELETE CASCADE,
        ordinal   INTEGER NOT NULL,
        page      INTEGER,
        heading   TEXT    NOT NULL DEFAULT '',
        text      TEXT    NOT NULL,
        tokens    INTEGER NOT NULL,
        embedding BLOB
    )
    """,
    "CREATE INDEX doc_chunks_by_file ON doc_chunks (file_id, ordinal)",
    """
    CREATE VIRTUAL TABLE doc_chunks_fts USING fts5 (
        heading, text, content = 'doc_chunks', content_rowid = 'id', tokenize = 'trigram'
    )
    """,
    """
    CREATE TRIGGER doc_chunks_fts_insert AFTER INSERT ON doc_chunks BEGIN
        INSERT INTO doc_chunks_fts (rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END
    """,
    """
    CREATE TRIGGER doc_chunks_fts_delete AFTER DELETE ON doc_chunks BEGIN
        INSERT INTO doc_chunks_fts (doc_chunks_fts, rowid, heading, text)
        VALUES ('delete', old.id, old.heading, old.text);
    END
    """,
    """
    CREATE TRIGGER doc_chunks_fts_update AFTER UPDATE OF heading, text ON doc_chunks BEGIN
        INSERT INTO doc_chunks_fts (doc_chunks_fts, rowid, heading, text)
        VALUES ('delete', old.id, old.heading, old.text);
        INSERT INTO doc_chunks_fts (rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END
    """,
]

# The documents' keyword index, as ``app.storage.health`` recreates it when damaged
# (external content: rebuilt from doc_chunks, losing nothing).
DOC_INDEX_TABLE = "doc_chunks_fts"
DOC_INDEX_SHADOWS: tuple[str, ...] = tuple(
    f"doc_chunks_fts_{suffix}" for suffix in ("data", "idx", "docsize", "config")
)
DOC_INDEX_TRIGGERS: tuple[str, ...] = (
    "doc_chunks_fts_insert",
    "doc_chunks_fts_delete",
    "doc_chunks_fts_update",
)
DOC_INDEX_SQL: tuple[str, ...] = tuple(s for s in _V4 if "doc_chunks_fts" in s)

# Documents in conversations. An assistant message answered from documents keeps the
# passages it cited (``sources``: a JSON list of ``{"n", "path", "page", "heading",
# "text", "collection"}`` in citation order). A conversation reads the collections linked
# in ``conversation_collections``; files dropped into one conversation go into a
# collection of its own (``doc_collections.conversation_id``), hidden from the Documents
# page and deleted with the conversation.
_V5: list[str] = [
    "ALTER TABLE messages ADD COLUMN sources TEXT",
    "ALTER TABLE doc_collections ADD COLUMN conversation_id INTEGER "
    "REFERENCES conversations (id) ON DELETE CASCADE",
    """
    CREATE TABLE conversation_collections (
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        collection_id   INTEGER NOT NULL REFERENCES doc_collections (id) ON DELETE CASCADE,
        PRIMARY KEY (conversation_id, collection_id)
    )
    """,
]

# Images in conversations (app.vision.images.PreparedImage): each stored once per SHA-256
# of its bytes in ``images`` (PNG or JPEG, upright, metadata-free; ``name`` is the file
# name it first came with), and listed in order for each message in ``message_images``.
# The trigger deletes an image as soon as no message lists it any more, whichever way
# its last message went (a deleted conversation, an edit, a regenerate, a salvage).
_V6: list[str] = [
    """
    CREATE TABLE images (
        id         INTEGER PRIMARY KEY,
        sha256     TEXT    NOT NULL UNIQUE,
        mime       TEXT    NOT NULL CHECK (mime IN ('image/png', 'image/jpeg')),
        width      INTEGER NOT NULL CHECK (width > 0),
        height     INTEGER NOT NULL CHECK (height > 0),
        name       TEXT,
        data       BLOB    NOT NULL,
        created_at REAL    NOT NULL
    )
    """,
    """
    CREATE TABLE message_images (
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        position   INTEGER NOT NULL CHECK (position >= 0),
        sha256     TEXT    NOT NULL REFERENCES images (sha256),
        PRIMARY KEY (message_id, position)
    )
    """,
    "CREATE INDEX message_images_by_image ON message_images (sha256)",
    """
    CREATE TRIGGER message_images_release AFTER DELETE ON message_images
    WHEN NOT EXISTS (SELECT 1 FROM message_images WHERE sha256 = old.sha256) BEGIN
        DELETE FROM images WHERE sha256 = old.sha256;
    END
    """,
]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    tuple(_V1),
    tuple(_V2),
    tuple(_V3),
    tuple(_V4),
    tuple(_V5),
    tuple(_V6),
)
LATEST_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The version recorded in the file (0 for a new, empty one)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def too_new_error(version: int) -> DatabaseTooNewError:
    """The error for a file at schema ``version``, newer than this Hearth knows."""
    return DatabaseTooNewError(
        translate(
            "Storage",
            "The conversation database was created by a newer Hearth (schema version "
            "{version}; this Hearth reads up to {latest}). Update Hearth to "
            "open it.",
        ).format(version=version, latest=LATEST_VERSION)
    )


def migrate(conn: sqlite3.Connection) -> tuple[int, int]:
    """Bring the schema up to ``LATEST_VERSION`` in one transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the versions
    before and after. Raises ``DatabaseTooNewError`` for a file from a newer Hearth and
    ``StorageError`` when a migration fails (the file is then left untouched).
    """
    # IMMEDIATE takes the write lock before reading the version, so two processes
    # starting at once cannot both run the same migration.
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        if before > LATEST_VERSION:
            raise too_new_error(before)
        for version in range(before + 1, LATEST_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
        if before != LATEST_VERSION:
            # PRAGMA takes no parameters; the value is our own integer.
            conn.execute(f"PRAGMA user_version = {LATEST_VERSION:d}")
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        # Disk full, locked, I/O: say so. Corruption (a plain DatabaseError) is left to
        # the caller, which moves the file aside.
        if isinstance(exc, sqlite3.OperationalError):
            raise StorageError(
                translate(
                    "Storage",
                    "The conversation database could not be upgraded to schema version "
                    "{latest_version} ({exc}); it was left as it was.",
                ).format(latest_version=LATEST_VERSION, exc=exc)
            ) from exc
        raise
    return before, LATEST_VERSION
