"""``ConversationStore``: conversations, messages, presets and search in one SQLite file.

Durability: WAL journal with ``synchronous=NORMAL``. A commit is in the ``-wal`` file
(the OS page cache) when it returns, so everything committed survives the app being
killed (``kill -9``, a crash, the OOM killer). Only an OS crash or power cut can lose
the last commits before the next checkpoint; the file is still consistent then, just
slightly older. ``FULL`` would fsync on every reply flush for that rare case.

Streaming replies: ``append_reply`` is called once per token and only buffers the delta
in memory. The buffer is written in one short transaction when the ``FlushPolicy`` says
so (its oldest delta is ``interval_s`` old, or it holds ``max_chars``), checked on each
append. A stalled stream is covered by calling ``flush_if_due()`` from a timer; a kill
loses at most the deltas of the last interval. ``finish_reply`` writes the rest.

Threads: one connection per store, guarded by a lock, so any thread may call in; keep
calls on the GUI thread short (they are single small transactions).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Literal, Self, get_args

from app.core.errors import StorageError
from app.core.generation import GenerationParams, GenerationStats, Message
from app.core.i18n import translate
from app.core.paths import AppPaths, app_paths
from app.core.private import make_private
from app.storage import health, notice, seen
from app.storage.notice import StorageNotice
from app.storage.schema import (
    LATEST_VERSION,
    DatabaseCorruptError,
    migrate,
    schema_version,
    too_new_error,
)
from app.storage.session import SqliteSession, doing_words
from app.vision.images import PreparedImage

log = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]
Status = Literal["complete", "streaming", "stopped", "error"]
FinalStatus = Literal["complete", "stopped", "error"]
_ROLES: frozenset[str] = frozenset(get_args(Role))
_FINAL: frozenset[str] = frozenset(get_args(FinalStatus))

DATABASE_NAME = "conversations.sqlite3"
# Private-use characters around each match in SearchHit.snippet: they cannot clash
# with message text or with markup the UI adds after escaping.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"
# The trigram index needs three characters; shorter terms are matched with LIKE.
_MIN_FTS_TERM = 3
_MAX_TERMS = 16
_MAX_QUERY_CHARS = 1000
_INSERT_MESSAGE = (
    "INSERT INTO messages (conversation_id, role, content, created_at, status,"
    " model, stats_json, params_json, reasoning, tools, sources)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def default_database_path(paths: AppPaths | None = None) -> Path:
    """Where the conversation database lives: ``<data_dir>/conversations.sqlite3``."""
    return (paths or app_paths()).data_dir / DATABASE_NAME


@dataclass(frozen=True)
class FlushPolicy:
    """When buffered reply deltas are written: by age of the oldest, or by size."""

    interval_s: float = 0.2
    max_chars: int = 4096

    def due(self, pending_chars: int, oldest_age_s: float) -> bool:
        """Whether a buffer this large, whose oldest delta is this old, must be written."""
        return pending_chars > 0 and (
            pending_chars >= self.max_chars or oldest_age_s >= self.interval_s
        )


@dataclass(frozen=True)
class Conversation:
    """One chat. Times are Unix seconds; ``settings`` is remembered per conversation
    (preset name, sampling parameters, context length, GPU layers, ...); ``uid`` is its
    identity across exports and imports (``id`` is only this database's)."""

    id: int
    title: str
    created_at: float
    updated_at: float
    pinned: bool
    model: str | None
    system_prompt: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    uid: str = ""


@dataclass(frozen=True)
class StoredMessage:
    """One message as stored; ``stats`` and ``params`` are the JSON objects saved with it.

    An assistant message may also hold ``reasoning`` (the model's thinking, apart from
    the answer in ``content``) and ``tools``: the tool calls of its turn, in order, each
    ``{"id", "name", "arguments", "result", "ok", "elapsed_s", "status"}``. An answer
    grounded in documents holds ``sources``: the passages it was given, in citation order,
    each ``{"n", "path", "page", "heading", "text", "collection"}``; an empty list means
    the documents were searched and nothing relevant was found (None: not grounded).
    A user message may show ``images``: their SHA-256 hashes in order
    (``ConversationStore.image`` gives each one back).
    """

    id: int
    conversation_id: int
    role: Role
    content: str
    created_at: float
    status: Status
    model: str | None
    stats: dict[str, Any] | None
    params: dict[str, Any] | None
    reasoning: str | None = None
    tools: list[dict[str, Any]] | None = None
    sources: list[dict[str, Any]] | None = None
    images: tuple[str, ...] = ()

    def as_message(self) -> Message:
        """The ``{"role", "content"}`` form the engine takes."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search. ``snippet`` wraps matches in HIGHLIGHT_START/END;
    ``rank`` is bm25 (lower is better; 0.0 when only short terms were searched)."""

    conversation_id: int
    message_id: int
    conversation_title: str
    role: Role
    snippet: str
    rank: float

    @property
    def plain_snippet(self) -> str:
        return self.snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")

    def snippet_html(self, tag: str = "b") -> str:
        """The snippet as escaped HTML with each match in ``<tag>``."""
        html = escape(self.snippet)
        return html.replace(HIGHLIGHT_START, f"<{tag}>").replace(HIGHLIGHT_END, f"</{tag}>")


@dataclass(frozen=True)
class AttachedCollection:
    """A document collection a conversation reads; ``private`` when it holds the files
    dropped into that conversation (it goes with the conversation)."""

    id: int
    name: str
    private: bool


@dataclass(frozen=True)
class Preset:
    """A named system prompt. Built-in ones come with Hearth and are read-only."""

    id: int
    name: str
    system_prompt: str
    builtin: bool


@dataclass
class _Reply:
    """Deltas of a streaming reply received but not yet written."""

    parts: list[str] = field(default_factory=list)
    chars: int = 0


def derive_title(text: str, max_chars: int = 60) -> str:
    """A conversation title from a user message: its first line of prose, shortened."""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith(("```", "~~~")):
            continue
        # Markdown decoration (heading, quote, list marker) is not part of the title.
        line = re.sub(r"^(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)", "", stripped)
        line = " ".join(line.split())
        if line:
            break
    else:
        return ""
    if len(line) <= max_chars:
        return line
    cut = line[: max_chars - 1]
    space = cut.rfind(" ")
    if space >= max_chars // 2:  # break at a word when there is one (not in Chinese)
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def parse_query(text: str) -> list[str]:
    """Split user search text into literal terms; ``"quoted words"`` stay one term.

    Nothing in the result is FTS5 syntax: every term is later quoted as a phrase, so
    operators (AND, OR, NEAR, ``*``, ``^``, ``:``, parentheses) are searched literally.
    """
    # Control and format characters (NUL, newlines, zero-width) become separators.
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text[:_MAX_QUERY_CHARS])
    terms: list[str] = []
    for match in re.finditer(r'"([^"]*)"|(\S+)', cleaned):
        term = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        if term and term not in terms:
            terms.append(term)
    return terms[:_MAX_TERMS]


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def make_snippet(text: str, terms: list[str], width: int = 96) -> str:
    """About ``width`` characters of ``text`` around the first match, matches marked."""
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE
    )
    first = pattern.search(text)
    start = max(0, first.start() - width // 3) if first else 0
    end = min(len(text), max(start + width, first.end() if first else 0))
    window = pattern.sub(lambda m: f"{HIGHLIGHT_START}{m.group(0)}{HIGHLIGHT_END}", text[start:end])
    window = " ".join(window.split())
    return ("…" if start > 0 else "") + window + ("…" if end < len(text) else "")


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN and infinities (a zero-length timing) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _dumps(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def _loads(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        log.warning("unreadable JSON in the conversation database: %.80r", text)
        return None
    return value if isinstance(value, dict) else None


def _dumps_list(value: Sequence[Mapping[str, Any]] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(_finite(list(value)), ensure_ascii=False, allow_nan=False)


def _loads_list(text: str | None) -> list[dict[str, Any]] | None:
    """A stored JSON list of objects; None (logged) when it is anything else."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        log.warning("unreadable list in the conversation database: %.80r", text)
        return None
    return value


def params_to_dict(params: GenerationParams) -> dict[str, Any]:
    """GenerationParams as a JSON object (its tuples as lists)."""
    data = asdict(params)
    data["stop"] = list(params.stop)
    data["logit_bias"] = [[token, bias] for token, bias in params.logit_bias]
    data["template_vars"] = [[name, value] for name, value in params.template_vars]
    data["loras"] = [[path, scale] for path, scale in params.loras]
    data.pop("kv_key", None)  # which conversation a reply went to: not a setting
    # Voice mode's threads for a reply's first piece, from this machine's cores: not a
    # setting either (another machine has its own).
    data.pop("lead_threads", None)
    data.pop("prefill", None)  # a warm-up's, never a stored reply's
    return data


def params_from_dict(data: Mapping[str, Any]) -> GenerationParams:
    """GenerationParams from ``params_to_dict`` output; unknown keys are ignored."""
    known = set(GenerationParams.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in known}
    if "stop" in values:
        values["stop"] = tuple(values["stop"])
    if "logit_bias" in values:
        values["logit_bias"] = tuple((int(t), float(b)) for t, b in values["logit_bias"])
    if "template_vars" in values:
        values["template_vars"] = tuple((str(n), v) for n, v in values["template_vars"])
    if "loras" in values:
        values["loras"] = tuple((str(path), float(scale)) for path, scale in values["loras"])
    return GenerationParams(**values)


def _storage_error(exc: sqlite3.Error, doing: str) -> StorageError:
    """A user-facing StorageError for an SQLite failure while ``doing`` something."""
    text = str(exc).lower()
    reason: str
    if "full" in text:
        reason = translate("Storage", "the disk is full; free some space and try again")
    elif "readonly" in text or "read-only" in text:
        reason = translate("Storage", "the file is read-only")
    elif "locked" in text or "busy" in text:
        reason = translate("Storage", "another program is holding it locked")
    elif health.is_corruption(exc):
        reason = translate(
            "Storage", "the file is damaged; restart Hearth to repair it, keeping what can be read"
        )
    else:
        reason = str(exc)
    return StorageError(
        translate("Storage", "Could not {doing} the conversation database: {reason}.").format(
            doing=doing_words(doing), reason=reason
        )
    )


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal/-shm) to a free ``.corrupt-<time>`` name."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    # Never over an earlier damaged file, nor over a -wal an earlier one left alone.
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    # The WAL may hold committed pages: it travels with the file, never dropped.
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
    return target


class ConversationStore(SqliteSession):
    """All conversations of one user, in one SQLite file.

    Opening checks the file (``app.storage.health``): damage outside the messages (the
    search index) is repaired in place, keeping everything. It runs pending migrations
    and turns replies left ``'streaming'`` by a killed app into ``'stopped'`` (their
    text is kept). What the user should hear about (a repair, a database that held
    conversations and is now missing or empty) is left in ``notice``. Raises
    ``DatabaseTooNewError`` for a file from a newer Hearth, ``DatabaseCorruptError`` when
    the messages themselves are damaged (after moving the file aside; ``open_resilient``
    then salvages it) and ``StorageError``.
    """

    def _closed_message(self) -> str:
        return translate("Storage", "The conversation database is closed.")

    def __init__(
        self,
        path: Path | str,
        *,
        flush_policy: FlushPolicy | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        verify: bool = True,
        recover: bool = True,
        expect_new: bool = False,
    ) -> None:
        """``clock`` stamps rows; ``monotonic`` drives the flush policy (inject both in
        tests). ``verify`` checks (and repairs) the file on open; ``recover`` stops
        replies left streaming (turn it off for a second process on the same file);
        ``expect_new`` says a new file is no loss (the old one was just set aside)."""
        self._expect_new = expect_new
        self.path = Path(path)
        self.flush_policy = flush_policy or FlushPolicy()
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._replies: dict[int, _Reply] = {}
        self._pending_chars = 0
        self._pending_since: float | None = None
        self.recovered_replies = 0
        self.notice: StorageNotice | None = None
        self._marked = False  # whether the "has held conversations" marker is written
        self._conn: sqlite3.Connection | None = self._open(verify=verify, recover=recover)

    @classmethod
    def open_resilient(cls, path: Path | str, **kwargs: Any) -> tuple[Self, StorageNotice | None]:
        """Open ``path``, whatever state it is in, and return what to tell the user.

        When the messages are damaged the file is set aside (never deleted, never over
        an earlier one) and everything readable is salvaged into a new database there.
        """
        try:
            store = cls(path, **kwargs)
            return store, store.notice
        except DatabaseCorruptError as exc:
            log.error("%s", exc)
            moved = Path(exc.moved_to)
        from app.storage.salvage import salvage

        store = cls(path, **{**kwargs, "expect_new": True})
        with store._write() as conn, health.indexing_in_bulk(conn):
            found = salvage(moved, conn)
        if found.conversations:
            seen.mark(store.path)
            store._marked = True
        store.notice = notice.salvaged(moved, found.conversations, found.messages, found.documents)
        log.error("%s", store.notice)
        return store, store.notice

    # -- opening -------------------------------------------------------------------------

    def _open(self, *, verify: bool, recover: bool) -> sqlite3.Connection:
        size = _file_size(self.path)  # before SQLite creates it: None when missing
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            # Private before the first write: SQLite gives -wal/-shm the file's own mode.
            for file in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                make_private(file)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                translate(
                    "Storage", "Could not open the conversation database {path}: {exc}."
                ).format(path=self.path, exc=exc)
            ) from exc
        try:
            try:
                before = self._prepare(conn, verify=verify, recover=recover)
            except sqlite3.DatabaseError as exc:
                if not health.is_corruption(exc):
                    raise
                # Damage the open-time check skipped or could not see (a search index
                # that quick_check finds sound but FTS5 cannot open): look closer, once.
                log.warning("conversation database failed to open (%s); checking it", exc)
                before = self._prepare(conn, verify=True, recover=recover, deep=True)
            self._check_history(conn, before, size)
        except (health.CoreDamage, sqlite3.DatabaseError) as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error) and not health.is_corruption(exc):
                raise _storage_error(exc, "open") from exc
            try:
                moved = _move_aside(self.path)
            except OSError as move_exc:
                raise StorageError(
                    translate(
                        "Storage",
                        "The conversation database {path} is damaged ({exc}) and could not be "
                        "moved aside ({move_exc}); move or rename it by hand.",
                    ).format(path=self.path, exc=exc, move_exc=move_exc)
                ) from exc
            raise DatabaseCorruptError(
                translate(
                    "Storage",
                    "The conversation database was damaged ({error}); it was moved to "
                    "{moved} and kept there.",
                ).format(error=exc, moved=moved),
                str(moved),
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(
        self, conn: sqlite3.Connection, *, verify: bool, recover: bool, deep: bool = False
    ) -> int:
        """Check, repair, migrate and recover; returns the schema version found (0: new).
        ``deep`` checks the search index even when SQLite finds the pages sound."""
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        # Refuse a newer file before writing anything to it (even the journal mode).
        version = schema_version(conn)
        if version > LATEST_VERSION:
            raise too_new_error(version)
        repaired = health.repair(conn, deep=deep) if verify else None
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if mode.lower() != "wal":  # e.g. a file system without shared memory
            log.warning("conversation database runs in %s mode, not WAL", mode)
        conn.execute("PRAGMA synchronous = NORMAL")
        before, after = migrate(conn)
        if before != after:
            log.info("conversation database migrated from schema %d to %d", before, after)
        if recover:
            cur = conn.execute("UPDATE messages SET status = 'stopped' WHERE status = 'streaming'")
            self.recovered_replies = cur.rowcount
            if cur.rowcount:
                log.info("marked %d interrupted replies as stopped", cur.rowcount)
        if repaired is not None:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)"
            ).fetchone()
            self.notice = notice.repaired(repaired, int(counts[0]), int(counts[1]))
        return before

    def _check_history(self, conn: sqlite3.Connection, before: int, size: int | None) -> None:
        """Report a new database where one with conversations was (once); mark one that
        holds conversations, so its loss can be reported."""
        if before == 0 and not self._expect_new and seen.has_held_conversations(self.path):
            self.notice = notice.vanished(self.path, size)
            log.error("%s", self.notice)
            seen.forget(self.path)
        elif conn.execute("SELECT 1 FROM conversations LIMIT 1").fetchone() is not None:
            seen.mark(self.path)
            self._marked = True

    # -- the connection (close, transactions: app.storage.session) ----------------------

    def _before_close(self) -> None:
        """close() writes buffered reply text first."""
        self._flush_locked()

    def _storage_error(self, exc: sqlite3.Error, doing: str) -> StorageError:
        return _storage_error(exc, doing)

    # -- conversations -------------------------------------------------------------------

    def create_conversation(
        self,
        title: str = "",
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """A new, empty conversation. An empty title is derived from the first user message."""
        now = self._clock()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, model,"
                " system_prompt, settings_json, uid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    title.strip(),
                    now,
                    now,
                    model,
                    system_prompt,
                    _dumps(settings or {}),
                    uuid.uuid4().hex,
                ),
            )
            conversation_id = int(cur.lastrowid or 0)
        self._mark_history()
        return self.get_conversation(conversation_id)

    def restore_conversations(
        self,
        items: Sequence[tuple[Conversation, Sequence[StoredMessage]]],
        *,
        images: Mapping[str, PreparedImage] | None = None,
    ) -> list[int | None]:
        """Add conversations as they were exported, all or none (one transaction).

        Each keeps its title, times, pin, model, system prompt, settings, uid and its
        messages' roles, text, times, status, model, figures, parameters, reasoning,
        tool calls, sources and images (``images`` holds, by hash, every image a message
        lists that this database lacks); the ids in the objects are ignored and new ones
        given. A reply exported while streaming is restored as stopped. Returns each
        one's new id, or None where a conversation with the same uid is already here (it
        is left as it is).
        """
        pictures = images or {}
        added: list[int | None] = []
        with self._write() as conn, health.indexing_in_bulk(conn):
            for conversation, messages in items:
                uid = conversation.uid or uuid.uuid4().hex
                if conn.execute("SELECT 1 FROM conversations WHERE uid = ?", (uid,)).fetchone():
                    added.append(None)
                    continue
                cur = conn.execute(
                    "INSERT INTO conversations (title, created_at, updated_at, pinned, model,"
                    " system_prompt, settings_json, uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        conversation.title,
                        conversation.created_at,
                        conversation.updated_at,
                        int(conversation.pinned),
                        conversation.model,
                        conversation.system_prompt,
                        _dumps(conversation.settings),
                        uid,
                    ),
                )
                conversation_id = int(cur.lastrowid or 0)
                rows = [
                    (
                        conversation_id,
                        m.role,
                        m.content,
                        m.created_at,
                        "stopped" if m.status == "streaming" else m.status,
                        m.model,
                        _dumps(m.stats),
                        _dumps(m.params),
                        m.reasoning,
                        _dumps_list(m.tools),
                        _dumps_list(m.sources),
                    )
                    for m in messages
                ]
                if not any(m.images for m in messages):
                    conn.executemany(_INSERT_MESSAGE, rows)
                else:  # one by one: a message's images need its new id
                    for m, row in zip(messages, rows, strict=True):
                        message_id = int(conn.execute(_INSERT_MESSAGE, row).lastrowid or 0)
                        _link_images(conn, message_id, m.images, pictures, self._clock())
                added.append(conversation_id)
        if any(a is not None for a in added):
            self._mark_history()
        return added

    def _mark_history(self) -> None:
        if not self._marked:
            seen.mark(self.path)
            self._marked = True

    def get_conversation(self, conversation_id: int) -> Conversation:
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            raise _missing_conversation(conversation_id)
        return _conversation(row)

    def list_conversations(self, limit: int | None = None) -> list[Conversation]:
        """Pinned conversations first, then the most recently active."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM conversations ORDER BY pinned DESC, updated_at DESC, id DESC"
                " LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [_conversation(r) for r in rows]

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self._update_conversation(conversation_id, "title = ?", title.strip())

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update_conversation(conversation_id, "pinned = ?", int(pinned))

    def set_conversation_model(self, conversation_id: int, model: str | None) -> None:
        self._update_conversation(conversation_id, "model = ?", model)

    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> None:
        self._update_conversation(conversation_id, "system_prompt = ?", system_prompt)

    def _update_conversation(self, conversation_id: int, assignment: str, value: Any) -> None:
        # ``assignment`` is always one of the literals above, never user text.
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE conversations SET {assignment} WHERE id = ?", (value, conversation_id)
            )
            if cur.rowcount == 0:
                raise _missing_conversation(conversation_id)

    def delete_conversation(self, conversation_id: int) -> bool:
        """Delete a conversation and (by cascade) its messages; False if it was gone."""
        with self._write("delete from") as conn:
            cur = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        self._forget_missing_replies()
        return cur.rowcount > 0

    def get_conversation_settings(self, conversation_id: int) -> dict[str, Any]:
        return self.get_conversation(conversation_id).settings

    def update_conversation_settings(
        self, conversation_id: int, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Merge ``changes`` into the remembered settings (a None value removes the key)."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT settings_json FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise _missing_conversation(conversation_id)
            settings = _loads(row[0]) or {}
            for key, value in changes.items():
                if value is None:
                    settings.pop(key, None)
                else:
                    settings[key] = value
            conn.execute(
                "UPDATE conversations SET settings_json = ? WHERE id = ?",
                (_dumps(settings), conversation_id),
            )
        return settings

    # -- document collections ------------------------------------------------------------

    def attached_collections(self, conversation_id: int) -> list[AttachedCollection]:
        """The collections this conversation reads, by name (its private one included)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT c.id, c.name, c.conversation_id IS NOT NULL AS private"
                " FROM conversation_collections l JOIN doc_collections c"
                " ON c.id = l.collection_id WHERE l.conversation_id = ?"
                " ORDER BY c.name COLLATE NOCASE",
                (conversation_id,),
            ).fetchall()
        return [AttachedCollection(int(r[0]), str(r[1]), bool(r[2])) for r in rows]

    def shared_collections(self) -> list[AttachedCollection]:
        """The user's own collections (none of a conversation's private ones), by name:
        what a conversation may attach."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, name FROM doc_collections WHERE conversation_id IS NULL"
                " ORDER BY name COLLATE NOCASE"
            ).fetchall()
        return [AttachedCollection(int(r[0]), str(r[1]), False) for r in rows]

    def attach_collection(self, conversation_id: int, collection_id: int) -> None:
        """Let the conversation read the collection (nothing happens when it already does)."""
        with self._write() as conn:
            self._touch(conn, conversation_id, self._clock())
            try:
                conn.execute(
                    "INSERT OR IGNORE INTO conversation_collections"
                    " (conversation_id, collection_id) VALUES (?, ?)",
                    (conversation_id, collection_id),
                )
            except sqlite3.IntegrityError as exc:  # the collection was removed meanwhile
                raise StorageError(
                    translate(
                        "Storage",
                        "Document collection {collection_id} does not exist (it may have been "
                        "removed); choose another one.",
                    ).format(collection_id=collection_id)
                ) from exc

    def detach_collection(self, conversation_id: int, collection_id: int) -> bool:
        """Stop reading the collection; False when it was not attached. A private
        collection stays with its conversation (attach it again to read it)."""
        with self._write() as conn:
            cur = conn.execute(
                "DELETE FROM conversation_collections WHERE conversation_id = ?"
                " AND collection_id = ?",
                (conversation_id, collection_id),
            )
        return cur.rowcount > 0

    def own_collection(self, conversation_id: int, collection_id: int) -> None:
        """Make the collection the conversation's private one (files dropped into it:
        hidden from the Documents page, deleted with the conversation) and attach it."""
        with self._write() as conn:
            self._touch(conn, conversation_id, self._clock())
            cur = conn.execute(
                "UPDATE doc_collections SET conversation_id = ? WHERE id = ?",
                (conversation_id, collection_id),
            )
            if cur.rowcount == 0:
                raise StorageError(
                    translate(
                        "Storage",
                        "Document collection {collection_id} does not exist (it may have been "
                        "removed); drop the files again.",
                    ).format(collection_id=collection_id)
                )
            conn.execute(
                "INSERT OR IGNORE INTO conversation_collections"
                " (conversation_id, collection_id) VALUES (?, ?)",
                (conversation_id, collection_id),
            )

    def private_collection(self, conversation_id: int) -> AttachedCollection | None:
        """The collection of files dropped into this conversation, if it has one."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, name FROM doc_collections WHERE conversation_id = ?"
                " ORDER BY id LIMIT 1",
                (conversation_id,),
            ).fetchone()
        return AttachedCollection(int(row[0]), str(row[1]), True) if row else None

    # -- messages ------------------------------------------------------------------------

    def get_messages(self, conversation_id: int) -> list[StoredMessage]:
        """The conversation's messages in order, streaming ones with their buffered text."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
            links = conn.execute(
                "SELECT l.message_id, l.sha256 FROM message_images l JOIN messages m"
                " ON m.id = l.message_id WHERE m.conversation_id = ?"
                " ORDER BY l.message_id, l.position",
                (conversation_id,),
            ).fetchall()
            images: dict[int, list[str]] = {}
            for message_id, sha256 in links:
                images.setdefault(int(message_id), []).append(str(sha256))
            return [self._message(r, tuple(images.get(r["id"], ()))) for r in rows]

    def get_message(self, message_id: int) -> StoredMessage:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                raise _missing_message(message_id)
            return self._message(row, _image_list(conn, message_id))

    # -- images --------------------------------------------------------------------------

    def image(self, sha256: str) -> PreparedImage:
        """The stored image with this hash (as ``app.vision.images.prepare_image`` made it;
        ``name`` is the file name it first came with). ``StorageError`` when no message
        holds it (any more)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT sha256, mime, width, height, name, data FROM images WHERE sha256 = ?",
                (sha256,),
            ).fetchone()
        if row is None:
            raise StorageError(
                translate(
                    "Storage",
                    "Image {value} is not in the conversation database (its message may have "
                    "been deleted); attach the image again.",
                ).format(value=sha256[:12])
            )
        return _prepared(row)

    def message_images(self, message_id: int) -> list[PreparedImage]:
        """A message's images in order (empty for most messages)."""
        with self._read() as conn:
            self._conversation_of(conn, message_id)  # a missing message is an error
            rows = conn.execute(
                "SELECT i.sha256, i.mime, i.width, i.height, i.name, i.data"
                " FROM message_images l JOIN images i ON i.sha256 = l.sha256"
                " WHERE l.message_id = ? ORDER BY l.position",
                (message_id,),
            ).fetchall()
        return [_prepared(r) for r in rows]

    def set_images(self, message_id: int, images: Sequence[PreparedImage]) -> None:
        """Replace a message's images (edit before resending); images no other message
        holds are deleted with their last link."""
        with self._write() as conn:
            self._conversation_of(conn, message_id)
            conn.execute("DELETE FROM message_images WHERE message_id = ?", (message_id,))
            _add_images(conn, message_id, images, self._clock())

    def image_bytes_total(self) -> int:
        """Bytes the stored images take (each counted once, however many messages hold it)."""
        with self._read() as conn:
            row = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM images").fetchone()
        return int(row[0])

    def add_message(
        self,
        conversation_id: int,
        role: Role,
        content: str,
        *,
        model: str | None = None,
        status: FinalStatus = "complete",
        stats: GenerationStats | Mapping[str, Any] | None = None,
        params: GenerationParams | Mapping[str, Any] | None = None,
        reasoning: str | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        sources: Sequence[Mapping[str, Any]] | None = None,
        images: Sequence[PreparedImage] = (),
    ) -> int:
        """Append a finished message and return its id. The first user message of an
        untitled conversation gives it its title. ``images`` (a user message's, in order)
        are stored once per hash, however many messages hold them."""
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}")
        if status not in _FINAL:
            raise ValueError(f"add_message takes a final status, not {status!r}")
        now = self._clock()
        with self._write() as conn:
            self._touch(conn, conversation_id, now)
            cur = conn.execute(
                _INSERT_MESSAGE,
                (
                    conversation_id,
                    role,
                    content,
                    now,
                    status,
                    model,
                    _stats_json(stats),
                    _params_json(params),
                    reasoning,
                    _dumps_list(tools),
                    _dumps_list(sources),
                ),
            )
            _add_images(conn, int(cur.lastrowid or 0), images, now)
            if role == "user":
                title = derive_title(content)
                if title:
                    conn.execute(
                        "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                        (title, conversation_id),
                    )
            return int(cur.lastrowid or 0)

    def set_reasoning(self, message_id: int, reasoning: str | None) -> None:
        """Store (or, with None, clear) a message's thinking; works while it streams."""
        self._set_column(message_id, "reasoning = ?", reasoning)

    def set_tools(self, message_id: int, tools: Sequence[Mapping[str, Any]] | None) -> None:
        """Store (or, with None, clear) the tool calls of a message's turn, replacing
        the list held before; works while it streams (call it as each call ends)."""
        self._set_column(message_id, "tools = ?", _dumps_list(tools))

    def set_sources(self, message_id: int, sources: Sequence[Mapping[str, Any]] | None) -> None:
        """Store the passages an answer was given (``[]``: searched, nothing relevant;
        None: not grounded); works while it streams."""
        self._set_column(message_id, "sources = ?", _dumps_list(sources))

    def _set_column(self, message_id: int, assignment: str, value: Any) -> None:
        # ``assignment`` is always one of the literals above, never user text.
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE messages SET {assignment} WHERE id = ?", (value, message_id)
            )
            if cur.rowcount == 0:
                raise _missing_message(message_id)

    def edit_message(self, message_id: int, content: str) -> int:
        """Replace a message's text and delete every later message of its conversation
        (edit-and-resend). Returns how many were deleted."""
        now = self._clock()
        with self._write() as conn:
            conversation_id = self._conversation_of(conn, message_id)
            conn.execute("UPDATE messages SET content = ? WHERE id = ?", (content, message_id))
            deleted = self._delete_after(conn, conversation_id, message_id)
            self._touch(conn, conversation_id, now)
        self._drop_reply(message_id)  # the new text replaces any buffered deltas
        self._forget_missing_replies()
        return deleted

    def delete_messages_after(self, message_id: int) -> int:
        """Delete the messages after this one in its conversation (regenerate); count."""
        with self._write("delete from") as conn:
            conversation_id = self._conversation_of(conn, message_id)
            deleted = self._delete_after(conn, conversation_id, message_id)
        self._forget_missing_replies()
        return deleted

    def delete_messages_from(self, message_id: int) -> int:
        """Delete this message and the later ones of its conversation; count."""
        with self._write("delete from") as conn:
            conversation_id = self._conversation_of(conn, message_id)
            deleted = self._delete_after(conn, conversation_id, message_id - 1)
        self._forget_missing_replies()
        return deleted

    @staticmethod
    def _delete_after(conn: sqlite3.Connection, conversation_id: int, message_id: int) -> int:
        cur = conn.execute(
            "DELETE FROM messages WHERE conversation_id = ? AND id > ?",
            (conversation_id, message_id),
        )
        return cur.rowcount

    # -- streaming replies ---------------------------------------------------------------

    def begin_reply(
        self,
        conversation_id: int,
        model: str | None,
        *,
        params: GenerationParams | Mapping[str, Any] | None = None,
    ) -> int:
        """Add an empty assistant message with status 'streaming'; return its id."""
        now = self._clock()
        with self._write() as conn:
            self._touch(conn, conversation_id, now)
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at, status,"
                " model, params_json) VALUES (?, 'assistant', '', ?, 'streaming', ?, ?)",
                (conversation_id, now, model, _params_json(params)),
            )
            message_id = int(cur.lastrowid or 0)
            self._replies[message_id] = _Reply()
        return message_id

    def append_reply(self, message_id: int, delta: str) -> None:
        """Buffer a token's text; write the buffer when the flush policy says so.

        Deltas for a reply that is no longer streaming (finished, edited, deleted) are
        dropped: a token racing a Stop must not raise on the GUI thread.
        """
        if not delta:
            return
        with self._lock:
            reply = self._replies.get(message_id)
            if reply is None:
                log.debug("delta for reply %d, which is not streaming; dropped", message_id)
                return
            reply.parts.append(delta)
            reply.chars += len(delta)
            self._pending_chars += len(delta)
            now = self._monotonic()
            if self._pending_since is None:
                self._pending_since = now
            if self.flush_policy.due(self._pending_chars, now - self._pending_since):
                self._flush_locked()

    def flush_if_due(self) -> bool:
        """Write buffered deltas if the policy says so (call from a timer); True if written."""
        with self._lock:
            if self._pending_since is None:
                return False
            age = self._monotonic() - self._pending_since
            if not self.flush_policy.due(self._pending_chars, age):
                return False
            self._flush_locked()
            return True

    def flush(self) -> None:
        """Write all buffered reply deltas now."""
        with self._lock:
            self._flush_locked()

    @property
    def unflushed_chars(self) -> int:
        """Characters of reply text received but not yet written."""
        return self._pending_chars

    def _flush_locked(self) -> None:
        pending = [(mid, r) for mid, r in self._replies.items() if r.parts]
        if not pending:
            self._pending_chars, self._pending_since = 0, None
            return
        try:
            with self._write() as conn:
                gone = [
                    mid
                    for mid, reply in pending
                    if conn.execute(
                        "UPDATE messages SET content = content || ?"
                        " WHERE id = ? AND status = 'streaming'",
                        ("".join(reply.parts), mid),
                    ).rowcount
                    == 0
                ]
        except StorageError:
            # Keep the text and retry after another interval, not on every token.
            self._pending_since = self._monotonic()
            raise
        for _, reply in pending:
            reply.parts.clear()
            reply.chars = 0
        for mid in gone:  # deleted or stopped elsewhere: nothing more to write
            del self._replies[mid]
        self._pending_chars, self._pending_since = 0, None

    def finish_reply(
        self,
        message_id: int,
        status: FinalStatus = "complete",
        stats: GenerationStats | Mapping[str, Any] | None = None,
    ) -> None:
        """Write the rest of a streaming reply and its final status and figures.

        Does nothing if the message is gone or no longer streaming.
        """
        if status not in _FINAL:
            raise ValueError(f"finish_reply takes a final status, not {status!r}")
        with self._lock:
            reply = self._replies.get(message_id)
            tail = "".join(reply.parts) if reply else ""
            with self._write() as conn:
                cur = conn.execute(
                    "UPDATE messages SET content = content || ?, status = ?,"
                    " stats_json = coalesce(?, stats_json)"
                    " WHERE id = ? AND status = 'streaming'",
                    (tail, status, _stats_json(stats), message_id),
                )
                if cur.rowcount:
                    conn.execute(
                        "UPDATE conversations SET updated_at = ? WHERE id ="
                        " (SELECT conversation_id FROM messages WHERE id = ?)",
                        (self._clock(), message_id),
                    )
            self._drop_reply(message_id)

    # -- presets -------------------------------------------------------------------------

    def list_presets(self) -> list[Preset]:
        """Built-in presets first, then the user's, each by name."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM presets ORDER BY builtin DESC, name COLLATE NOCASE"
            ).fetchall()
        return [_preset(r) for r in rows]

    def get_preset(self, preset_id: int) -> Preset:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM presets WHERE id = ?", (preset_id,)).fetchone()
        if row is None:
            raise StorageError(
                translate(
                    "Storage", "Preset {preset_id} does not exist (it may have been deleted)."
                ).format(preset_id=preset_id)
            )
        return _preset(row)

    def create_preset(self, name: str, system_prompt: str) -> Preset:
        name = _preset_name(name)
        with self._write() as conn:
            try:
                cur = conn.execute(
                    "INSERT INTO presets (name, system_prompt) VALUES (?, ?)",
                    (name, system_prompt),
                )
            except sqlite3.IntegrityError as exc:
                raise _duplicate_preset(name) from exc
            preset_id = int(cur.lastrowid or 0)
        return self.get_preset(preset_id)

    def update_preset(
        self, preset_id: int, *, name: str | None = None, system_prompt: str | None = None
    ) -> Preset:
        current = self.get_preset(preset_id)
        if current.builtin:
            raise StorageError(
                translate(
                    "Storage",
                    "The built-in preset “{name}” cannot be changed; duplicate it instead.",
                ).format(name=current.name)
            )
        new_name = current.name if name is None else _preset_name(name)
        new_prompt = current.system_prompt if system_prompt is None else system_prompt
        with self._write() as conn:
            try:
                conn.execute(
                    "UPDATE presets SET name = ?, system_prompt = ? WHERE id = ?",
                    (new_name, new_prompt, preset_id),
                )
            except sqlite3.IntegrityError as exc:
                raise _duplicate_preset(new_name) from exc
        return self.get_preset(preset_id)

    def delete_preset(self, preset_id: int) -> None:
        current = self.get_preset(preset_id)
        if current.builtin:
            raise StorageError(
                translate("Storage", "The built-in preset “{name}” cannot be deleted.").format(
                    name=current.name
                )
            )
        with self._write("delete from") as conn:
            conn.execute("DELETE FROM presets WHERE id = ?", (preset_id,))

    # -- search --------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Messages containing every term of ``query`` (any text is safe to pass).

        Terms of three or more characters go through the trigram index and the hits
        are ranked by bm25; shorter ones (two Chinese characters, say) are matched as
        substrings with LIKE. With only short terms, hits come newest first.
        Streaming replies are not searched until they are finished.
        """
        terms = parse_query(query)
        if not terms:
            return []
        long_terms = [t for t in terms if len(t) >= _MIN_FTS_TERM]
        likes = [_like_pattern(t) for t in terms if len(t) < _MIN_FTS_TERM]
        like_sql = "".join(" AND m.content LIKE ? ESCAPE '\\'" for _ in likes)
        columns = "m.id, m.conversation_id, m.role, m.content, c.title"
        if long_terms:
            sql = (
                f"SELECT {columns}, bm25(messages_fts) AS score FROM messages_fts"
                " JOIN messages m ON m.id = messages_fts.rowid"
                " JOIN conversations c ON c.id = m.conversation_id"
                f" WHERE messages_fts MATCH ?{like_sql} ORDER BY score, m.id DESC LIMIT ?"
            )
            args: list[Any] = [" ".join(_fts_phrase(t) for t in long_terms), *likes, limit]
        else:
            sql = (
                f"SELECT {columns}, 0.0 AS score FROM messages m"
                " JOIN conversations c ON c.id = m.conversation_id"
                f" WHERE m.status <> 'streaming'{like_sql} ORDER BY m.id DESC LIMIT ?"
            )
            args = [*likes, limit]
        try:
            with self._read() as conn:
                rows = conn.execute(sql, args).fetchall()
        except StorageError as exc:
            cause = exc.__cause__
            if not (long_terms and isinstance(cause, sqlite3.Error)):
                raise
            if not health.is_corruption(cause):
                raise
            # The index went bad while Hearth ran: it is rebuilt from the messages.
            log.error("search failed on a damaged index (%s); rebuilding it", cause)
            self.rebuild_search_index()
            with self._read() as conn:
                rows = conn.execute(sql, args).fetchall()
        return [
            SearchHit(
                conversation_id=row["conversation_id"],
                message_id=row["id"],
                conversation_title=row["title"],
                role=row["role"],
                snippet=make_snippet(row["content"], terms),
                rank=float(row["score"]),
            )
            for row in rows
        ]

    def rebuild_search_index(self) -> None:
        """Rebuild the full-text index from the messages, even when its own pages are
        damaged (repair; normally never needed)."""
        with self._lock:
            conn = self._connection()
            try:
                health.rebuild_search_index(conn)
            except sqlite3.Error as exc:
                raise _storage_error(exc, "repair the search index of") from exc

    # -- helpers -------------------------------------------------------------------------

    def _message(self, row: sqlite3.Row, images: tuple[str, ...] = ()) -> StoredMessage:
        content: str = row["content"]
        reply = self._replies.get(row["id"])
        if reply is not None and reply.parts:
            content += "".join(reply.parts)
        return StoredMessage(
            id=row["id"],
            conversation_id=row["conversation_id"],
            role=row["role"],
            content=content,
            created_at=row["created_at"],
            status=row["status"],
            model=row["model"],
            stats=_loads(row["stats_json"]),
            params=_loads(row["params_json"]),
            reasoning=row["reasoning"],
            tools=_loads_list(row["tools"]),
            sources=_loads_list(row["sources"]),
            images=images,
        )

    def _touch(self, conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
        cur = conn.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
        )
        if cur.rowcount == 0:
            raise _missing_conversation(conversation_id)

    @staticmethod
    def _conversation_of(conn: sqlite3.Connection, message_id: int) -> int:
        row = conn.execute(
            "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise _missing_message(message_id)
        return int(row[0])

    def _drop_reply(self, message_id: int) -> None:
        """Stop buffering a reply, discarding its unwritten deltas."""
        with self._lock:
            reply = self._replies.pop(message_id, None)
            if reply is not None:
                self._pending_chars -= reply.chars
            if self._pending_chars == 0:
                self._pending_since = None

    def _forget_missing_replies(self) -> None:
        """Drop buffers of replies whose rows were just deleted (usually none stream)."""
        with self._read() as conn:
            for mid in list(self._replies):
                if conn.execute("SELECT 1 FROM messages WHERE id = ?", (mid,)).fetchone() is None:
                    self._drop_reply(mid)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        pinned=bool(row["pinned"]),
        model=row["model"],
        system_prompt=row["system_prompt"],
        settings=_loads(row["settings_json"]) or {},
        uid=row["uid"] or "",
    )


