"""Conversation storage: SQLite (WAL) with schema migrations and FTS5 search. No Qt."""

from app.storage.conversations import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Conversation,
    ConversationStore,
    FinalStatus,
    FlushPolicy,
    Preset,
    Role,
    SearchHit,
    Status,
    StoredMessage,
    default_database_path,
    derive_title,
    params_from_dict,
    params_to_dict,
)
from app.storage.notice import StorageNotice
from app.storage.schema import LATEST_VERSION, DatabaseCorruptError, DatabaseTooNewError

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "LATEST_VERSION",
    "Conversation",
    "ConversationStore",
    "DatabaseCorruptError",
    "DatabaseTooNewError",
    "FinalStatus",
    "FlushPolicy",
    "Preset",
    "Role",
    "SearchHit",
    "Status",
    "StorageNotice",
    "StoredMessage",
    "default_database_path",
    "derive_title",
    "params_from_dict",
    "params_to_dict",
]