def _prepared(row: sqlite3.Row) -> PreparedImage:
    return PreparedImage(
        data=bytes(row["data"]),
        mime=str(row["mime"]),
        width=int(row["width"]),
        height=int(row["height"]),
        sha256=str(row["sha256"]),
        name=row["name"],
    )


def _image_list(conn: sqlite3.Connection, message_id: int) -> tuple[str, ...]:
    rows = conn.execute(
        "SELECT sha256 FROM message_images WHERE message_id = ? ORDER BY position",
        (message_id,),
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def _add_images(
    conn: sqlite3.Connection, message_id: int, images: Sequence[PreparedImage], now: float
) -> None:
    """Store each image once (by hash) and list them, in order, for the message."""
    for image in images:
        conn.execute(
            "INSERT OR IGNORE INTO images (sha256, mime, width, height, name, data, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (image.sha256, image.mime, image.width, image.height, image.name, image.data, now),
        )
    conn.executemany(
        "INSERT INTO message_images (message_id, position, sha256) VALUES (?, ?, ?)",
        [(message_id, n, image.sha256) for n, image in enumerate(images)],
    )


def _link_images(
    conn: sqlite3.Connection,
    message_id: int,
    hashes: Sequence[str],
    images: Mapping[str, PreparedImage],
    now: float,
) -> None:
    """List stored or given images (by hash) for a restored message."""
    chosen: list[PreparedImage] = []
    for sha256 in hashes:
        image = images.get(sha256)
        if image is None:
            known = conn.execute("SELECT 1 FROM images WHERE sha256 = ?", (sha256,)).fetchone()
            if known is None:
                raise StorageError(
                    translate(
                        "Storage",
                        "Image {value} of a restored message is missing; nothing was added.",
                    ).format(value=sha256[:12])
                )
            image = PreparedImage(b"", "image/png", 1, 1, sha256)  # stored: only linked
        chosen.append(image)
    _add_images(conn, message_id, chosen, now)


def _preset(row: sqlite3.Row) -> Preset:
    return Preset(
        id=row["id"],
        name=row["name"],
        system_prompt=row["system_prompt"],
        builtin=bool(row["builtin"]),
    )


def _preset_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise StorageError(translate("Storage", "A preset needs a name."))
    return name


def _duplicate_preset(name: str) -> StorageError:
    return StorageError(
        translate("Storage", "A preset named “{name}” already exists; choose another name.").format(
            name=name
        )
    )


def _missing_conversation(conversation_id: int) -> StorageError:
    return StorageError(
        translate(
            "Storage", "Conversation {conversation_id} does not exist (it may have been deleted)."
        ).format(conversation_id=conversation_id)
    )


def _missing_message(message_id: int) -> StorageError:
    return StorageError(
        translate(
            "Storage", "Message {message_id} does not exist (it may have been deleted)."
        ).format(message_id=message_id)
    )


def _stats_json(stats: GenerationStats | Mapping[str, Any] | None) -> str | None:
    return _dumps(stats.to_dict() if isinstance(stats, GenerationStats) else stats)


def _params_json(params: GenerationParams | Mapping[str, Any] | None) -> str | None:
    return _dumps(params_to_dict(params) if isinstance(params, GenerationParams) else params)
